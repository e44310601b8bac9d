/**
 * A site's update under secure aggregation: the model's tensors flattened in name order (so both
 * sides agree without sending names), the delta from the global model weighted and quantised, then
 * masked; on the wire, the magic "FSA1" and the masked words, little-endian.
 */
import { SecAggError } from './keys';

const MAGIC = Buffer.from('FSA1', 'ascii');

/** Tensors as both packages see them (ml's NamedTensors fits). */
export type FlatTensors = ReadonlyMap<string, { readonly data: ArrayLike<number> }>;

export const flatLength = (tensors: FlatTensors): number => [...tensors.values()].reduce((n, t) => n + t.data.length, 0);

/** (local − global) · weight, flattened in name order. */
export function weightedDelta(global: FlatTensors, local: FlatTensors, weight: number): Float64Array {
  const names = [...global.keys()].sort();
  if (local.size !== global.size || names.some((n) => local.get(n)?.data.length !== global.get(n)!.data.length)) {
    throw new SecAggError('the trained model does not have the global model\'s tensors and sizes');
  }
  const out = new Float64Array(flatLength(global));
  let at = 0;
  for (const n of names) {
    const g = global.get(n)!.data;
    const l = local.get(n)!.data;
    for (let i = 0; i < g.length; i++) out[at++] = (l[i] - g[i]) * weight;
  }
  return out;
}

/** global + flat delta, as tensors of the global model's names and shapes. */
export function addFlat<T extends { readonly shape: readonly number[]; readonly data: Float32Array }>(global: ReadonlyMap<string, T>, delta: ArrayLike<number>): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  let at = 0;
  for (const n of [...global.keys()].sort()) {
    const g = global.get(n)!;
    const data = new Float32Array(g.data.length);
    for (let i = 0; i < data.length; i++) data[i] = g.data[i] + delta[at++];
    out.set(n, { shape: [...g.shape], data });
  }
  if (at !== delta.length) throw new SecAggError(`a sum of ${delta.length} values does not fit a model of ${at}`);
  return out;
}

export function encodeMasked(words: Uint32Array): Buffer {
  const body = Buffer.alloc(words.length * 4);
  for (let i = 0; i < words.length; i++) body.writeUInt32LE(words[i], i * 4);
  return Buffer.concat([MAGIC, body]);
}

export function decodeMasked(bytes: Uint8Array, expectedWords: number): Uint32Array {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 4 || !b.subarray(0, 4).equals(MAGIC)) throw new SecAggError('not a masked update (it does not start with FSA1)');
  const words = (b.length - 4) / 4;
  if (words !== expectedWords) throw new SecAggError(`a masked update of ${words} values does not fit a model of ${expectedWords}`);
  const out = new Uint32Array(words);
  for (let i = 0; i < words; i++) out[i] = b.readUInt32LE(4 + i * 4);
  return out;
}

/**
 * Adaptive clipping under secure aggregation: each site's noisy "update within the clip bound" bit
 * rides as one more word after its delta, so the coordinator learns only the sum of the bits, as it
 * learns only the sum of the deltas. The bit is scaled into the delta's quantisation range (which
 * covers at least the clip bound) by this factor: up to 8 noise deviations still fit unclamped.
 */
export const indicatorScale = (clipNorm: number, countNoiseStddev: number): number => clipNorm / (1 + 8 * countNoiseStddev);

/** The flat delta with the scaled indicator appended (the words a site masks). */
export function withIndicator(delta: Float64Array, indicator: number, scale: number): Float64Array {
  const out = new Float64Array(delta.length + 1);
  out.set(delta);
  out[delta.length] = indicator * scale;
  return out;
}
