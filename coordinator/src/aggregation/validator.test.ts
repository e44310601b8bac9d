import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NamedTensors } from '@fedciss/ml';
import { tensors } from '../testing/aggregation';
import { modelReference, validateUpdate, type RejectionCode, type UpdateToValidate, type ValidationLimits } from './validator';

// Global: w = [3, 0], b = [4]: norm 5.
const reference = modelReference(tensors({ w: [[2], [3, 0]], b: [[1], [4]] }));
const limits: ValidationLimits = { maxDeltaNorm: 2, maxRelativeDeltaNorm: 0.3, maxSampleCount: 1000 };
const good = (): NamedTensors => tensors({ w: [[2], [3, 1]], b: [[1], [4]] }); // delta norm 1

function rejected(u: Partial<UpdateToValidate>, l: ValidationLimits = limits) {
  const verdict = validateUpdate(reference, { sampleCount: 10, kind: 'weights', tensors: good(), ...u }, l);
  assert.equal(verdict.ok, false, 'expected a rejection');
  return (verdict as Extract<typeof verdict, { ok: false }>).rejection;
}

function expectRejection(u: Partial<UpdateToValidate>, code: RejectionCode, tensor: string | undefined, reason: RegExp, l = limits) {
  const r = rejected(u, l);
  assert.equal(r.code, code, r.reason);
  assert.equal(r.tensor, tensor);
  assert.match(r.reason, reason);
}

describe('update validator', () => {
  it('accepts a good update and reports its delta norm', () => {
    assert.equal(reference.norm, 5);
    assert.deepEqual(validateUpdate(reference, { sampleCount: 10, kind: 'weights', tensors: good() }, limits), {
      ok: true,
      deltaNorm: 1,
      relativeDeltaNorm: 0.2,
    });
    // the same as a delta: w = [0, 1], b = [0]
    const delta = tensors({ w: [[2], [0, 1]], b: [[1], [0]] });
    assert.deepEqual(validateUpdate(reference, { sampleCount: 1, kind: 'delta', tensors: delta }, limits), {
      ok: true,
      deltaNorm: 1,
      relativeDeltaNorm: 0.2,
    });
  });

  it('rejects a sample count that is not a positive integer or is too large', () => {
    for (const n of [0, -3, 1.5, Number.NaN, 1001]) expectRejection({ sampleCount: n }, 'sample-count', undefined, /sample count/);
  });

  it('rejects missing, extra and repeated tensors, naming them', () => {
    expectRejection({ tensors: tensors({ w: [[2], [3, 0]] }) }, 'missing-tensor', 'b', /'b' of the global model is missing/);
    const extra = good().set('head.new', { shape: [1], data: new Float32Array(1) });
    expectRejection({ tensors: extra }, 'unexpected-tensor', 'head.new', /'head.new' is not part of the global model/);
    const twice = [...good(), ['w', good().get('w')!] as const];
    expectRejection({ tensors: twice }, 'duplicate-tensor', 'w', /'w' appears twice/);
  });

  it('rejects a wrong shape with both shapes in the reason', () => {
    const t = good().set('w', { shape: [1, 2], data: Float32Array.from([3, 1]) });
    expectRejection({ tensors: t }, 'shape-mismatch', 'w', /'w' has shape \[1, 2\] but the global model's is \[2\]/);
    const short = good().set('w', { shape: [2], data: Float32Array.from([3]) });
    expectRejection({ tensors: short }, 'shape-mismatch', 'w', /holds 1 values/);
  });

  it('rejects a dtype other than F32, declared or actual', () => {
    expectRejection({ dtypes: { b: 'F16' } }, 'dtype', 'b', /'b' has dtype F16/);
    const f64 = good().set('b', { shape: [1], data: Float64Array.from([4]) as unknown as Float32Array });
    expectRejection({ tensors: f64 }, 'dtype', 'b', /Float64Array/);
  });

  it('rejects NaN and infinities, naming the tensor and index', () => {
    expectRejection({ tensors: good().set('w', { shape: [2], data: Float32Array.from([3, Number.NaN]) }) }, 'non-finite', 'w', /'w'.*NaN.*index 1/);
    expectRejection({ tensors: good().set('b', { shape: [1], data: Float32Array.from([-Infinity]) }) }, 'non-finite', 'b', /-Infinity/);
    expectRejection({ kind: 'delta', tensors: tensors({ w: [[2], [Infinity, 0]], b: [[1], [0]] }) }, 'non-finite', 'w', /index 0/);
  });

  it('rejects a delta above the absolute bound, and an absurd scale relative to the global model', () => {
    // delta w = [0, 3]: norm 3 > 2
    expectRejection({ tensors: tensors({ w: [[2], [3, 3]], b: [[1], [4]] }) }, 'delta-norm', 'w', /norm 3\.000 exceeds the bound 2.*'w'/);
    // delta b = [1.75]: norm 1.75 ≤ 2 but 0.35× the global norm 5 > 0.3×
    expectRejection({ tensors: tensors({ w: [[2], [3, 0]], b: [[1], [5.75]] }) }, 'relative-delta-norm', 'b', /0\.3500× the global model's norm 5\.000/);
    // both bounds off: accepted
    const off = { maxDeltaNorm: null, maxRelativeDeltaNorm: null, maxSampleCount: 1000 };
    assert.equal(validateUpdate(reference, { sampleCount: 1, kind: 'weights', tensors: tensors({ w: [[2], [300, 0]], b: [[1], [4]] }) }, off).ok, true);
  });
});
