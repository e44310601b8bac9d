// The secure-aggregation part of a round's state, as types: round-state.ts holds one, secagg-state.ts
// moves it on. Kept in a file of their own so that those two modules do not import each other.

export type SecAggStage = 'advertise' | 'share' | 'input' | 'unmask';
export type SecAggEvent = 'advertise' | 'share' | 'reveal';

export interface SecAggRoundState {
  readonly stage: SecAggStage;
  readonly threshold: number;
  /** SecAgg+ neighbours per site (≥ sites − 1: every pair). */
  readonly neighbours: number;
  /** Sites that sent their public keys (the roster of the share stage), in arrival order. */
  readonly advertised: readonly string[];
  /** Sites whose share bundles were stored (U2): the only ones whose masked input can count. */
  readonly shared: readonly string[];
  /** Sites that revealed their shares for the unmasking. */
  readonly revealed: readonly string[];
}
