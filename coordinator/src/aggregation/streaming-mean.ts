import type { NamedTensors } from '@fedciss/ml';
import { AggregationStateError } from './errors';
import { clipFactor, runningMeanStep } from './math';
import { allocateMean } from './simd-kernel';
import { deltaNormOf, forEachMatched } from './tensor-walk';
import type { AddOutcome, ClientUpdate } from './types';

/**
 * Weighted mean of updates computed as a stream: one update at a time, weighted by its sample
 * count, in memory of one model (the mean) whatever the number of sites. Works on full weights and
 * on deltas, mixed freely; `space` chooses whether the mean is of weights (FedAvg's result) or of
 * deltas. Full-weight updates into a mean of weights, unclipped, take the WebAssembly SIMD path;
 * every other combination the JavaScript loop. Reads the global model, never writes it.
 *
 * Validate an update (validateUpdate) before adding it: a name or shape error found half-way
 * through an update leaves the mean partly updated, so the accumulator then refuses further use.
 */
export class StreamingWeightedMean {
  private readonly mean: NamedTensors = new Map();
  private readonly index = new Map<string, number>();
  private readonly fastStep: ((k: number, x: Float32Array, f: number) => void) | null;
  private weightSum = 0;
  private added = 0;
  private clippedCount = 0;
  private closed = false;
  private broken: Error | null = null;

  constructor(
    private readonly global: NamedTensors,
    readonly space: 'weights' | 'delta',
    private readonly clipNorm: number | null = null,
    /** Use the WebAssembly SIMD kernel where it is available (tests turn it off to compare). */
    simd = true,
  ) {
    const storage = allocateMean([...global.values()].map((t) => t.data.length), simd);
    let k = 0;
    for (const [name, t] of global) {
      this.index.set(name, k);
      this.mean.set(name, { shape: [...t.shape], data: storage.arrays[k++] });
    }
    this.fastStep = storage.step;
  }

  get count(): number {
    return this.added;
  }

  get totalWeight(): number {
    return this.weightSum;
  }

  get clipped(): number {
    return this.clippedCount;
  }

  add(update: ClientUpdate): AddOutcome {
    if (this.closed) throw new AggregationStateError('add() after result(): this round is already aggregated');
    if (this.broken) throw new AggregationStateError(`accumulator unusable after an earlier error: ${this.broken.message}`);
    const w = update.sampleCount;
    if (!(w > 0) || !Number.isFinite(w)) {
      throw new AggregationStateError(`update of site '${update.siteId}': sample count ${w} is not a positive number`);
    }
    const s = this.clipNorm === null ? 1 : clipFactor(deltaNormOf(this.global, update), this.clipNorm);
    // Coefficients of a·x + b·g (see runningMeanStep).
    const fromWeights = update.kind === 'weights';
    const a = s;
    const b = this.space === 'weights' ? (fromWeights ? 1 - s : 1) : fromWeights ? -s : 0;
    const f = w / (this.weightSum + w);
    try {
      const fast = a === 1 && b === 0 ? this.fastStep : null;
      forEachMatched(this.global, update.tensors, (name, t, g) => {
        if (fast) fast(this.index.get(name)!, t.data, f);
        else runningMeanStep(this.mean.get(name)!.data, t.data, f, a, b, g.data);
      });
    } catch (e) {
      this.broken = e as Error;
      throw e;
    }
    this.weightSum += w;
    this.added++;
    if (s < 1) this.clippedCount++;
    return { weight: w, clipFactor: s };
  }

  /** The mean (its arrays, handed over: the accumulator is closed afterwards). */
  result(): NamedTensors {
    if (this.broken) throw new AggregationStateError(`accumulator unusable after an earlier error: ${this.broken.message}`);
    if (this.added === 0) throw new AggregationStateError('no update to aggregate');
    this.closed = true;
    return this.mean;
  }
}
