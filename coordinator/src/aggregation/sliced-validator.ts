/**
 * validateUpdate for models read by slices (safetensors files of any size): the same checks in the
 * same order with the same messages (validator.ts's shared rejections), and the same norms to the
 * bit: the Float64 sums run on over a tensor's slices in the order a single pass takes. Memory: two
 * slices (the update's and the global model's), whatever the model's size.
 *
 * The dtype check is the file reader's: SafetensorsFileReader refuses any tensor that is not F32
 * when it opens the file, as decodeSafetensors does.
 */
import { elementCount } from '@fedciss/ml';
import { firstNonFinite, sumOfSquaredDifferences, sumOfSquares } from './math';
import type { SlicedTensors } from './sliced';
import type { UpdateKind } from './types';
import {
  closingVerdict, DEFAULT_VALIDATION_LIMITS, nameRejection, nonFiniteRejection, sampleCountRejection, shapeRejection,
  type UpdateVerdict, type ValidationLimits,
} from './validator';

/** Values read at once per tensor (4 MiB of F32): two such slices are the validator's memory. */
export const VALIDATION_SLICE_VALUES = 1 << 20;

/** The global model readable by slices, with its norm computed once per round. */
export interface SlicedModelReference {
  readonly tensors: SlicedTensors;
  readonly norm: number;
}

/** Calls `each(from, n)` for consecutive slices of at most `per` values covering `count`. */
async function forEachSlice(count: number, per: number, each: (from: number, n: number) => Promise<boolean | void>): Promise<void> {
  for (let from = 0; from < count; from += per) if ((await each(from, Math.min(per, count - from))) === false) return;
}

/** modelReference by slices: the global model's L2 norm, bit-identical to modelReference's. */
export async function slicedModelReference(tensors: SlicedTensors, sliceValues = VALIDATION_SLICE_VALUES): Promise<SlicedModelReference> {
  const scratch = new Float32Array(sliceValues);
  let s = 0;
  for (const [name, shape] of tensors.shapes) {
    await forEachSlice(elementCount(shape), sliceValues, async (from, n) => {
      const g = scratch.subarray(0, n);
      await tensors.read(name, from, g);
      s = sumOfSquares(g, s);
    });
  }
  return { tensors, norm: Math.sqrt(s) };
}

export interface SlicedUpdateToValidate {
  readonly sampleCount: number;
  readonly kind: UpdateKind;
  readonly tensors: SlicedTensors;
}

/** Index of the first non-finite value of tensor `name` from element `from` on, or -1 (its value in `found`). */
async function nextNonFinite(tensors: SlicedTensors, name: string, from: number, count: number, scratch: Float32Array): Promise<{ at: number; value: number }> {
  let found = { at: -1, value: NaN };
  await forEachSlice(count - from, scratch.length, async (offset, n) => {
    const x = scratch.subarray(0, n);
    await tensors.read(name, from + offset, x);
    const i = firstNonFinite(x);
    if (i >= 0) found = { at: from + offset + i, value: x[i] };
    return i < 0;
  });
  return found;
}

/**
 * Validates one update read by slices against the global model read by slices: the verdict
 * validateUpdate gives on the same tensors in memory (see the file's header).
 */
export async function validateUpdateBySlices(
  reference: SlicedModelReference,
  update: SlicedUpdateToValidate,
  limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS,
  sliceValues = VALIDATION_SLICE_VALUES,
): Promise<UpdateVerdict> {
  const refused = sampleCountRejection(update.sampleCount, limits);
  if (refused) return refused;
  const global = reference.tensors.shapes;
  const seen = new Set<string>();
  const xs = new Float32Array(sliceValues);
  const gs = new Float32Array(sliceValues);
  let sumSq = 0;
  let largest = { name: '', sumSq: -1 };
  for (const [name, shape] of update.tensors.shapes) {
    const globalShape = global.get(name);
    const rejected = nameRejection(name, globalShape, seen) ?? shapeRejection(name, shape, globalShape!);
    if (rejected) return rejected;
    seen.add(name);
    const count = elementCount(shape);
    let s = 0;
    let bad: UpdateVerdict | null = null;
    await forEachSlice(count, sliceValues, async (from, n) => {
      const x = xs.subarray(0, n);
      await update.tensors.read(name, from, x);
      if (update.kind === 'delta') s = sumOfSquares(x, s);
      else {
        const g = gs.subarray(0, n);
        await reference.tensors.read(name, from, g);
        s = sumOfSquaredDifferences(x, g, s);
      }
      if (Number.isFinite(s)) return true;
      // As validateUpdate: the update's first non-finite value anywhere in the tensor, else the
      // global model's (the earlier slices were finite in both, or the sum would have been).
      const i = firstNonFinite(x);
      const later = i >= 0 ? { at: from + i, value: x[i] } : await nextNonFinite(update.tensors, name, from + n, count, xs);
      bad = later.at >= 0 ? nonFiniteRejection(name, later.value, later.at) : nonFiniteRejection(name, NaN, from + firstNonFinite(gs.subarray(0, n)));
      return false;
    });
    if (bad) return bad;
    sumSq += s;
    if (s > largest.sumSq) largest = { name, sumSq: s };
  }
  return closingVerdict(global, seen, sumSq, largest, reference.norm, limits);
}
