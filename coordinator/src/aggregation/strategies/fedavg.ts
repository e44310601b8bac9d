import type { NamedTensors } from '@fedciss/ml';
import { StreamingWeightedMean } from '../streaming-mean';
import type { AggregationStrategy, ResolvedAggregationOptions, RoundAggregation } from '../types';

/** Round aggregation of FedAvg: the sample-weighted mean of the updates' weights, streamed. */
export function fedAvgRound(global: NamedTensors, options: ResolvedAggregationOptions): RoundAggregation {
  const acc = new StreamingWeightedMean(global, 'weights', options.clipNorm);
  return {
    memory: 'streaming',
    get count() {
      return acc.count;
    },
    add: (update) => acc.add(update),
    finish: () => ({
      weights: acc.result(),
      state: null,
      contributors: acc.count,
      totalSamples: acc.totalWeight,
      clipped: acc.clipped,
    }),
  };
}

/** FedAvg (McMahan et al. 2017): new global = Σ nᵢ·wᵢ / Σ nᵢ. */
export function createFedAvg(options: ResolvedAggregationOptions): AggregationStrategy {
  return {
    name: 'fedavg',
    options,
    siteConfig: () => ({ proximalMu: 0 }),
    begin: (global) => fedAvgRound(global, options),
  };
}
