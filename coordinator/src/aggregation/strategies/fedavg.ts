import type { NamedTensors } from '@fedciss/ml';
import { StreamingWeightedMean } from '../streaming-mean';
import type { AggregationStrategy, ResolvedAggregationOptions, RoundAggregation, ServerState } from '../types';

/** The new global weights and server state a round makes of its updates' sample-weighted mean. */
type MeanStep = (mean: NamedTensors) => { weights: NamedTensors; state: ServerState };

/** A round whose updates stream into their sample-weighted mean (one model of memory), which
 * `step` turns into the new global model: FedAvg takes the mean as it is, the server optimizers
 * (fedopt.ts) move the global model along it. */
export function streamingMeanRound(global: NamedTensors, options: ResolvedAggregationOptions, step: MeanStep): RoundAggregation {
  const acc = new StreamingWeightedMean(global, 'weights', options.clipNorm);
  return {
    memory: 'streaming',
    get count() {
      return acc.count;
    },
    add: (update) => acc.add(update),
    finish: () => ({ ...step(acc.result()), contributors: acc.count, totalSamples: acc.totalWeight, clipped: acc.clipped }),
  };
}

/** Round aggregation of FedAvg: the sample-weighted mean of the updates' weights, streamed. */
export const fedAvgRound = (global: NamedTensors, options: ResolvedAggregationOptions): RoundAggregation =>
  streamingMeanRound(global, options, (mean) => ({ weights: mean, state: null }));

/** FedAvg (McMahan et al. 2017): new global = Σ nᵢ·wᵢ / Σ nᵢ. */
export function createFedAvg(options: ResolvedAggregationOptions): AggregationStrategy {
  return {
    name: 'fedavg',
    options,
    siteConfig: () => ({ proximalMu: 0 }),
    begin: (global) => fedAvgRound(global, options),
  };
}
