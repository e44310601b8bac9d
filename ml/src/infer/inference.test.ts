import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../graph/graph';
import { softmaxCrossEntropy } from '../nn/losses';
import { CompiledGraph } from '../runtime/compiled';
import { createSession } from '../runtime/session';
import { rectangles, tinySegNet } from '../testing/tiny-seg';
import { Trainer } from '../train/trainer';
import { cloneTensors } from '../weights/named-tensors';
import { exportInferenceModel, InferenceRunner } from './inference';

const N = 2;
const S = 8;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test("the exported model equals the training graph's forward pass (1e-5) in a fresh session", async () => {
  const trainer = new Trainer({
    model: (g, b) => {
      const logits = tinySegNet(g, b.image, 3, 'group');
      return { losses: { ce: softmaxCrossEntropy(logits, b.labels) }, outputs: { logits } };
    },
    optimizer: { kind: 'adam' },
  });
  const d = rectangles(N, S, 4);
  const batch = { image: { shape: [N, 1, S, S], data: d.image }, labels: { shape: [N, S, S], data: d.labels } };
  await trainer.step(batch, 0.01); // move the weights away from their initial values
  const before = cloneTensors(trainer.weights);
  const r = await trainer.step(batch, 0.01); // its logits come from `before`
  const bytes = exportInferenceModel({
    model: (g, i) => ({ logits: tinySegNet(g, i.image, 3, 'group') }),
    inputs: { image: { shape: [N, 1, S, S] } },
    weights: before,
  });
  const runner = await InferenceRunner.fromBytes(bytes);
  assert.deepEqual(runner.inputNames, ['image']);
  const out = await runner.run({ image: batch.image });
  assert.deepEqual(out.logits.shape, [N, 3, S, S]);
  const diff = maxAbsDiff(out.logits.data as Float32Array, r.outputs.logits.data as Float32Array);
  assert.ok(diff <= 1e-5, `max |diff| ${diff}`);
  // and the plain onnxruntime API loads it too
  const plain = await ort.InferenceSession.create(bytes);
  assert.deepEqual(plain.inputNames, ['image']);
  await plain.release();
  await runner.release();
});

test('with BatchNorm, the exported model equals the eval-mode graph with weights as inputs', async () => {
  const trainer = new Trainer({ model: (g, b) => ({ losses: { ce: softmaxCrossEntropy(tinySegNet(g, b.image, 2), b.labels) } }), optimizer: { kind: 'adam' } });
  const d = rectangles(N, S, 5);
  for (let i = 0; i < 3; i++) await trainer.step({ image: { shape: [N, 1, S, S], data: d.image }, labels: { shape: [N, S, S], data: d.labels } }, 0.01);
  const g = new Graph({ training: false });
  const logits = tinySegNet(g, g.input('image', [N, 1, S, S]), 2);
  const evalGraph = await CompiledGraph.compile({ logits });
  const feeds = new Map(trainer.weights);
  feeds.set('image', { shape: [N, 1, S, S], data: d.image });
  const want = (await evalGraph.run(feeds)).logits.data as Float32Array;
  const runner = await InferenceRunner.fromBytes(
    exportInferenceModel({ model: (h, i) => ({ logits: tinySegNet(h, i.image, 2) }), inputs: { image: { shape: [N, 1, S, S] } }, weights: trainer.weights }),
  );
  const got = (await runner.run({ image: { shape: [N, 1, S, S], data: d.image } })).logits.data as Float32Array;
  assert.ok(maxAbsDiff(got, want) <= 1e-5);
  await runner.release();
  await evalGraph.release();
});

test('an unavailable execution provider falls back to cpu with a message', async () => {
  const model = exportInferenceModel({ model: (_h, i) => ({ y: i.x.mul(2) }), inputs: { x: { shape: [2] } }, weights: new Map() });
  const messages: string[] = [];
  const session = await createSession(model, { executionProvider: 'cuda', log: (m) => messages.push(m) });
  assert.equal(messages.length, 1);
  assert.match(messages[0], /execution provider 'cuda' is not available.*falling back to cpu/);
  assert.match(messages[0], /npm run gpu:install/, 'the message says how to enable CUDA');
  const out = await session.run({ x: new ort.Tensor(Float32Array.of(1, 2), [2]) });
  assert.deepEqual(Array.from(out.y.data as Float32Array), [2, 4]);
  await session.release();
});
