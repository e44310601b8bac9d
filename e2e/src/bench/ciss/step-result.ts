/** The model a step ends with, read from the coordinator's rounds. */
import type { RoundLike } from './table';

/**
 * The result version of the last completed round of `kind` in `step`: the round with the highest
 * index, whatever the order of `rounds` (GET /api/rounds lists them newest first; taking the array's
 * last entry picked round 0's half-trained model as the shared step 0).
 */
export function lastRoundResult(rounds: readonly Pick<RoundLike, 'step' | 'kind' | 'index' | 'status' | 'resultVersionId'>[], step: number, kind: string): string | undefined {
  let best: (typeof rounds)[number] | undefined;
  for (const r of rounds) {
    if (r.step !== step || r.kind !== kind || r.status !== 'completed' || !r.resultVersionId) continue;
    if (!best || r.index > best.index) best = r;
  }
  return best?.resultVersionId ?? undefined;
}
