import type { DType } from '../graph/tensor';
import type { TensorMeta } from './types';

export const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

export function meta(shape: readonly number[], dtype: DType): TensorMeta {
  return { shape: [...shape], dtype };
}

/** Numpy broadcasting of two shapes. */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new Error(`shapes ${fmt(a)} and ${fmt(b)} do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank) throw new Error(`axis ${axis} is out of range for rank ${rank}`);
  return a;
}

export function sameDtype(inputs: readonly TensorMeta[]): DType {
  const d = inputs[0].dtype;
  for (const t of inputs) if (t.dtype !== d) throw new Error(`element types differ (${inputs.map((i) => i.dtype).join(', ')})`);
  return d;
}

export function requireFloat(t: TensorMeta): void {
  if (t.dtype !== 'float32') throw new Error(`needs float32, got ${t.dtype}`);
}

export function product(s: readonly number[]): number {
  return s.reduce((a, b) => a * b, 1);
}
