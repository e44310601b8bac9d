import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSegmenterWeights, segmenterConfig } from '../segmentation/network';
import { growHead } from '../segmentation/head';
import { predictSegmentation } from '../segmentation/predict';
import type { NamedTensors } from '../weights/named-tensors';
import { shapeScenes } from './synthetic-shapes';
import { LocalTrainCheckpoint, trainLocalSegmenter } from './train';
import { unpackSamples } from './samples';
import { polyLearningRate, TrainProgress, warmupFactor } from './schedule';

const S = 16;
const config = segmenterConfig({ width: 4, depth: 1, inputSize: [S, S], embedDim: 4, groups: 2 });
const data = shapeScenes(6, { size: S, draw: [1, 2], annotate: [1, 2], seed: 5 });

function distance(a: NamedTensors, b: NamedTensors): number {
  let s = 0;
  for (const [n, t] of a) {
    const u = b.get(n);
    if (!u) continue;
    for (let i = 0; i < t.data.length; i++) s += (t.data[i] - u.data[i]) ** 2;
  }
  return Math.sqrt(s);
}

test('poly schedule: lr (1 - t/T)^0.9', () => {
  assert.equal(polyLearningRate(0.1, 0, 10), 0.1);
  assert.ok(Math.abs(polyLearningRate(0.1, 5, 10) - 0.1 * 0.5 ** 0.9) < 1e-12);
  assert.equal(polyLearningRate(0.1, 10, 10), 0);
});

test('local training: progress per step with a decaying lr, checkpoints per epoch, resume continues, async input, all losses finite', async () => {
  const start = growHead(createSegmenterWeights(config, 3, 1), 3, 4);
  const teacher = { weights: createSegmenterWeights(config, 3, 1), numClasses: 3 };
  const progress: TrainProgress[] = [];
  const checkpoints: LocalTrainCheckpoint[] = [];
  async function* stream() {
    for (const s of data) yield s;
  }
  const replay = shapeScenes(2, { size: S, draw: [1], annotate: [1], seed: 6 });
  const opts = {
    config,
    weights: start,
    numClasses: 4,
    teacher,
    replay,
    hyper: { epochs: 2, batchSize: 4, learningRate: 1e-3, contrastiveSamples: 16, fedproxMu: 0.01, lossWeights: { unbiasedCe: 0.5 } },
    seed: 3,
  };
  const r = await trainLocalSegmenter({
    ...opts,
    real: stream(),
    onProgress: (p) => progress.push(p),
    checkpoint: { save: (c) => void checkpoints.push(c) },
  });
  // 6 real images, batch 4: 2 steps per epoch, replay or not (2 real + 2 replay per batch)
  assert.equal(r.metrics.steps, 4);
  assert.equal(r.metrics.realSamples, 6);
  assert.deepEqual(progress.map((p) => p.step), [1, 2, 3, 4]);
  assert.ok(progress.every((p, i) => i === 0 || p.learningRate < progress[i - 1].learningRate));
  assert.deepEqual(Object.keys(progress[0].losses).sort(), ['ce', 'contrastive', 'kd', 'pod', 'prox', 'total', 'unbiasedCe']);
  assert.ok(progress.every((p) => Object.values(p.losses).every(Number.isFinite)));
  assert.equal(progress[0].losses.prox, 0, 'the first step starts at the global weights');
  assert.deepEqual(checkpoints.map((c) => c.epoch), [1, 2]);
  assert.equal(r.metrics.epochLosses.length, 2);
  assert.ok(r.prototypes.valid.some((v) => v === 1));
  // resuming from the epoch-1 checkpoint runs only epoch 2
  const resumed = await trainLocalSegmenter({ ...opts, real: data, resume: checkpoints[0] });
  assert.equal(resumed.metrics.steps, 2);
  // predictions come back at each image's own size
  const [pred] = await predictSegmentation({ config, weights: r.weights, numClasses: 4 }, [{ image: new Float32Array(3 * 20 * 24), height: 20, width: 24 }]);
  assert.equal(pred.labels.length, 20 * 24);
  assert.ok(pred.confidence.every((c) => c > 0 && c <= 1 + 1e-6));
});

test('the learning rate spans the rounds of a step: round 1 of 2 continues where round 0 stopped', async () => {
  const base = { config, weights: createSegmenterWeights(config, 3, 2), numClasses: 3, real: data, seed: 1 };
  const hyper = { epochs: 1, batchSize: 3, learningRate: 1e-2, lossWeights: { contrastive: 0 } };
  const lrs = async (schedule?: { round: number; rounds: number }) => {
    const seen: number[] = [];
    await trainLocalSegmenter({ ...base, hyper: { ...hyper, schedule }, onProgress: (p) => seen.push(p.learningRate) });
    return seen;
  };
  const [first, second] = [await lrs({ round: 0, rounds: 2 }), await lrs({ round: 1, rounds: 2 })];
  assert.equal(first.length, 2);
  assert.deepEqual(first, [polyLearningRate(1e-2, 0, 4), polyLearningRate(1e-2, 1, 4)]);
  assert.deepEqual(second, [polyLearningRate(1e-2, 2, 4), polyLearningRate(1e-2, 3, 4)]);
  assert.ok(first.at(-1)! > second[0] && second[0] > 0.3e-2, 'no restart at the round boundary, no decay to 0 inside round 0');
  assert.deepEqual(await lrs(), [polyLearningRate(1e-2, 0, 2), polyLearningRate(1e-2, 1, 2)], 'one round by default');
});

test('the warm-up raises each round\'s learning rate linearly over its first steps, then follows the poly schedule', async () => {
  // 6 images, batch 2: three steps a round; a warm-up over two of them scales steps 0 and 1 by 1/2 and 2/2.
  const base = { config, weights: createSegmenterWeights(config, 3, 2), numClasses: 3, real: data, seed: 1 };
  const seen: number[] = [];
  const hyper = { epochs: 1, batchSize: 2, learningRate: 1e-2, lossWeights: { contrastive: 0 }, warmupFraction: 2 / 3, schedule: { round: 1, rounds: 2 } };
  await trainLocalSegmenter({ ...base, hyper, onProgress: (p) => seen.push(p.learningRate) });
  const poly = [3, 4, 5].map((t) => polyLearningRate(1e-2, t, 6));
  assert.deepEqual(seen, [poly[0] / 2, poly[1], poly[2]]);
  assert.deepEqual([warmupFactor(0, 0), warmupFactor(0, 4), warmupFactor(2, 4), warmupFactor(3, 4), warmupFactor(9, 4)], [1, 0.25, 0.75, 1, 1]);
});

test('replay: a pixel the teacher calls background does not teach "not a new class"', async () => {
  // A student (3 old classes + new class 3) that already predicts the new class everywhere, trained on
  // images all labelled background. As the step's own (real) images that label means "not the new
  // class" and the student unlearns it (the control); as teacher-labelled replay it must keep it.
  const grown = growHead(createSegmenterWeights(config, 3, 4), 3, 4);
  const bias = grown.get('head.bias')!;
  const weights = new Map(grown).set('head.bias', { shape: bias.shape, data: bias.data.map((v, c) => (c === 3 ? v + 4 : v)) });
  const images = shapeScenes(4, { size: S, draw: [1], annotate: [], seed: 9 }).map((x) => ({ ...x, label: new Uint8Array(S * S) }));
  const newShare = async (w: NamedTensors) => {
    const preds = await predictSegmentation({ config, weights: w, numClasses: 4 }, images);
    return preds.reduce((a, p) => a + p.labels.filter((l) => l === 3).length, 0) / (images.length * S * S);
  };
  assert.ok((await newShare(weights)) > 0.95);
  const train = (as: 'real' | 'replay') => trainLocalSegmenter({
    config, weights, numClasses: 4, teacher: { weights: createSegmenterWeights(config, 3, 4), numClasses: 3 }, seed: 2,
    real: as === 'real' ? images : [], replay: as === 'replay' ? images : undefined,
    hyper: { epochs: 1, stepsPerEpoch: 30, batchSize: 4, learningRate: 5e-2, augment: false, pseudoLabels: false, lossWeights: { replayCe: 1, kd: 0, pod: 0, contrastive: 0 } },
  });
  const asReal = await newShare((await train('real')).weights);
  const asReplay = await newShare((await train('replay')).weights);
  assert.ok(asReal < 0.05, `control: labelled background as the step's own images, the new class keeps ${asReal} of the pixels`);
  assert.ok(asReplay > 0.95, `as replay, the new class keeps only ${asReplay} of the pixels`);
});

test('FedProx: a large mu keeps the local weights near the global ones', async () => {
  const start = createSegmenterWeights(config, 3, 2);
  const base = { config, weights: start, numClasses: 3, real: data, seed: 1 };
  const hyper = { epochs: 2, batchSize: 3, learningRate: 1e-2, lossWeights: { contrastive: 0 } };
  const free = await trainLocalSegmenter({ ...base, hyper });
  const prox = await trainLocalSegmenter({ ...base, hyper: { ...hyper, fedproxMu: 50 } });
  const dFree = distance(free.weights, start);
  const dProx = distance(prox.weights, start);
  assert.ok(dProx < 0.8 * dFree, `distance with mu: ${dProx}, without: ${dFree}`);
});

test('an aborted signal stops training with an AbortError', async () => {
  const ctl = new AbortController();
  ctl.abort();
  await assert.rejects(
    trainLocalSegmenter({ config, weights: createSegmenterWeights(config, 3, 1), numClasses: 3, real: data, hyper: { epochs: 1, batchSize: 2, learningRate: 1e-3 }, signal: ctl.signal }),
    (e: Error) => e.name === 'AbortError',
  );
  await assert.rejects(
    trainLocalSegmenter({ config, weights: createSegmenterWeights(config, 3, 1), numClasses: 4, real: data, hyper: { epochs: 1, batchSize: 2, learningRate: 1e-3 } }),
    /head/,
  );
});

test('packed replay arrays unpack into samples without copies', () => {
  const images = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i);
  const labels = Uint8Array.of(0, 1, 255, 2, 1, 1, 0, 0);
  const s = unpackSamples(images, labels, { count: 2, channels: 3, height: 2, width: 2 });
  assert.equal(s.length, 2);
  assert.deepEqual([...s[1].label], [1, 1, 0, 0]);
  assert.equal(s[1].image[0], 12);
  assert.equal(s[1].image.buffer, images.buffer);
  assert.throws(() => unpackSamples(images, labels, { count: 3, channels: 3, height: 2, width: 2 }), /for 3 images/);
});
