import type { NamedTensors } from '@fedciss/ml';
import { formatShape } from './errors';
import { firstNonFinite, sameShape, sumOfSquaredDifferences, sumOfSquares } from './math';
import type { TensorSource, UpdateKind } from './types';

/**
 * The gate every update passes before it counts. Rejections are values (not exceptions): the
 * service records the reason against the update and the round goes on.
 */

export interface ValidationLimits {
  /** Largest accepted L2 norm of the delta from the global model (null: no absolute bound). */
  readonly maxDeltaNorm: number | null;
  /** Largest accepted ‖Δ‖ / ‖global‖: catches an absurd scale whatever the model's size (null: off). */
  readonly maxRelativeDeltaNorm: number | null;
  /** Largest accepted sample count (an update claiming more would dominate the weighted mean). */
  readonly maxSampleCount: number;
}

export const DEFAULT_VALIDATION_LIMITS: ValidationLimits = {
  maxDeltaNorm: null,
  maxRelativeDeltaNorm: 10,
  maxSampleCount: 10_000_000,
};

export type RejectionCode =
  | 'sample-count'
  | 'unexpected-tensor'
  | 'duplicate-tensor'
  | 'missing-tensor'
  | 'dtype'
  | 'shape-mismatch'
  | 'non-finite'
  | 'delta-norm'
  | 'relative-delta-norm';

export interface UpdateRejection {
  readonly code: RejectionCode;
  /** The tensor at fault, when one is. */
  readonly tensor?: string;
  /** One sentence for the audit log and the console. */
  readonly reason: string;
}

export type UpdateVerdict =
  | { readonly ok: true; readonly deltaNorm: number; readonly relativeDeltaNorm: number }
  | { readonly ok: false; readonly rejection: UpdateRejection };

/** The global model with its norm computed once per round (every validation needs it). */
export interface ModelReference {
  readonly tensors: NamedTensors;
  readonly norm: number;
}

export function modelReference(global: NamedTensors): ModelReference {
  let s = 0;
  for (const t of global.values()) s += sumOfSquares(t.data);
  return { tensors: global, norm: Math.sqrt(s) };
}

export interface UpdateToValidate {
  readonly sampleCount: number;
  readonly kind: UpdateKind;
  readonly tensors: TensorSource;
  /** dtype of each tensor as declared by its container (safetensors header), when known. */
  readonly dtypes?: Readonly<Record<string, string>>;
}

const reject = (code: RejectionCode, reason: string, tensor?: string): UpdateVerdict => ({
  ok: false,
  rejection: tensor === undefined ? { code, reason } : { code, reason, tensor },
});

/*
 * The checks below are shared by validateUpdate (tensors in memory) and validateUpdateBySlices
 * (sliced-validator.ts: files read by slices), so both refuse the same update with the same words.
 */

/** Refusal of a sample count outside [1, maxSampleCount], or null. */
export function sampleCountRejection(n: number, limits: ValidationLimits): UpdateVerdict | null {
  return !Number.isInteger(n) || n <= 0 || n > limits.maxSampleCount ? reject('sample-count', `sample count ${n} is not an integer in [1, ${limits.maxSampleCount}]`) : null;
}

/** Refusal of a tensor name the global model lacks (`globalShape` undefined) or one already seen, or null. */
export function nameRejection(name: string, globalShape: readonly number[] | undefined, seen: ReadonlySet<string>): UpdateVerdict | null {
  if (!globalShape) return reject('unexpected-tensor', `tensor '${name}' is not part of the global model`, name);
  if (seen.has(name)) return reject('duplicate-tensor', `tensor '${name}' appears twice in the update`, name);
  return null;
}

/** Refusal of a shape other than the global model's, or null. */
export function shapeRejection(name: string, shape: readonly number[], globalShape: readonly number[]): UpdateVerdict | null {
  return sameShape(globalShape, shape) ? null : reject('shape-mismatch', `tensor '${name}' has shape ${formatShape(shape)} but the global model's is ${formatShape(globalShape)}`, name);
}

export function nonFiniteRejection(name: string, value: number, flatIndex: number): UpdateVerdict {
  return reject('non-finite', `tensor '${name}' has a non-finite value (${value}) at flat index ${flatIndex}`, name);
}

/**
 * The verdict once every tensor of the update is checked: a tensor of the global model (`global`,
 * by name) missing from those `seen`, else the delta's squared L2 norm `sumSq` (its largest
 * per-tensor part: `largest`) against both norm bounds.
 */
export function closingVerdict(
  global: ReadonlyMap<string, unknown>,
  seen: ReadonlySet<string>,
  sumSq: number,
  largest: { name: string; sumSq: number },
  referenceNorm: number,
  limits: ValidationLimits,
): UpdateVerdict {
  if (seen.size !== global.size) {
    for (const name of global.keys()) if (!seen.has(name)) return reject('missing-tensor', `tensor '${name}' of the global model is missing from the update`, name);
  }
  const deltaNorm = Math.sqrt(sumSq);
  const relativeDeltaNorm = referenceNorm > 0 ? deltaNorm / referenceNorm : deltaNorm > 0 ? Infinity : 0;
  const culprit = largest.sumSq > 0 ? `; largest contribution from tensor '${largest.name}' (${Math.sqrt(largest.sumSq).toPrecision(4)})` : '';
  if (limits.maxDeltaNorm !== null && deltaNorm > limits.maxDeltaNorm) {
    return reject(
      'delta-norm',
      `delta L2 norm ${deltaNorm.toPrecision(4)} exceeds the bound ${limits.maxDeltaNorm}${culprit}`,
      largest.name || undefined,
    );
  }
  if (limits.maxRelativeDeltaNorm !== null && relativeDeltaNorm > limits.maxRelativeDeltaNorm) {
    return reject(
      'relative-delta-norm',
      `delta L2 norm ${deltaNorm.toPrecision(4)} is ${relativeDeltaNorm.toPrecision(4)}× the global model's norm ${referenceNorm.toPrecision(4)}, above the bound ${limits.maxRelativeDeltaNorm}×${culprit}`,
      largest.name || undefined,
    );
  }
  return { ok: true, deltaNorm, relativeDeltaNorm };
}

/**
 * Validates one update against the global model in one pass over its values: sample count
 * positive and bounded; tensor names exactly the global model's (no missing, extra or repeated);
 * dtype F32; shapes equal; every value finite; delta L2 norm within both bounds. On success returns
 * the delta norm, which aggregation reuses for clipping instead of reading the update again.
 */
export function validateUpdate(
  reference: ModelReference,
  update: UpdateToValidate,
  limits: ValidationLimits = DEFAULT_VALIDATION_LIMITS,
): UpdateVerdict {
  const refused = sampleCountRejection(update.sampleCount, limits);
  if (refused) return refused;
  const global = reference.tensors;
  const seen = new Set<string>();
  let sumSq = 0;
  let largest = { name: '', sumSq: -1 };
  for (const [name, t] of update.tensors) {
    const g = global.get(name);
    const badName = nameRejection(name, g?.shape, seen);
    if (badName) return badName;
    seen.add(name);
    const declared = update.dtypes?.[name];
    if ((declared !== undefined && declared !== 'F32') || !(t.data instanceof Float32Array)) {
      const actual = declared ?? (t.data as { constructor?: { name?: string } })?.constructor?.name ?? typeof t.data;
      return reject('dtype', `tensor '${name}' has dtype ${actual}; only F32 is accepted`, name);
    }
    const badShape = shapeRejection(name, t.shape, g!.shape);
    if (badShape) return badShape;
    if (t.data.length !== g!.data.length) {
      return reject('shape-mismatch', `tensor '${name}' holds ${t.data.length} values, its shape ${formatShape(t.shape)} needs ${g!.data.length}`, name);
    }
    // Finite F32 squares cannot overflow a Float64 sum, so a non-finite sum means a non-finite value:
    // the norm and the finiteness check share one pass.
    const s = update.kind === 'delta' ? sumOfSquares(t.data) : sumOfSquaredDifferences(t.data, g!.data);
    if (!Number.isFinite(s)) {
      const i = firstNonFinite(t.data);
      return nonFiniteRejection(name, i >= 0 ? t.data[i] : NaN, i >= 0 ? i : firstNonFinite(g!.data));
    }
    sumSq += s;
    if (s > largest.sumSq) largest = { name, sumSq: s };
  }
  return closingVerdict(global, seen, sumSq, largest, reference.norm, limits);
}
