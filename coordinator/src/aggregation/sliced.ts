/**
 * Aggregation by slices: the same statistics as the in-memory strategies (FedAvg's sample-weighted
 * mean, coordinate-wise median and trimmed mean), computed over element ranges of every tensor, so
 * memory is bounded by a budget whatever the number of sites and the model's size. The updates stay
 * where they are stored (files): for each slice, the same range of every update is read into a
 * scratch buffer, the kernel of math.ts runs on it, and the result slice is handed to a sink (a
 * file, or memory). Median and trimmed mean need every update's value of a coordinate at once:
 * in memory that is N models (14x the model at 12 sites, bench:aggregate); here it is
 * (N + 2) x slice values, the slice sized to the budget.
 *
 * The arithmetic per coordinate is the in-memory strategies' own (runningMeanStep, in the order
 * the updates are given; coordinateTrimmedMean), so results are identical to theirs.
 */
import { elementCount } from '@fedciss/ml';
import { AggregationStateError, TensorNameMismatchError } from './errors';
import { clipFactor, coordinateTrimmedMean, medianTrim, runningMeanStep, trimCount, type AffineTerm } from './math';
import type { ResolvedAggregationOptions, UpdateKind } from './types';

/** Tensors readable by element ranges: a stored model or update. */
export interface SlicedTensors {
  /** Tensor names and shapes. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Fills `into` with the values of tensor `name` from element `from` on. */
  read(name: string, from: number, into: Float32Array): Promise<void>;
}

/** One accepted update, readable by slices. */
export interface SlicedUpdate {
  readonly siteId: string;
  readonly sampleCount: number;
  readonly kind: UpdateKind;
  /** L2 norm of its delta from the global model (validateUpdate computes it): needed to clip. */
  readonly deltaNorm?: number;
  readonly tensors: SlicedTensors;
}

/** Where the result goes, slice by slice, tensor by tensor in the global model's order. */
export interface SliceSink {
  write(name: string, from: number, values: Float32Array): Promise<void>;
}

export type SlicedStrategy = 'fedavg' | 'fedprox' | 'median' | 'trimmed-mean';
export const SLICED_STRATEGIES: readonly SlicedStrategy[] = ['fedavg', 'fedprox', 'median', 'trimmed-mean'];

export interface SlicedResult {
  readonly contributors: number;
  readonly totalSamples: number;
  readonly clipped: number;
  /** Values per slice and the scratch bytes that took (the memory bound, besides the sink's). */
  readonly sliceValues: number;
  readonly scratchBytes: number;
}

/** Values per slice so that N update slices, the global slice and the result slice fit `budgetBytes`. */
export function sliceValuesFor(updates: number, budgetBytes: number, largestTensor: number): number {
  const per = Math.floor(budgetBytes / ((updates + 2) * Float32Array.BYTES_PER_ELEMENT));
  if (per < 1) throw new AggregationStateError(`a budget of ${budgetBytes} bytes cannot hold one value of ${updates} updates`);
  return Math.max(1, Math.min(per, largestTensor));
}

function checkShapes(global: SlicedTensors, u: SlicedUpdate): void {
  for (const [name, shape] of global.shapes) {
    const theirs = u.tensors.shapes.get(name);
    if (!theirs) throw new TensorNameMismatchError(name, 'missing');
    if (theirs.length !== shape.length || theirs.some((d, i) => d !== shape[i])) {
      throw new AggregationStateError(`update of site '${u.siteId}': tensor '${name}' has shape [${theirs.join(', ')}], the global model [${shape.join(', ')}]`);
    }
  }
  for (const name of u.tensors.shapes.keys()) if (!global.shapes.has(name)) throw new TensorNameMismatchError(name, 'unexpected');
}

/**
 * Aggregates `updates` on `global` by slices of at most `budgetBytes` of scratch, writing the new
 * global weights to `sink`. Every update is read once per slice; nothing is mutated.
 */
export async function aggregateBySlices(
  options: ResolvedAggregationOptions,
  global: SlicedTensors,
  updates: readonly SlicedUpdate[],
  sink: SliceSink,
  budgetBytes: number,
): Promise<SlicedResult> {
  const strategy = options.strategy;
  if (!(SLICED_STRATEGIES as readonly string[]).includes(strategy)) throw new AggregationStateError(`${strategy} keeps server state: it does not aggregate by slices`);
  if (updates.length === 0) throw new AggregationStateError('no update to aggregate');
  const robust = strategy === 'median' || strategy === 'trimmed-mean';
  // Per update: the affine coefficients of its value a·x + b·g in weight space (see runningMeanStep).
  const coefficients = updates.map((u) => {
    if (!(u.sampleCount > 0) || !Number.isFinite(u.sampleCount)) throw new AggregationStateError(`update of site '${u.siteId}': sample count ${u.sampleCount} is not a positive number`);
    checkShapes(global, u);
    let s = 1;
    if (options.clipNorm !== null) {
      if (u.deltaNorm === undefined) throw new AggregationStateError(`update of site '${u.siteId}': clipping needs its deltaNorm (validateUpdate computes it)`);
      s = clipFactor(u.deltaNorm, options.clipNorm);
    }
    return { a: s, b: u.kind === 'weights' ? 1 - s : 1, clipped: s < 1 };
  });
  const largest = Math.max(1, ...[...global.shapes.values()].map((s) => elementCount(s)));
  const per = sliceValuesFor(updates.length, budgetBytes, largest);
  const xs = updates.map(() => new Float32Array(per));
  const g = new Float32Array(per);
  const out = new Float32Array(per);
  const trim = strategy === 'median' ? medianTrim(updates.length) : trimCount(updates.length, options.trimFraction ?? 0);
  for (const [name, shape] of global.shapes) {
    const count = elementCount(shape);
    for (let from = 0; from < count; from += per) {
      const n = Math.min(per, count - from);
      const gs = g.subarray(0, n);
      await global.read(name, from, gs);
      await Promise.all(updates.map((u, k) => u.tensors.read(name, from, xs[k].subarray(0, n))));
      const o = out.subarray(0, n);
      if (robust) {
        const terms: AffineTerm[] = coefficients.map((c, k) => ({ x: xs[k].subarray(0, n), a: c.a, b: c.b }));
        coordinateTrimmedMean(terms, trim, o, gs);
      } else {
        o.fill(0);
        let weight = 0;
        updates.forEach((u, k) => {
          weight += u.sampleCount;
          runningMeanStep(o, xs[k].subarray(0, n), u.sampleCount / weight, coefficients[k].a, coefficients[k].b, gs);
        });
      }
      await sink.write(name, from, o);
    }
  }
  return {
    contributors: updates.length,
    totalSamples: updates.reduce((s, u) => s + u.sampleCount, 0),
    clipped: coefficients.filter((c) => c.clipped).length,
    sliceValues: per,
    scratchBytes: (updates.length + 2) * per * Float32Array.BYTES_PER_ELEMENT,
  };
}

/** In-memory tensors as SlicedTensors (tests, and models small enough to hold). */
export function slicedFromMemory(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): SlicedTensors {
  return {
    shapes: new Map([...tensors].map(([name, t]) => [name, t.shape])),
    async read(name, from, into) {
      into.set(tensors.get(name)!.data.subarray(from, from + into.length));
    },
  };
}
