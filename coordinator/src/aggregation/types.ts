import type { NamedTensor, NamedTensors } from '@fedciss/ml';

/** What a site uploaded: its full weights after local training, or the delta from the global model it started from. */
export type UpdateKind = 'weights' | 'delta';

/**
 * The tensors of an update as (name, tensor) pairs. A `NamedTensors` map is one; so is a generator
 * that decodes or produces one tensor at a time, which lets a streaming strategy aggregate an
 * update without the whole of it in memory. A one-shot iterator can be read once only: clipping
 * then needs `deltaNorm` given (the validator computes it).
 */
export type TensorSource = Iterable<readonly [string, NamedTensor]>;

/** One site's contribution to a round. Never mutated by aggregation. */
export interface ClientUpdate {
  readonly siteId: string;
  /** Training samples behind the update: its FedAvg weight. */
  readonly sampleCount: number;
  readonly kind: UpdateKind;
  readonly tensors: TensorSource;
  /** L2 norm of the update's delta from the global model, when already known (see `validateUpdate`). */
  readonly deltaNorm?: number;
}

export const STRATEGY_NAMES = ['fedavg', 'fedprox', 'fedadam', 'fedyogi', 'median', 'trimmed-mean'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/**
 * The one options type of every strategy (Flower copies ten constructor parameters into each
 * subclass; here a strategy reads the keys it uses, and the registry rejects the ones it does not).
 */
export interface AggregationOptions {
  readonly strategy: StrategyName;
  /** Every strategy: scale each update's delta down to this L2 norm before aggregating (null: no clipping). */
  readonly clipNorm?: number | null;
  /** fedprox: weight of the proximal term μ/2·‖w − w_global‖² in the sites' local loss; sent to the sites. */
  readonly proximalMu?: number;
  /** fedadam, fedyogi: server learning rate η. */
  readonly eta?: number;
  /** fedadam, fedyogi: first-moment decay β1. */
  readonly beta1?: number;
  /** fedadam, fedyogi: second-moment decay β2. */
  readonly beta2?: number;
  /** fedadam, fedyogi: adaptivity τ (added to √v; v starts at τ²). */
  readonly tau?: number;
  /** trimmed-mean: fraction of the updates dropped at each end, per coordinate, in [0, 0.5). */
  readonly trimFraction?: number;
}

/** Options with every key of the chosen strategy filled in (defaults applied, ranges checked). */
export interface ResolvedAggregationOptions {
  readonly strategy: StrategyName;
  readonly clipNorm: number | null;
  readonly proximalMu?: number;
  readonly eta?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly tau?: number;
  readonly trimFraction?: number;
}

/**
 * Per-run server state of the adaptive server optimizers: the moments m and v, one tensor per
 * model tensor. A plain value: aggregation returns a new one after each round and takes it back
 * the next round; the service persists it (encodeServerState) between rounds and restarts.
 */
export interface ServerOptimizerState {
  readonly strategy: 'fedadam' | 'fedyogi';
  /** Rounds applied so far. */
  readonly step: number;
  readonly m: NamedTensors;
  readonly v: NamedTensors;
}

export type ServerState = ServerOptimizerState | null;

export interface AddOutcome {
  /** The update's weight in the aggregate (its sample count; 1 for the unweighted robust statistics). */
  readonly weight: number;
  /** Factor applied to its delta by norm clipping (1: not clipped). */
  readonly clipFactor: number;
}

export interface AggregationResult {
  /** The new global weights (fresh arrays; the global model passed to begin() is untouched). */
  readonly weights: NamedTensors;
  /** State to pass to the next round's begin() (null for stateless strategies). */
  readonly state: ServerState;
  readonly contributors: number;
  readonly totalSamples: number;
  /** Updates whose delta was scaled down by clipping. */
  readonly clipped: number;
}

/** One round's aggregation in progress: add accepted updates one at a time, then finish once. */
export interface RoundAggregation {
  /** 'streaming': memory of one model whatever the number of updates; 'buffered': keeps a reference to every update until finish(). */
  readonly memory: 'streaming' | 'buffered';
  readonly count: number;
  add(update: ClientUpdate): AddOutcome;
  finish(): AggregationResult;
}

/** The part of a site's local training a strategy decides (a typed field per value, so a renamed key fails to compile). */
export interface SiteTrainingConfig {
  /** FedProx's μ: weight of μ/2·‖w − w_global‖² in the local loss (0: off). Task.hyper_parameters.fedprox_mu. */
  readonly proximalMu: number;
}

export interface AggregationStrategy {
  readonly name: StrategyName;
  readonly options: ResolvedAggregationOptions;
  /** What the strategy asks of the sites' local training; travels in each round's task. */
  siteConfig(): SiteTrainingConfig;
  /** Starts a round on the current global model with the state the previous round returned (null the first time). */
  begin(global: NamedTensors, state: ServerState): RoundAggregation;
}
