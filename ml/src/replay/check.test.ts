import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../init/initializers';
import { createSegmenterWeights, segmenterConfig } from '../segmentation/network';
import { predictSegmentation } from '../segmentation/predict';
import { noiseImages, paletteNoiseImages, replayFidelity } from './fidelity';
import { diffusionConfig } from '../diffusion/unet';
import { replayCheck, untrainedSamples } from './check';

const config = segmenterConfig({ width: 4, depth: 1, inputSize: [8, 8], embedDim: 4, groups: 2 });

test('replay check: a generator of pure noise is skipped even when its raw fidelity clears the absolute threshold', async () => {
  const r = seededRandom(4);
  const teacher = { config, weights: createSegmenterWeights(config, 3, 2), numClasses: 3 };
  const real = Array.from({ length: 4 }, () => ({ image: Float32Array.from({ length: 3 * 64 }, () => r()), height: 8, width: 8 }));
  const truth = await predictSegmentation(teacher, real);
  const test_ = real.map((s, i) => ({ ...s, label: truth[i].labels }));
  // "Generated" images that are noise of another seed: they teach what the floor's noise teaches.
  const images = noiseImages(6, { channels: 3, height: 8, width: 8 }, 77);
  const c = await replayCheck({ teacher, images, test: test_, student: { steps: 20, batchSize: 2 }, confidenceThreshold: 0, threshold: 0.01, seed: 5 });
  // The old rule (fidelity >= threshold) would have used this replay.
  assert.ok(c.generator.fidelity >= 0.01, `raw fidelity ${c.generator.fidelity}`);
  assert.equal(c.skip, true, c.reason);
  assert.match(c.reason, /not above teacher-labelled noise/);
  // The decision is the stated rule on the reported figures.
  assert.equal(c.skip, c.generator.fidelity < c.noise.fidelity + c.margin);
  assert.ok(c.noiseSeconds >= 0);
  // The noise student was scored against the same teacher.
  assert.equal(c.noise.teacherMiou, c.generator.teacherMiou);
  // With the margin below minus any fidelity gap, the same images pass the floor; the absolute threshold still applies.
  const lax = await replayCheck({ teacher, images, test: test_, student: { steps: 20, batchSize: 2 }, confidenceThreshold: 0, threshold: 0, margin: -1, seed: 5 });
  assert.equal(lax.skip, false, lax.reason);
  const strict = await replayCheck({ teacher, images, test: test_, student: { steps: 20, batchSize: 2 }, confidenceThreshold: 0, threshold: 1.5, margin: -1, seed: 5 });
  assert.equal(strict.skip, true);
  assert.match(strict.reason, /below the threshold 1.5/);
  await assert.rejects(replayCheck({ teacher, images: [], test: test_, seed: 1 }), /no generated images/);
});

test('replay fidelity with soft labels: the student distils the teacher on every pixel', async () => {
  const r = seededRandom(9);
  // A confident teacher (a fresh one's outputs are near uniform: nothing to distil): head x 20.
  const weights = createSegmenterWeights(config, 3, 2);
  const head = weights.get('head.weight')!;
  weights.set('head.weight', { shape: head.shape, data: head.data.map((v) => 20 * v) });
  const teacher = { config, weights, numClasses: 3 };
  const real = Array.from({ length: 3 }, () => ({ image: Float32Array.from({ length: 3 * 64 }, () => r()), height: 8, width: 8 }));
  const truth = await predictSegmentation(teacher, real);
  const test_ = real.map((s, i) => ({ ...s, label: truth[i].labels }));
  const soft = await replayFidelity({ teacher, images: real, test: test_, labels: 'soft', student: { steps: 300, batchSize: 3, learningRate: 3e-2 }, seed: 3 });
  const untrained = await replayFidelity({ teacher, images: real, test: test_, labels: 'soft', student: { steps: 1, batchSize: 3 }, seed: 3 });
  assert.equal(soft.labelledFraction, 1);
  // Distilling the teacher on the very images it is scored on: the student agrees with it on most pixels.
  assert.ok(soft.studentMiou > untrained.studentMiou + 0.2, `student mIoU ${soft.studentMiou} after 300 steps, ${untrained.studentMiou} after 1`);
});

test('palette noise: every pixel is the colour triple of some real pixel; no shape survives; clear errors', () => {
  // Two 2x2 real images with distinct colours per pixel (channel-planar).
  const real = [
    { image: Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 0.0, 0.15), height: 2, width: 2 },
    { image: Float32Array.of(0.25, 0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 0.05, 0.12, 0.22, 0.32), height: 2, width: 2 },
  ];
  const triples = new Set(real.flatMap((r) => [0, 1, 2, 3].map((p) => [0, 1, 2].map((c) => r.image[c * 4 + p]).join(','))));
  const out = paletteNoiseImages(5, { channels: 3, height: 3, width: 4 }, 11, real);
  assert.equal(out.length, 5);
  const seen = new Set<string>();
  for (const im of out) {
    assert.deepEqual([im.height, im.width, im.image.length], [3, 4, 36]);
    for (let p = 0; p < 12; p++) {
      const t = [0, 1, 2].map((c) => im.image[c * 12 + p]).join(',');
      assert.ok(triples.has(t), `pixel ${p}: ${t} is not a real pixel's colour`);
      seen.add(t);
    }
  }
  assert.ok(seen.size >= 6, `60 draws from 8 colours used ${seen.size}`);
  assert.deepEqual(paletteNoiseImages(2, { channels: 3, height: 3, width: 4 }, 11, real), out.slice(0, 2), 'the same seed, the same images');
  assert.throws(() => paletteNoiseImages(1, { channels: 3, height: 2, width: 2 }, 1, []), /no real images/);
  assert.throws(() => paletteNoiseImages(1, { channels: 3, height: 2, width: 2 }, 1, [{ image: new Float32Array(5), height: 2, width: 2 }]), /has 5 values, expected 3 x 2 x 2/);
});

test('untrained samples: the generator with fresh weights, drawn as replay draws them; same seed, same images', async () => {
  const gen = diffusionConfig({ imageSize: 8, imageWidth: 12, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4, prediction: 'v' });
  const a = await untrainedSamples(gen, 3, 4, 7);
  assert.equal(a.length, 3);
  for (const im of a) {
    assert.deepEqual([im.height, im.width, im.image.length], [8, 12, 3 * 8 * 12]);
    assert.ok(im.image.every((v) => v >= 0 && v <= 1));
  }
  assert.deepEqual(await untrainedSamples(gen, 3, 4, 7), a);
  assert.notDeepEqual((await untrainedSamples(gen, 1, 4, 8))[0].image, a[0].image);
});
