import type { NamedTensors } from '@fedciss/ml';
import { AggregationStateError, TensorNameMismatchError } from '../errors';
import { adaptiveServerStep, assertSameShape, type ServerOptimizerHyper } from '../math';
import type {
  AggregationStrategy,
  ResolvedAggregationOptions,
  RoundAggregation,
  ServerOptimizerState,
  ServerState,
} from '../types';
import { streamingMeanRound } from './fedavg';

type Rule = 'adam' | 'yogi';
const STRATEGY_OF: Record<Rule, 'fedadam' | 'fedyogi'> = { adam: 'fedadam', yogi: 'fedyogi' };

/** Fresh moments: m = 0, v = τ² (Reddi et al. start v at or above τ²). */
export function initialServerState(strategy: 'fedadam' | 'fedyogi', global: NamedTensors, tau: number): ServerOptimizerState {
  const m: NamedTensors = new Map();
  const v: NamedTensors = new Map();
  for (const [name, t] of global) {
    m.set(name, { shape: [...t.shape], data: new Float32Array(t.data.length) });
    v.set(name, { shape: [...t.shape], data: new Float32Array(t.data.length).fill(tau * tau) });
  }
  return { strategy, step: 0, m, v };
}

function checkState(state: ServerOptimizerState, expected: 'fedadam' | 'fedyogi', global: NamedTensors): void {
  if (state.strategy !== expected) {
    throw new AggregationStateError(`server state belongs to ${state.strategy}, not ${expected}`);
  }
  for (const moments of [state.m, state.v]) {
    for (const [name, g] of global) {
      const t = moments.get(name);
      if (!t) throw new TensorNameMismatchError(name, 'missing');
      assertSameShape(name, g.shape, t.shape);
    }
    for (const name of moments.keys()) if (!global.has(name)) throw new TensorNameMismatchError(name, 'unexpected');
  }
}

/**
 * The server-optimizer base shared by FedAdam and FedYogi: the pseudo-gradient Δ is the
 * sample-weighted mean of the updates' deltas, taken as (mean of the updates' weights) − global,
 * streamed in one model of memory on FedAvg's fast path; then one adaptive step moves the global
 * model along it. (Sites' weights are Float32, so their deltas carry the same rounding as the
 * difference taken here.) The moments come in as `state` and leave, new, in the
 * result: nothing is kept in the strategy between rounds.
 */
function serverOptimizerRound(
  rule: Rule,
  global: NamedTensors,
  state: ServerState,
  options: ResolvedAggregationOptions,
): RoundAggregation {
  const hp: ServerOptimizerHyper = { eta: options.eta!, beta1: options.beta1!, beta2: options.beta2!, tau: options.tau! };
  const strategy = STRATEGY_OF[rule];
  const prev = state ?? initialServerState(strategy, global, hp.tau);
  checkState(prev, strategy, global);
  return streamingMeanRound(global, options, (mean) => {
    const weights: NamedTensors = new Map();
    const m: NamedTensors = new Map();
    const v: NamedTensors = new Map();
    for (const [name, g] of global) {
      // The mean is ours: the new weights overwrite it in place (one model less to allocate).
      const x = mean.get(name)!.data;
      const n = g.data.length;
      const mOut = new Float32Array(n);
      const vOut = new Float32Array(n);
      adaptiveServerStep(rule, hp, g.data, x, prev.m.get(name)!.data, prev.v.get(name)!.data, x, mOut, vOut);
      weights.set(name, { shape: [...g.shape], data: x });
      m.set(name, { shape: [...g.shape], data: mOut });
      v.set(name, { shape: [...g.shape], data: vOut });
    }
    return { weights, state: { strategy, step: prev.step + 1, m, v } };
  });
}

function createServerOptimizer(rule: Rule, options: ResolvedAggregationOptions): AggregationStrategy {
  return {
    name: STRATEGY_OF[rule],
    options,
    siteConfig: () => ({ proximalMu: 0 }),
    begin: (global, state) => serverOptimizerRound(rule, global, state, options),
  };
}

/** FedAdam (Reddi et al. 2021). */
export const createFedAdam = (options: ResolvedAggregationOptions) => createServerOptimizer('adam', options);
/** FedYogi (Reddi et al. 2021): Adam with Yogi's additive second-moment update. */
export const createFedYogi = (options: ResolvedAggregationOptions) => createServerOptimizer('yogi', options);
