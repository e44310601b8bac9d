import type { NamedTensor, NamedTensors } from '@fedciss/ml';
import type { ClientUpdate, UpdateKind } from '../aggregation/types';

/** Builds NamedTensors from `{name: [shape, values]}` (test helper). */
export function tensors(spec: Record<string, [readonly number[], readonly number[]]>): NamedTensors {
  const out: NamedTensors = new Map();
  for (const [name, [shape, values]] of Object.entries(spec)) out.set(name, { shape: [...shape], data: Float32Array.from(values) });
  return out;
}

export function update(siteId: string, sampleCount: number, kind: UpdateKind, t: NamedTensors, deltaNorm?: number): ClientUpdate {
  return deltaNorm === undefined ? { siteId, sampleCount, kind, tensors: t } : { siteId, sampleCount, kind, tensors: t, deltaNorm };
}

/** Plain arrays of every tensor, for deepEqual / approximate comparison. */
export function values(t: NamedTensors): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [name, x] of t) out[name] = [...x.data];
  return out;
}

export function snapshot(t: NamedTensors): Array<[string, number[], number[]]> {
  return [...t].map(([name, x]: [string, NamedTensor]) => [name, [...x.shape], [...x.data]]);
}

export function assertClose(actual: readonly number[], expected: readonly number[], tol = 1e-6, what = 'values'): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    if (!(Math.abs(actual[i] - expected[i]) <= tol * Math.max(1, Math.abs(expected[i])))) {
      throw new Error(`${what}[${i}]: ${actual[i]} is not within ${tol} of ${expected[i]} (got [${actual.join(', ')}], want [${expected.join(', ')}])`);
    }
  }
}

/** Every weight moved by the same amount: a site's update whose aggregate is easy to compute by hand. */
export function shifted(weights: NamedTensors, by: number): NamedTensors {
  return new Map([...weights].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v) => v + by) }]));
}
