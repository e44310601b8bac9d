/**
 * Fixed-point encoding of real vectors in Z_{2^32}, so that masked values can be summed exactly.
 * Each coordinate is clamped to [−range, range] and rounded to a multiple of 1/scale; with
 * scale = ⌊(2^31 − 1)/(sites · range)⌋ the sum of up to `sites` encoded vectors never wraps.
 * Rounding error: at most 1/(2·scale) per site and coordinate.
 */
export interface Quantisation {
  /** Largest |value| of one site's coordinate (values beyond are clamped). */
  readonly range: number;
  /** Most vectors the sum may hold. */
  readonly sites: number;
}

export function quantisationScale(q: Quantisation): number {
  if (!(q.range > 0) || !Number.isInteger(q.sites) || q.sites < 1) throw new RangeError(`quantisation needs range > 0 and sites >= 1 (got ${q.range}, ${q.sites})`);
  const scale = Math.floor((2 ** 31 - 1) / (q.sites * q.range));
  if (scale < 1) throw new RangeError(`range ${q.range} × ${q.sites} sites leaves no resolution in 32 bits`);
  return scale;
}

export function quantise(values: ArrayLike<number>, q: Quantisation): Uint32Array {
  const scale = quantisationScale(q);
  const out = new Uint32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.max(-q.range, Math.min(q.range, values[i]));
    out[i] = Math.round(v * scale) >>> 0; // two's complement in 32 bits
  }
  return out;
}

/** The real-valued sum encoded in `sum` (a sum of at most `q.sites` quantised vectors). */
export function dequantiseSum(sum: Uint32Array, q: Quantisation): Float64Array {
  const scale = quantisationScale(q);
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = (sum[i] | 0) / scale;
  return out;
}
