/**
 * The audit entries of the opener's decisions to open no further round of a kind in a step: the
 * privacy budget refused it (round.refused), or its rounds failed too often (round.given-up). Written
 * by the privacy ledger and the round opener, read by the replay report; one spelling for all three.
 */
export const SKIPPED_ROUND_ACTIONS = { refused: 'round.refused', givenUp: 'round.given-up' } as const;

/** The entry's target: `step <index> <kind>`. */
export const skippedRoundTarget = (stepIndex: number, kind: string) => `step ${stepIndex} ${kind}`;

/** The step of a target written by skippedRoundTarget for `kind`; null for any other target. */
export function stepOfSkippedRound(target: string, kind: string): number | null {
  const m = /^step (\d+) (\S+)$/.exec(target);
  return m && m[2] === kind ? Number(m[1]) : null;
}
