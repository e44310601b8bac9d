/** The exported segmenter outside ONNX Runtime: explicit attributes, a normalisation other
 * runtimes implement, a dynamic batch, the opset chosen or the smallest, onnx.checker's full check,
 * and OpenCV DNN (a second, independent runtime) agreeing with ONNX Runtime on random inputs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { gaussian, seededRandom } from '../init/initializers';
import { createSegmenterWeights, exportSegmenterOnnx, segmenterConfig } from '../segmentation/network';
import { onnxFullCheck, runInOpenCv } from '../testing/second-runtime';
import { grad } from '../autodiff/grad';
import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import { exportModel, InferenceRunner, MAX_EXPORT_OPSET, MIN_EXPORT_OPSET } from './inference';
import { modelCard, readModelMetadata, rgbOf, type ModelClass } from './model-metadata';

// Small but complete: three levels, GroupNorm with 4 groups, a 48x64 frame (the size).
const config = segmenterConfig({ width: 8, depth: 2, inputSize: [48, 64], embedDim: 8, groups: 4 });
const K = 4;
const [H, W] = config.inputSize;
const weights = createSegmenterWeights(config, K, 11);
// Weights away from their initialisation (GroupNorm affine ones/zeros would hide mistakes).
const rand = seededRandom(5);
for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.1 * gaussian(rand);

function randomImages(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n * 3 * H * W }, () => r());
}

async function ortRun(bytes: Uint8Array, image: Float32Array, n: number): Promise<{ logits: Float32Array; probabilities: Float32Array }> {
  const runner = await InferenceRunner.fromBytes(bytes);
  try {
    const out = await runner.run({ image: { shape: [n, 3, H, W], data: image } });
    assert.deepEqual(out.logits.shape, [n, K, H, W]);
    return { logits: out.logits.data as Float32Array, probabilities: out.probabilities.data as Float32Array };
  } finally {
    await runner.release();
  }
}

const ortLogits = async (bytes: Uint8Array, image: Float32Array, n: number) => (await ortRun(bytes, image, n)).logits;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const decode = (bytes: Uint8Array) => onnx.ModelProto.decode(bytes);
const attrNames = (n: onnx.INodeProto) => new Set((n.attribute ?? []).map((a) => a.name));

test('every Conv, ConvTranspose and MaxPool spells out its attributes; GroupNorm is InstanceNormalization', () => {
  const model = decode(exportSegmenterOnnx(weights, config, K).bytes);
  const nodes = model.graph?.node ?? [];
  const need: Record<string, string[]> = {
    Conv: ['kernel_shape', 'pads', 'strides', 'dilations', 'group'],
    ConvTranspose: ['kernel_shape', 'pads', 'strides', 'dilations', 'group', 'output_padding'],
    MaxPool: ['kernel_shape', 'pads', 'strides', 'dilations'],
  };
  for (const n of nodes) for (const a of need[n.opType ?? ''] ?? []) assert.ok(attrNames(n).has(a), `${n.name} (${n.opType}) lacks ${a}`);
  const count = (op: string) => nodes.filter((n) => n.opType === op).length;
  assert.equal(count('Conv') + count('ConvTranspose') + count('MaxPool') > 10, true);
  assert.equal(count('InstanceNormalization'), 10, 'one per GroupNorm (5 blocks x 2)');
  assert.equal(count('ReduceSum') + count('ReduceMean'), 0);
});

test('the smallest opset is the default, a chosen one is declared, one out of range is refused', () => {
  const smallest = exportSegmenterOnnx(weights, config, K);
  assert.equal(smallest.opset, MIN_EXPORT_OPSET);
  assert.equal(Number(decode(smallest.bytes).opsetImport?.[0]?.version), MIN_EXPORT_OPSET);
  const at17 = exportSegmenterOnnx(weights, config, K, { opset: 17 });
  assert.equal(Number(decode(at17.bytes).opsetImport?.[0]?.version), 17);
  const at21 = decode(exportSegmenterOnnx(weights, config, K, { opset: 21 }).bytes);
  assert.equal(at21.graph?.node?.filter((n) => n.opType === 'GroupNormalization').length, 10);
  assert.throws(() => exportSegmenterOnnx(weights, config, K, { opset: 10 }), /opset 10 is outside .*11\.\.21/);
  assert.throws(() => exportSegmenterOnnx(weights, config, K, { opset: MAX_EXPORT_OPSET + 1 }), /outside/);
});

test('an op that needs a newer opset moves the smallest one up; a chosen opset below it is refused by name', () => {
  // The gradient of an overlapping max-pool scatters with reduction 'add': ScatterElements-16.
  const spec = {
    model: (_g: unknown, i: Readonly<Record<string, Tensor>>) => ({ dx: grad(F.reduceSum(F.maxPool2d(i.x, { kernel: 3, stride: 2, padding: 1 })), [i.x])[0] }),
    inputs: { x: { shape: [1, 2, 6, 6] } },
    weights: new Map(),
  };
  assert.equal(exportModel(spec).opset, 16);
  assert.throws(() => exportModel(spec, { opset: 13 }), /cannot be written at opset 13: .*ScatterElements.*use opset 16 or later/);
});

test('one file runs any batch size: three images at once give each image its batch-1 logits', async () => {
  const { bytes } = exportSegmenterOnnx(weights, config, K);
  const input = decode(bytes).graph?.input?.[0];
  assert.equal(input?.type?.tensorType?.shape?.dim?.[0]?.dimParam, 'batch');
  const x = randomImages(3, 1);
  const together = await ortLogits(bytes, x, 3);
  const per = 3 * H * W;
  for (let b = 0; b < 3; b++) {
    const alone = await ortLogits(bytes, x.slice(b * per, (b + 1) * per), 1);
    assert.ok(maxAbsDiff(alone, together.slice(b * K * H * W, (b + 1) * K * H * W)) < 1e-5, `image ${b}`);
  }
});

test('every opset writes the same function: ONNX Runtime gives the same logits and probabilities at 11, 13, 17 and 21', async () => {
  const x = randomImages(2, 2);
  const ref = await ortRun(exportSegmenterOnnx(weights, config, K).bytes, x, 2);
  // Opset 11 normalises over channels by moving them last (its Softmax flattens from the axis on).
  const per = H * W;
  for (let p = 0; p < 2 * per; p += 37) {
    const [b, q] = [Math.floor(p / per), p % per];
    let sum = 0;
    for (let k = 0; k < K; k++) sum += ref.probabilities[(b * K + k) * per + q];
    assert.ok(Math.abs(sum - 1) < 1e-5, `probabilities of pixel ${q} of image ${b} sum to ${sum}`);
  }
  for (const opset of [13, 17, 21]) {
    const other = await ortRun(exportSegmenterOnnx(weights, config, K, { opset }).bytes, x, 2);
    const d = maxAbsDiff(ref.logits, other.logits);
    assert.ok(d < 1e-4, `opset ${opset}: max |logit difference| ${d}`);
    const dp = maxAbsDiff(ref.probabilities, other.probabilities);
    assert.ok(dp < 1e-5, `opset ${opset}: max |probability difference| ${dp}`);
  }
});

test('resize and expand in a dynamic-batch model: the batch-1 trace runs at batch 3, at opsets 11 and 13', async () => {
  const S = [2, 3, 5, 4];
  const model = (_g: unknown, i: Readonly<Record<string, Tensor>>) => ({
    y: F.add(F.resize(i.x, [7, 9], 'linear'), F.expand(F.reduceSum(i.x, [2, 3], true), [1, 3, 7, 9])),
  });
  const r = seededRandom(8);
  const x = Float32Array.from({ length: 3 * S[1] * S[2] * S[3] }, () => r());
  const per = S[1] * S[2] * S[3];
  for (const opset of [11, 13]) {
    const dyn = exportModel({ model, inputs: { x: { shape: [1, 3, 5, 4] } }, weights: new Map() }, { opset, dynamicBatch: true }).bytes;
    const runner = await InferenceRunner.fromBytes(dyn);
    const all = (await runner.run({ x: { shape: [3, 3, 5, 4], data: x } })).y;
    assert.deepEqual(all.shape, [3, 3, 7, 9]);
    for (let b = 0; b < 3; b++) {
      const one = (await runner.run({ x: { shape: [1, 3, 5, 4], data: x.slice(b * per, (b + 1) * per) } })).y.data as Float32Array;
      assert.ok(maxAbsDiff(one, (all.data as Float32Array).slice(b * one.length, (b + 1) * one.length)) < 1e-6, `opset ${opset}, image ${b}`);
    }
    await runner.release();
  }
});

test("onnx.checker's full check passes at opsets 11, 13 and 17 (Debian's onnx 1.12 knows up to 17)", () => {
  for (const opset of [11, 13, 17]) onnxFullCheck(exportSegmenterOnnx(weights, config, K, { opset }).bytes);
});

test("OpenCV's DNN module loads the exported segmenter and its logits match ONNX Runtime's within 1e-4", async () => {
  for (const opset of [undefined, 17]) {
    const { bytes } = exportSegmenterOnnx(weights, config, K, { opset });
    for (const [n, seed] of [[1, 3], [2, 4]] as const) {
      const x = randomImages(n, seed);
      const cv = runInOpenCv(bytes, x, [n, 3, H, W]);
      assert.deepEqual(cv.shape, [n, K, H, W]);
      const d = maxAbsDiff(cv.data, await ortLogits(bytes, x, n));
      assert.ok(d < 1e-4, `opset ${opset ?? 'smallest'}, batch ${n}: max |OpenCV - ORT| = ${d}`);
    }
  }
});

test('the metadata travels inside the file and reads back; the card lists the classes', () => {
  const classes: ModelClass[] = ['background', 'liver', 'colon', 'ureter'].map((name, id) => ({ id, name, color: ['#000000', '#aa3322', '#33aa22', '#2233aa'][id] }));
  const provenance = {
    classes, version: 'seg-2-abc', lineage: ['seg-1-x', 'seg-0-y'], federation: 'test federation', step: 2, round: 'r-9',
    createdAt: '2026-11-30T10:00:00.000Z', exportedAt: '2026-11-30T11:00:00.000Z', weightsSha256: 'ab'.repeat(32),
  };
  const exported = exportSegmenterOnnx(weights, config, K, { provenance });
  const m = readModelMetadata(exported.bytes);
  assert.deepEqual(m.classes, classes);
  assert.deepEqual(m.lineage, ['seg-1-x', 'seg-0-y']);
  assert.equal(m.opset, MIN_EXPORT_OPSET);
  assert.equal(m.dynamicBatch, true);
  assert.deepEqual([m.input.height, m.input.width, m.input.channels, m.input.scale], [H, W, 3, 1 / 255]);
  const card = modelCard(m);
  for (const s of ['seg-2-abc', '| 3 | ureter | `#2233aa` |', 'opset 11', '[batch, 3, 48, 64]', 'pixel / 255', '`seg-1-x` ← `seg-0-y`']) assert.ok(card.includes(s), `card lacks ${s}`);
  assert.throws(() => exportSegmenterOnnx(weights, config, K, { provenance: { ...provenance, classes: classes.slice(0, 3) } }), /predicts 4 classes, the metadata lists 3/);
  assert.throws(() => readModelMetadata(exportSegmenterOnnx(weights, config, K).bytes), /no 'fedciss\.version' metadata/);
  assert.deepEqual(rgbOf('#12ab34'), [0x12, 0xab, 0x34]);
});
