import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../init/initializers';
import { fitImages } from './images';
import { replayGeneratorConfig } from './recipe';
import { DiffusionSampler, velocityToNoise } from './sample';
import { diffusionLossWeight, trainDiffusion } from './train';
import { createDiffusionWeights, diffusionConfig, diffusionGeometry } from './unet';

const close = (a: number, b: number, tol: number, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} != ${b}`);

test('velocity: eps = sqrt(abar) v + sqrt(1 - abar) x_t recovers the noise of x_t = sqrt(abar) x0 + sqrt(1 - abar) eps', () => {
  const ab = 0.36; // sqrt 0.6, sqrt(1 - ab) 0.8
  const x0 = Float32Array.of(0.5, -1, 0.25);
  const eps = Float32Array.of(1, 0.5, -2);
  const xt = x0.map((v, i) => 0.6 * v + 0.8 * eps[i]);
  const v = x0.map((x, i) => 0.6 * eps[i] - 0.8 * x);
  const back = velocityToNoise(Float32Array.from(v), xt, ab);
  eps.forEach((e, i) => close(back[i], e, 1e-6, `eps ${i}`));
});

test('min-SNR weights by hand: snr 1 and 99, gamma 5, on the noise and on the velocity', () => {
  assert.equal(diffusionLossWeight(0.5, 'eps', 'uniform'), 1);
  close(diffusionLossWeight(0.5, 'eps', 'min-snr'), 1, 1e-12); // min(1, 5) / 1
  close(diffusionLossWeight(0.5, 'v', 'min-snr'), 0.5, 1e-12); // min(1, 5) / 2
  close(diffusionLossWeight(0.99, 'eps', 'min-snr'), 5 / 99, 1e-9); // min(99, 5) / 99
  close(diffusionLossWeight(0.99, 'v', 'min-snr'), 5 / 100, 1e-9); // min(99, 5) / 100
  close(diffusionLossWeight(0.99, 'v', 'min-snr', 200), 99 / 100, 1e-9);
});

test('non-square generator: geometry, validation, crop to the target aspect ratio', () => {
  const c = replayGeneratorConfig([48, 64]);
  assert.deepEqual(diffusionGeometry(c), { channels: 3, height: 24, width: 32 });
  assert.equal(c.prediction, 'v');
  assert.throws(() => diffusionConfig({ imageSize: 24, imageWidth: 30 }), /imageWidth 30 must be a multiple of 4/);
  assert.throws(() => diffusionConfig({ prediction: 'x0' as 'v' }), /prediction must be 'eps' or 'v'/);
  // 1 channel 2x6 frame -> 1x2: the centred 2x4 region (values 1..4 in columns 1..4), block-averaged
  const frame = Float32Array.of(9, 1, 2, 3, 4, 9, 9, 1, 2, 3, 4, 9);
  assert.deepEqual([...fitImages([frame], { channels: 1, height: 2, width: 6 }, { height: 1, width: 2 })[0]], [1.5, 3.5]);
  assert.deepEqual([...fitImages([frame], { channels: 1, height: 2, width: 6 }, { height: 1, width: 3 }, 'squash')[0]], [5, 2.5, 6.5]);
});

test('v-prediction with min-SNR on non-square images: the loss falls, the sampler runs; a time budget stops training', async () => {
  const config = diffusionConfig({ imageSize: 8, imageWidth: 12, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4, prediction: 'v' });
  const r = seededRandom(3);
  const images = Array.from({ length: 8 }, () => Float32Array.from({ length: 3 * 8 * 12 }, (_, i) => (i < 96 ? 0.8 : 0.3) + 0.05 * r()));
  // Checkpoints see the weights of that step (a copy taken there differs from the final EMA).
  const seen: { step: number; ema: Float32Array }[] = [];
  const res = await trainDiffusion({
    config, images, steps: 40, batchSize: 4, learningRate: 3e-3, lossWeighting: 'min-snr', seed: 2, checkpoints: [10, 25, 99],
    onCheckpoint: async (step, weights, ema) => {
      assert.equal(weights.size, ema.size);
      seen.push({ step, ema: ema.get('out.conv.weight')!.data.slice() });
    },
  });
  assert.equal(res.steps, 40);
  assert.deepEqual(seen.map((s) => s.step), [10, 25]);
  assert.notDeepEqual(seen[0].ema, seen[1].ema);
  assert.notDeepEqual(seen[1].ema, res.emaWeights.get('out.conv.weight')!.data);
  assert.ok(res.losses.every(Number.isFinite));
  const head = res.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
  const tail = res.losses.slice(-5).reduce((a, b) => a + b) / 5;
  assert.ok(tail < head, `loss ${head} -> ${tail}`);
  const sampler = await DiffusionSampler.create(config, res.emaWeights, { batchSize: 2 });
  const out = await sampler.sample({ count: 2, steps: 4 });
  await sampler.release();
  assert.equal(out.length, 2 * 3 * 8 * 12);
  assert.ok(out.every((v) => v >= 0 && v <= 1));
  // A budget far shorter than 100000 steps stops the run (the step count is only an upper bound).
  const timed = await trainDiffusion({ config, images, steps: 100000, maxSeconds: 0.5, batchSize: 4, seed: 2, weights: res.weights });
  assert.ok(timed.steps >= 1 && timed.steps < 100000, `${timed.steps} steps`);
  assert.equal(timed.losses.length, timed.steps);
  assert.throws(() => createDiffusionWeights(diffusionConfig({ imageSize: 8, imageWidth: 7, channelMults: [1, 2] })), /imageWidth 7 must be a multiple of 2/);
});
