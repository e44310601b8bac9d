/**
 * The pure numeric kernels of aggregation, in the manner of Flower's `aggregate.py`: no strategy,
 * no state, no allocation beyond what a function returns, inputs never mutated (only the `out` /
 * accumulator arguments documented as such are written). Loops run on Float32Array directly;
 * sums that span a whole tensor (norms) and the per-coordinate robust statistics are carried in
 * Float64.
 */
import { TensorShapeMismatchError } from './errors';

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Throws TensorShapeMismatchError unless `actual` equals `expected`. */
export function assertSameShape(tensor: string, expected: readonly number[], actual: readonly number[]): void {
  if (!sameShape(expected, actual)) throw new TensorShapeMismatchError(tensor, expected, actual);
}

/** Σ x², accumulated in Float64 onto `s` (a running sum over slices adds in the same order as one pass). */
export function sumOfSquares(x: Float32Array, s = 0): number {
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** Σ (x - g)², the squared L2 norm of a full-weight update's delta from the global weights (onto `s`, as sumOfSquares). */
export function sumOfSquaredDifferences(x: Float32Array, g: Float32Array, s = 0): number {
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - g[i];
    s += d * d;
  }
  return s;
}

/** Index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(x: Float32Array): number {
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    // v - v is 0 for finite v and NaN for NaN and ±Infinity: one comparison per value.
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Factor that scales a delta of norm `norm` to at most `bound` (1 when it is already within). */
export function clipFactor(norm: number, bound: number): number {
  return norm > bound && norm > 0 ? bound / norm : 1;
}

/**
 * One step of a running weighted mean, in place on `mean`:
 *   mean ← mean + f · (a·x + b·g − mean),   f = w / (W + w)
 * where W is the weight already in the mean. The value added is the affine combination a·x + b·g,
 * which covers every case of aggregation without a temporary array:
 *   x a full-weight update, mean of weights:  a = s, b = 1 − s   (s = clip factor of its delta)
 *   x a full-weight update, mean of deltas:   a = s, b = −s
 *   x a delta,              mean of weights:  a = s, b = 1
 *   x a delta,              mean of deltas:   a = s, b = 0
 * The running form keeps the mean exact at every step (no final division) and its rounding error
 * does not grow with the number of sites the way a Float32 sum would.
 */
export function runningMeanStep(
  mean: Float32Array,
  x: Float32Array,
  f: number,
  a = 1,
  b = 0,
  g?: Float32Array,
): void {
  const n = mean.length;
  if (b === 0 || g === undefined) {
    if (a === 1) {
      for (let i = 0; i < n; i++) mean[i] += f * (x[i] - mean[i]);
    } else {
      for (let i = 0; i < n; i++) mean[i] += f * (a * x[i] - mean[i]);
    }
  } else {
    for (let i = 0; i < n; i++) mean[i] += f * (a * x[i] + b * g[i] - mean[i]);
  }
}

/**
 * Trimmed mean of `values[0..n)` in place-sorted order: drops `trim` smallest and `trim` largest
 * and averages the rest. With trim = ⌊(n−1)/2⌋ this is the median (the middle value for odd n,
 * the mean of the two middle values for even n), so median and trimmed mean share this one
 * implementation. Sorts `values` (a scratch buffer owned by the caller).
 */
export function trimmedMeanOf(values: Float64Array, n: number, trim: number): number {
  // Insertion sort: n is the number of sites (small), and this runs once per coordinate.
  for (let i = 1; i < n; i++) {
    const v = values[i];
    let j = i - 1;
    while (j >= 0 && values[j] > v) {
      values[j + 1] = values[j];
      j--;
    }
    values[j + 1] = v;
  }
  let s = 0;
  for (let i = trim; i < n - trim; i++) s += values[i];
  return s / (n - 2 * trim);
}

/** One contribution to a coordinate-wise robust statistic: its value at coordinate i is a·x[i] + b·g[i]. */
export interface AffineTerm {
  readonly x: Float32Array;
  readonly a: number;
  readonly b: number;
}

/**
 * Coordinate-wise trimmed mean over the terms' values (unweighted, as in Flower), written to `out`.
 * `g` is the global tensor the affine terms refer to (may be omitted when every b is 0).
 */
export function coordinateTrimmedMean(
  terms: readonly AffineTerm[],
  trim: number,
  out: Float32Array,
  g?: Float32Array,
): void {
  const n = terms.length;
  if (n - 2 * trim < 1) throw new RangeError(`cannot trim ${trim} from each side of ${n} values`);
  const scratch = new Float64Array(n);
  const xs = terms.map((t) => t.x);
  const as = Float64Array.from(terms, (t) => t.a);
  const bs = Float64Array.from(terms, (t) => (g === undefined ? 0 : t.b));
  const gg = g ?? new Float32Array(0);
  const plain = terms.every((t) => t.a === 1 && (t.b === 0 || g === undefined));
  for (let i = 0; i < out.length; i++) {
    if (plain) {
      for (let k = 0; k < n; k++) scratch[k] = xs[k][i];
    } else {
      const gi = gg.length ? gg[i] : 0;
      for (let k = 0; k < n; k++) scratch[k] = as[k] * xs[k][i] + bs[k] * gi;
    }
    out[i] = trimmedMeanOf(scratch, n, trim);
  }
}

/** How many values a trimmed mean drops from each side: ⌊fraction·n⌋, kept so at least one remains. */
export function trimCount(n: number, fraction: number): number {
  return Math.min(Math.floor(fraction * n), Math.floor((n - 1) / 2));
}

/** The median's trim: ⌊(n−1)/2⌋ from each side. */
export function medianTrim(n: number): number {
  return Math.floor((n - 1) / 2);
}

/** Hyper-parameters of the adaptive server optimizers of Reddi et al., "Adaptive Federated Optimization" (ICLR 2021). */
export interface ServerOptimizerHyper {
  readonly eta: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly tau: number;
}

/**
 * One FedAdam / FedYogi server step for one tensor (Reddi et al., Algorithm 2). The pseudo-gradient
 * is Δ = mean − x, `mean` being the aggregated weights (the sample-weighted mean of the updates):
 *   m ← β1·m + (1−β1)·Δ
 *   v ← β2·v + (1−β2)·Δ²                     (Adam)
 *   v ← v − (1−β2)·Δ²·sign(v − Δ²)           (Yogi)
 *   x ← x + η·m / (√v + τ)
 * Writes the new weights and moments to the `out*` arrays; `outX` may be `mean` itself (each
 * coordinate is read before it is written), nothing else may alias. Per-coordinate arithmetic is
 * in Float64.
 */
export function adaptiveServerStep(
  rule: 'adam' | 'yogi',
  hp: ServerOptimizerHyper,
  x: Float32Array,
  mean: Float32Array,
  m: Float32Array,
  v: Float32Array,
  outX: Float32Array,
  outM: Float32Array,
  outV: Float32Array,
): void {
  const { eta, beta1, beta2, tau } = hp;
  const c1 = 1 - beta1;
  const c2 = 1 - beta2;
  const n = x.length;
  // One loop per rule: no branch inside the hot loop.
  if (rule === 'adam') {
    for (let i = 0; i < n; i++) {
      const xi = x[i];
      const d = mean[i] - xi;
      const mi = beta1 * m[i] + c1 * d;
      const vi = beta2 * v[i] + c2 * d * d;
      outM[i] = mi;
      outV[i] = vi;
      outX[i] = xi + (eta * mi) / (Math.sqrt(vi) + tau);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const xi = x[i];
      const d = mean[i] - xi;
      const d2 = d * d;
      const mi = beta1 * m[i] + c1 * d;
      const vPrev = v[i];
      const diff = vPrev - d2;
      const vi = diff > 0 ? vPrev - c2 * d2 : diff < 0 ? vPrev + c2 * d2 : vPrev;
      outM[i] = mi;
      outV[i] = vi;
      outX[i] = xi + (eta * mi) / (Math.sqrt(vi) + tau);
    }
  }
}
