import type { NamedTensor, NamedTensors } from '@fedciss/ml';
import { AggregationStateError } from '../errors';
import { clipFactor, coordinateTrimmedMean, medianTrim, trimCount, type AffineTerm } from '../math';
import { deltaNormOf, forEachMatched } from '../tensor-walk';
import type { AggregationStrategy, ClientUpdate, ResolvedAggregationOptions, RoundAggregation } from '../types';

/**
 * Coordinate-wise median and trimmed mean (Yin et al. 2018), unweighted as in Flower: each
 * coordinate of the result is the median / trimmed mean of that coordinate over the updates.
 *
 * Memory: these statistics need every update at once, so a round keeps a reference to each
 * accepted update's tensors until finish() — N models for N sites, plus the result. finish() walks
 * tensor by tensor (one scratch of N Float64 values), so nothing beyond the updates and the result
 * is allocated; the service may feed updates whose tensors are views of the stored files. Because
 * references are kept, a source must not reuse one buffer for successive tensors or updates (a
 * streaming generator that does so is fine for FedAvg, not here).
 */
function robustRound(
  which: 'median' | 'trimmed-mean',
  global: NamedTensors,
  options: ResolvedAggregationOptions,
): RoundAggregation {
  // Per tensor, one affine term per update: value = a·x + b·g, in weight space (see runningMeanStep).
  const terms = new Map<string, AffineTerm[]>();
  for (const name of global.keys()) terms.set(name, []);
  let count = 0;
  let samples = 0;
  let clipped = 0;
  let done = false;
  return {
    memory: 'buffered',
    get count() {
      return count;
    },
    add(update: ClientUpdate) {
      if (done) throw new AggregationStateError('add() after finish(): this round is already aggregated');
      if (!(update.sampleCount > 0)) {
        throw new AggregationStateError(`update of site '${update.siteId}': sample count ${update.sampleCount} is not positive`);
      }
      const s = options.clipNorm === null ? 1 : clipFactor(deltaNormOf(global, update), options.clipNorm);
      const b = update.kind === 'weights' ? 1 - s : 1;
      // Collect first, commit after: a bad update leaves the round as it was.
      const staged: Array<[string, NamedTensor]> = [];
      forEachMatched(global, update.tensors, (name, t) => staged.push([name, t]));
      for (const [name, t] of staged) terms.get(name)!.push({ x: t.data, a: s, b });
      count++;
      samples += update.sampleCount;
      if (s < 1) clipped++;
      return { weight: 1, clipFactor: s };
    },
    finish() {
      if (count === 0) throw new AggregationStateError('no update to aggregate');
      done = true;
      const trim = which === 'median' ? medianTrim(count) : trimCount(count, options.trimFraction!);
      const weights: NamedTensors = new Map();
      for (const [name, g] of global) {
        const out = new Float32Array(g.data.length);
        coordinateTrimmedMean(terms.get(name)!, trim, out, g.data);
        weights.set(name, { shape: [...g.shape], data: out });
        terms.delete(name); // drop references as soon as a tensor is done
      }
      return { weights, state: null, contributors: count, totalSamples: samples, clipped };
    },
  };
}

export function createMedian(options: ResolvedAggregationOptions): AggregationStrategy {
  return { name: 'median', options, siteConfig: () => ({ proximalMu: 0 }), begin: (global) => robustRound('median', global, options) };
}

export function createTrimmedMean(options: ResolvedAggregationOptions): AggregationStrategy {
  return {
    name: 'trimmed-mean',
    options,
    siteConfig: () => ({ proximalMu: 0 }),
    begin: (global) => robustRound('trimmed-mean', global, options),
  };
}
