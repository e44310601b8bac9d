/** Pins the loss values of a fixed seed and batch to those the recipe gave before the loss-term
 * table (commit "loss-term table:"): a refactor of the training loop or of the table that changes
 * a feed, a weight or the order of the weighted sum shows up here. Float32 sums on ORT's CPU kernels;
 * the tolerance leaves room for a different thread count, not for a changed term. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { growHead } from '../segmentation/head';
import { createSegmenterWeights, segmenterConfig } from '../segmentation/network';
import { shapeScenes } from './synthetic-shapes';
import { distillOnImages } from './distill';
import { trainLocalSegmenter } from './train';

const S = 16;
const config = segmenterConfig({ width: 4, depth: 1, inputSize: [S, S], embedDim: 4, groups: 2 });
const teacher = { weights: createSegmenterWeights(config, 3, 1), numClasses: 3 };
const start = growHead(createSegmenterWeights(config, 3, 2), 3, 4);

function assertClose(got: Readonly<Record<string, number>>, want: Readonly<Record<string, number>>, what: string): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort(), `${what}: loss terms`);
  for (const [k, v] of Object.entries(want)) {
    assert.ok(Math.abs(got[k] - v) <= 1e-5 * Math.max(1, Math.abs(v)), `${what}: ${k} = ${got[k]}, pinned ${v}`);
  }
}

test('local training: every loss term and the total of the first two steps of a fixed seed and batch', async () => {
  const seen: Record<string, number>[] = [];
  await trainLocalSegmenter({
    config,
    weights: start,
    numClasses: 4,
    teacher,
    real: shapeScenes(4, { size: S, draw: [3, 1], annotate: [3], seed: 11 }),
    replay: shapeScenes(2, { size: S, draw: [1, 2], annotate: [1, 2], seed: 12 }),
    hyper: { epochs: 1, stepsPerEpoch: 2, batchSize: 4, learningRate: 1e-2, contrastiveSamples: 16, fedproxMu: 0.5, pseudoLabelUnconfident: 'background', lossWeights: { unbiasedCe: 0.5, replayCe: 0.25, contrastive: 0.2 } },
    seed: 7,
    onProgress: (p) => seen.push({ ...p.losses }),
  });
  assertClose(seen[0], PINNED_LOCAL[0], 'step 1');
  assertClose(seen[1], PINNED_LOCAL[1], 'step 2');
  // the total is the weighted sum (defaults ce 1, kd 1, pod 0.5; given unbiasedCe 0.5, replayCe 0.25, contrastive 0.2, mu 0.5)
  const l = seen[1];
  assert.ok(Math.abs(l.total - (l.ce + 0.5 * l.unbiasedCe + 0.25 * l.replayCe + l.kd + 0.5 * l.pod + 0.2 * l.contrastive + 0.5 * l.prox)) < 1e-5);
});

test('server distillation: every loss term and the total of the first two steps of a fixed seed', async () => {
  const r = await distillOnImages({
    config,
    student: { weights: start, numClasses: 4 },
    teacher,
    images: shapeScenes(4, { size: S, draw: [1, 2, 3], annotate: [], seed: 13 }),
    steps: 2,
    batchSize: 2,
    learningRate: 1e-2,
    lossWeights: { kd: 1, keepNew: 0.5, pod: 0.25 },
    seed: 5,
  });
  assertClose(r.losses[0], PINNED_DISTILL[0], 'step 1');
  assertClose(r.losses[1], PINNED_DISTILL[1], 'step 2');
});

/** Measured on the code before the table (train.ts of commit 18a2317), then re-measured when the
 * replay images' cross-entropy became a term of its own (replayCe; before, one mean pooled them with
 * the step's images): step 1's kd, pod and contrastive are 18a2317's to the last digit. */
const PINNED_LOCAL: Record<string, number>[] = [
  { ce: 1.7353323698043823, unbiasedCe: 0.33461979031562805, replayCe: 1.0883128643035889, kd: 0.07057702541351318, pod: 3.6911778450012207, contrastive: 3.4794535636901855, prox: 0, total: 4.786777019500732 },
  { ce: 1.6559251546859741, unbiasedCe: 0.3421473205089569, replayCe: 1.0056158304214478, kd: 0.07352025806903839, pod: 3.602821111679077, contrastive: 4.081338882446289, prox: 0.08937621861696243, total: 4.814289569854736 },
];
const PINNED_DISTILL: Record<string, number>[] = [
  { kd: 0.06682688742876053, keepNew: 4.8290091925196066e-9, pod: 3.53771710395813, total: 0.9512561559677124 },
  { kd: 0.053911637514829636, keepNew: 0.0018591796979308128, pod: 3.4799861907958984, total: 0.9248377680778503 },
];
