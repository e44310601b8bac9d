import type { AggregationStrategy, ResolvedAggregationOptions } from '../types';
import { fedAvgRound } from './fedavg';

/**
 * FedProx (Li et al. 2020) is FedAvg on the server; the difference is on the sites, whose local
 * loss gains μ/2·‖w − w_global‖². μ travels to the sites in each round's task (hyper_parameters.fedprox_mu).
 */
export function createFedProx(options: ResolvedAggregationOptions): AggregationStrategy {
  const mu = options.proximalMu ?? 0;
  return {
    name: 'fedprox',
    options,
    siteConfig: () => ({ proximalMu: mu }),
    begin: (global) => fedAvgRound(global, options),
  };
}
