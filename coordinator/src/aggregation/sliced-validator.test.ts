import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { decodeSafetensors, encodeSafetensors, SafetensorsError, type NamedTensors } from '@fedciss/ml';
import { SafetensorsFileReader } from '../model-store/safetensors-file';
import { slicedFromMemory } from './sliced';
import { slicedModelReference, validateUpdateBySlices } from './sliced-validator';
import { DEFAULT_VALIDATION_LIMITS, modelReference, validateUpdate, type UpdateVerdict, type ValidationLimits } from './validator';

const dir = mkdtempSync(join(tmpdir(), 'sliced-validator-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Deterministic values with every rounding a real model has (no round numbers). */
const wave = (n: number, k: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k) * (1 + (i % 7) / 3));

const global: NamedTensors = new Map([
  ['body.weight', { shape: [13, 11], data: wave(143, 1) }],
  ['head.bias', { shape: [5], data: wave(5, 2) }],
]);

const nudged = (k: number, scale = 0.01): NamedTensors => new Map([...global].map(([name, t]) => [name, { shape: [...t.shape], data: t.data.map((v, i) => v + scale * Math.cos(i * k)) }]));

function withValue(tensors: NamedTensors, name: string, index: number, value: number): NamedTensors {
  const out = new Map([...tensors].map(([n, t]) => [n, { shape: [...t.shape], data: Float32Array.from(t.data) }]));
  out.get(name)!.data[index] = value;
  return out;
}

const limits: ValidationLimits = { ...DEFAULT_VALIDATION_LIMITS, maxDeltaNorm: 5 };

/** Both validators on the same update, slices of `per` values (odd, so tensors end mid-slice). */
async function both(update: NamedTensors, per: number, l = limits, sampleCount = 12): Promise<[UpdateVerdict, UpdateVerdict]> {
  const inMemory = validateUpdate(modelReference(global), { sampleCount, kind: 'weights', tensors: update }, l);
  const reference = await slicedModelReference(slicedFromMemory(global), per);
  const sliced = await validateUpdateBySlices(reference, { sampleCount, kind: 'weights', tensors: slicedFromMemory(update) }, l, per);
  return [inMemory, sliced];
}

describe('validateUpdateBySlices', () => {
  it('gives the reference norm and the accepted delta norm to the bit, whatever the slice', async () => {
    for (const per of [1, 7, 64, 1 << 20]) {
      assert.equal((await slicedModelReference(slicedFromMemory(global), per)).norm, modelReference(global).norm, `slices of ${per}`);
      const [inMemory, sliced] = await both(nudged(3), per);
      assert.equal(inMemory.ok, true);
      assert.deepEqual(sliced, inMemory, `slices of ${per}`);
    }
  });

  it('refuses every bad update with validateUpdate\'s code, tensor and words', async () => {
    const base = nudged(5);
    const drop = new Map(base);
    drop.delete('head.bias');
    const extra = new Map(base).set('stray', { shape: [1], data: new Float32Array(1) });
    const reshaped = new Map(base).set('head.bias', { shape: [1, 5], data: base.get('head.bias')!.data });
    const cases: Array<[string, NamedTensors, ValidationLimits?, number?]> = [
      ['NaN in a later slice', withValue(base, 'body.weight', 100, NaN)],
      ['+Infinity in the first value', withValue(base, 'body.weight', 0, Infinity)],
      ['-Infinity in the last tensor', withValue(base, 'head.bias', 4, -Infinity)],
      ['missing tensor', drop],
      ['unexpected tensor', extra],
      ['shape', reshaped],
      ['absolute norm bound', nudged(2, 1), { ...limits, maxDeltaNorm: 0.5 }],
      ['relative norm bound', nudged(2, 1), { ...limits, maxDeltaNorm: null, maxRelativeDeltaNorm: 0.01 }],
      ['sample count', base, limits, 0],
    ];
    for (const [what, update, l, samples] of cases) {
      for (const per of [3, 50]) {
        const [inMemory, sliced] = await both(update, per, l ?? limits, samples ?? 12);
        assert.equal(inMemory.ok, false, what);
        assert.deepEqual(sliced, inMemory, `${what}, slices of ${per}`);
      }
    }
  });

  it('names the update\'s non-finite value even when the global model has one earlier (in a later slice of the update)', async () => {
    const badGlobal = withValue(global, 'body.weight', 2, Infinity);
    const update = withValue(nudged(1), 'body.weight', 90, NaN);
    const inMemory = validateUpdate(modelReference(badGlobal), { sampleCount: 1, kind: 'weights', tensors: update }, limits);
    const sliced = await validateUpdateBySlices(await slicedModelReference(slicedFromMemory(badGlobal), 8), { sampleCount: 1, kind: 'weights', tensors: slicedFromMemory(update) }, limits, 8);
    assert.match((inMemory as Extract<UpdateVerdict, { ok: false }>).rejection.reason, /\(NaN\) at flat index 90/);
    assert.deepEqual(sliced, inMemory);
  });

  it('reads files: an update with a bad tensor is refused with the same message, and a non-F32 file as decodeSafetensors refuses it', async () => {
    const globalPath = join(dir, 'global.safetensors');
    const updatePath = join(dir, 'update.safetensors');
    writeFileSync(globalPath, encodeSafetensors(global));
    const bad = withValue(nudged(4), 'body.weight', 77, NaN);
    writeFileSync(updatePath, encodeSafetensors(bad));
    const [g, u] = [await SafetensorsFileReader.open(globalPath), await SafetensorsFileReader.open(updatePath)];
    try {
      const sliced = await validateUpdateBySlices(await slicedModelReference(g, 16), { sampleCount: 3, kind: 'weights', tensors: u }, limits, 16);
      const inMemory = validateUpdate(modelReference(global), { sampleCount: 3, kind: 'weights', tensors: decodeSafetensors(encodeSafetensors(bad)).tensors }, limits);
      assert.equal((sliced as Extract<UpdateVerdict, { ok: false }>).rejection.reason, "tensor 'body.weight' has a non-finite value (NaN) at flat index 77");
      assert.deepEqual(sliced, inMemory);
    } finally {
      await Promise.all([g.close(), u.close()]);
    }
    // An F16 tensor: the header reader's refusal, the same whether the file is decoded or opened.
    const f16 = encodeSafetensors(global);
    const text = f16.toString('latin1').replace('"F32"', '"F16"');
    const f16Path = join(dir, 'f16.safetensors');
    writeFileSync(f16Path, Buffer.from(text, 'latin1'));
    const decodeError = (() => {
      try {
        decodeSafetensors(Buffer.from(text, 'latin1'));
      } catch (e) {
        return e as Error;
      }
    })();
    assert.ok(decodeError instanceof SafetensorsError);
    await assert.rejects(SafetensorsFileReader.open(f16Path), (e: Error) => e instanceof SafetensorsError && e.message === decodeError.message);
  });
});
