/** Parameter initialisers with a seeded generator, so that two sites building the same model from
 * the same seed start from the same weights. */
export type ParamInit =
  | 'he'
  | 'xavier'
  | 'zeros'
  | 'ones'
  | { normal: number }
  | { constant: number }
  | { values: Float32Array };

/** mulberry32: small, fast, good enough for initialisation. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** Fan-in and fan-out: conv weights are [out, in/groups, ...kernel], linear weights [in, out]. */
export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 2) return { fanIn: shape[0], fanOut: shape[1] };
  if (shape.length < 2) return { fanIn: shape[0] ?? 1, fanOut: shape[0] ?? 1 };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

export function initialise(shape: readonly number[], init: ParamInit, rand: () => number): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  if (init === 'zeros') return out;
  if (init === 'ones') return out.fill(1);
  if (typeof init === 'object' && 'constant' in init) return out.fill(init.constant);
  if (typeof init === 'object' && 'values' in init) {
    if (init.values.length !== n) throw new Error(`initialiser has ${init.values.length} values for shape [${shape.join(', ')}]`);
    return out.set(init.values), out;
  }
  const { fanIn, fanOut } = fans(shape);
  const std =
    init === 'he' ? Math.sqrt(2 / fanIn) : init === 'xavier' ? Math.sqrt(2 / (fanIn + fanOut)) : init.normal;
  for (let i = 0; i < n; i++) out[i] = gaussian(rand) * std;
  return out;
}
