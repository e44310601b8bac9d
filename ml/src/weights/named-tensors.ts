/** A model's weights: named, shaped Float32 tensors. The unit of exchange between sites and the
 * coordinator, and what aggregation works on. Names are stable across sites (the same model
 * definition yields the same names), so aggregation can match tensors by name. */
export interface NamedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type NamedTensors = Map<string, NamedTensor>;

export function elementCount(shape: readonly number[]): number {
  return shape.reduce((n, d) => n * d, 1);
}

/** Builds a NamedTensor, checking that the data length matches the shape. */
export function namedTensor(shape: readonly number[], data: Float32Array, name = 'tensor'): NamedTensor {
  const n = elementCount(shape);
  if (n !== data.length) {
    throw new Error(`${name}: shape [${shape.join(', ')}] holds ${n} values but the data has ${data.length}`);
  }
  return { shape: [...shape], data };
}

export function totalParameters(weights: NamedTensors): number {
  let n = 0;
  for (const t of weights.values()) n += t.data.length;
  return n;
}

export function cloneTensors(weights: NamedTensors): NamedTensors {
  const out: NamedTensors = new Map();
  for (const [name, t] of weights) out.set(name, { shape: [...t.shape], data: t.data.slice() });
  return out;
}
