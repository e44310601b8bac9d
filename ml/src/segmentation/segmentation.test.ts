import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../init/initializers';
import { InferenceRunner } from '../infer/inference';
import { growHead } from './head';
import { createSegmenterWeights, featureNames, segmenterConfig, segmenterParamNames } from './network';
import { exportSegmenterOnnx } from './network';
import { SegmenterRunner } from './runner';
import { oldClassShare, predictSegmentation, segmenterLabeller } from './predict';
import { argmaxLabels } from '../metrics/confusion';

const config = segmenterConfig({ width: 8, depth: 2, inputSize: [16, 16], embedDim: 4, groups: 2 });
const HW = 16 * 16;
const images = (n: number, seed: number) => {
  const r = seededRandom(seed);
  return Float32Array.from({ length: n * 3 * HW }, () => r());
};
function softmaxAt(logits: Float32Array, b: number, C: number, p: number): number[] {
  const v = Array.from({ length: C }, (_, c) => logits[(b * C + c) * HW + p]);
  const m = Math.max(...v);
  const e = v.map((x) => Math.exp(x - m));
  const s = e.reduce((a, x) => a + x, 0);
  return e.map((x) => x / s);
}

test('deterministic names and seeded weights: two sites with the same seed get identical weights', () => {
  const a = createSegmenterWeights(config, 3, 5);
  const b = createSegmenterWeights(config, 3, 5);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [n, t] of a) assert.deepEqual(t.data, b.get(n)?.data, n);
  assert.ok(a.has('enc0.conv1.weight') && a.has('dec0.norm2.bias') && a.has('head.bias') && a.has('proj.conv2.weight'));
  assert.deepEqual(a.get('head.weight')?.shape, [3, 8, 1, 1]);
  assert.deepEqual(featureNames(config), ['enc0', 'enc1', 'enc2', 'dec1', 'dec0']);
  assert.equal(segmenterParamNames(config, 3).length, [...a.keys()].length); // GroupNorm: no buffers
  assert.throws(() => segmenterConfig({ inputSize: [30, 32], depth: 2 }), /divisible/);
});

test('head growth leaves predictions unchanged: old classes keep their probability, background + new sum to the old background', async () => {
  const w = createSegmenterWeights(config, 3, 2);
  const bias = w.get('head.bias');
  w.set('head.bias', { shape: [3], data: Float32Array.of(0.3, -0.2, 0.5) });
  assert.ok(bias);
  const grown = growHead(w, 3, 5);
  assert.deepEqual(grown.get('head.weight')?.shape, [5, 8, 1, 1]);
  const x = images(2, 9);
  const before = await SegmenterRunner.create(config, w, 3, { batch: 2 });
  const after = await SegmenterRunner.create(config, grown, 5, { batch: 2 });
  const lb = (await before.run(x)).logits;
  const la = (await after.run(x)).logits;
  let maxDiff = 0;
  let changed = 0;
  for (let b = 0; b < 2; b++) {
    for (let p = 0; p < HW; p++) {
      const pb = softmaxAt(lb, b, 3, p);
      const pa = softmaxAt(la, b, 5, p);
      const merged = [pa[0] + pa[3] + pa[4], pa[1], pa[2]];
      merged.forEach((v, c) => (maxDiff = Math.max(maxDiff, Math.abs(v - pb[c]))));
      const argmax = (v: number[]) => v.indexOf(Math.max(...v));
      if (argmax(merged) !== argmax(pb)) changed++;
      assert.ok(Math.abs(pa[3] - pa[0]) < 1e-6 && Math.abs(pa[4] - pa[0]) < 1e-6, 'new channels share the background probability');
    }
  }
  assert.ok(maxDiff < 1e-5, `max |probability difference| ${maxDiff}`);
  assert.equal(changed, 0, 'predicted labels (new classes merged into background) are unchanged');
  assert.throws(() => growHead(w, 4, 5), /predict 3 classes/);
  await before.release();
  await after.release();
});

test('the exported .onnx model runs in a fresh session and matches the runner', async () => {
  const w = createSegmenterWeights(config, 4, 3);
  const { bytes } = exportSegmenterOnnx(w, config, 4);
  const runner = await InferenceRunner.fromBytes(bytes);
  const x = images(1, 4);
  const out = await runner.run({ image: { shape: [1, 3, 16, 16], data: x } });
  assert.deepEqual(out.logits.shape, [1, 4, 16, 16]);
  assert.deepEqual(out.probabilities.shape, [1, 4, 16, 16]);
  const ref = await SegmenterRunner.create(config, w, 4, { batch: 1, features: ['enc2'], embeddings: true });
  const r = await ref.run(x);
  const l = out.logits.data as Float32Array;
  let d = 0;
  for (let i = 0; i < l.length; i++) d = Math.max(d, Math.abs(l[i] - r.logits[i]));
  assert.ok(d < 1e-5, `max diff ${d}`);
  assert.equal(r.features.enc2.length, 32 * 4 * 4);
  assert.equal(r.embeddings?.length, 4 * HW);
  assert.throws(() => exportSegmenterOnnx(w, config, 3), /head/);
  await runner.release();
  await ref.release();
});

test('the replay labeller gives per-pixel probabilities whose argmax is the prediction', async () => {
  const w = createSegmenterWeights(config, 3, 6);
  const m = { config, weights: w, numClasses: 3 };
  const labeller = segmenterLabeller(m);
  const x = images(2, 8);
  const r = await labeller(x, 2, { channels: 3, height: 16, width: 16 });
  assert.equal(r.classes, 3);
  for (let p = 0; p < HW; p += 37) {
    const s = r.probabilities[p] + r.probabilities[HW + p] + r.probabilities[2 * HW + p];
    assert.ok(Math.abs(s - 1) < 1e-5);
  }
  const preds = await predictSegmentation(m, [0, 1].map((b) => ({ image: x.subarray(b * 3 * HW, (b + 1) * 3 * HW), height: 16, width: 16 })));
  assert.deepEqual(argmaxLabels(r.probabilities, 2, 3, HW), Uint8Array.from([...preds[0].labels, ...preds[1].labels]));
  await labeller.release();
});

test('old-class share: background-labelled pixels the teacher confidently calls an old class, counted against a separate prediction path', async () => {
  // A 3-class teacher (background + 2 old classes). Labels: the first 64 pixels a new class (3),
  // the next 32 ignored (255), the rest background.
  const w = createSegmenterWeights(config, 3, 6);
  const teacher = { config, weights: w, numClasses: 3, batchSize: 2 };
  const x = images(3, 11);
  const label = Uint8Array.from({ length: HW }, (_, p) => (p < 64 ? 3 : p < 96 ? 255 : 0));
  const samples = [0, 1, 2].map((b) => ({ image: x.subarray(b * 3 * HW, (b + 1) * 3 * HW), label, height: 16, width: 16 }));
  // The reference: predictSegmentation's argmax and top-class probability, counted by hand.
  const preds = await predictSegmentation(teacher, samples);
  const expected = (threshold: number) => {
    let n = 0;
    for (const pr of preds) for (let p = 0; p < HW; p++) if (label[p] === 0 && pr.labels[p] !== 0 && pr.confidence[p] >= threshold) n++;
    return n / (3 * HW);
  };
  // An untrained 3-class net is unsure: a low threshold makes the count non-trivial.
  const threshold = 0.34;
  assert.ok(expected(threshold) > 0 && expected(threshold) < (HW - 96) / HW, `reference share ${expected(threshold)} is not a useful case`);
  assert.ok(Math.abs((await oldClassShare(teacher, samples, { threshold })) - expected(threshold)) < 1e-9);
  // Nothing is confident at a threshold of 1, and images labelled only with new classes have no background to keep.
  assert.equal(await oldClassShare(teacher, samples, { threshold: 1 }), 0);
  assert.equal(await oldClassShare(teacher, samples.map((s) => ({ ...s, label: new Uint8Array(HW).fill(3) })), { threshold }), 0);
  assert.equal(await oldClassShare(teacher, []), 0);
});
