import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../init/initializers';
import { realismReport } from './checks';
import { InferenceRunner } from '../infer/inference';
import { DiffusionSampler, exportDenoiser, SampleProgress, sampleImages } from './sample';
import { trainDiffusion } from './train';
import { createDiffusionWeights, DEFAULT_DIFFUSION_CONFIG, diffusionConfig } from './unet';

const S = 16;
const tiny = diffusionConfig({ imageSize: S, baseChannels: 16, channelMults: [1, 2], attentionResolutions: [8], groups: 4 });
const geo = { channels: 3, height: S, width: S };

/** Reddish images with a dark disk somewhere: simple, but with clear colour and texture statistics. */
function discs(n: number, seed: number): Float32Array[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const im = new Float32Array(3 * S * S);
    const base = [0.8, 0.3, 0.2].map((v) => v + (r() - 0.5) * 0.1);
    const cx = 4 + r() * 8;
    const cy = 4 + r() * 8;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const inside = (x - cx) ** 2 + (y - cy) ** 2 < 9;
        for (let c = 0; c < 3; c++) im[c * S * S + y * S + x] = inside ? base[c] * 0.3 : base[c];
      }
    }
    return im;
  });
}

test('weights: deterministic names and values per seed, the output head starts at zero', () => {
  const a = createDiffusionWeights(tiny, 7);
  const b = createDiffusionWeights(tiny, 7);
  const c = createDiffusionWeights(tiny, 8);
  assert.deepEqual([...a.keys()], [...b.keys()]);
  for (const [name, t] of a) assert.deepEqual(t.data, b.get(name)!.data, name);
  assert.notDeepEqual(a.get('in.weight')!.data, c.get('in.weight')!.data);
  for (const name of ['time.fc1.weight', 'down0.res0.conv1.weight', 'down1.attn0.qkv.weight', 'mid.attn.proj.bias', 'up0.res0.skip.weight', 'out.conv.weight']) {
    assert.ok(a.has(name), `missing ${name}`);
  }
  assert.ok(a.get('out.conv.weight')!.data.every((v) => v === 0));
  const d = createDiffusionWeights(DEFAULT_DIFFUSION_CONFIG, 1);
  assert.ok(d.size > a.size);
  assert.throws(() => diffusionConfig({ imageSize: 30 }), /multiple of 4/);
});

test('DDIM sampling: one image per (seed, index) whatever the batch size, progress reported, values in [0, 1]', async () => {
  const weights = createDiffusionWeights(tiny, 3);
  // give the zero head some weights so that the prediction depends on x and t
  const r = seededRandom(5);
  weights.set('out.conv.weight', { shape: weights.get('out.conv.weight')!.shape, data: weights.get('out.conv.weight')!.data.map(() => (r() - 0.5) * 0.05) });
  const progress: SampleProgress[] = [];
  const a = await sampleImages({ config: tiny, weights, count: 3, steps: 5, eta: 0.5, seed: 11, batchSize: 2, onProgress: (p) => progress.push(p) });
  const sampler = await DiffusionSampler.create(tiny, weights, { batchSize: 4 });
  const b = await sampler.sample({ count: 3, steps: 5, eta: 0.5, seed: 11 });
  const c = await sampler.sample({ count: 3, steps: 5, eta: 0.5, seed: 12 });
  // the exported ONNX denoiser predicts the same noise as the sampler's graph
  const x = Float32Array.from({ length: 4 * 3 * S * S }, () => r() * 2 - 1);
  const exported = await InferenceRunner.fromBytes(exportDenoiser(tiny, weights, 4));
  const viaBytes = (await exported.run({ x: { shape: [4, 3, S, S], data: x }, t: { shape: [4], data: new Float32Array(4).fill(321) } })).eps.data as Float32Array;
  const viaSampler = await sampler.predictNoise(x, 321);
  assert.ok(viaBytes.every((v, i) => Math.abs(v - viaSampler[i]) < 1e-5));
  assert.ok(viaBytes.some((v) => v !== 0));
  await exported.release();
  await sampler.release();
  assert.equal(a.length, 3 * 3 * S * S);
  let maxDiff = 0;
  for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
  assert.ok(maxDiff < 1e-4, `batch 2 vs batch 4 differ by ${maxDiff}`);
  assert.ok(a.some((v, i) => Math.abs(v - c[i]) > 1e-3), 'another seed gives other images');
  assert.ok(a.every((v) => v >= 0 && v <= 1));
  assert.equal(progress.length, 10); // 2 batches x 5 steps
  assert.deepEqual(progress.at(-1), { ...progress.at(-1)!, done: 10, total: 10, images: 3, count: 3 });
});

test('a tiny model trained briefly on simple images samples closer to the data than the untrained one', async () => {
  const images = discs(64, 1);
  const initial = createDiffusionWeights(tiny, 1);
  const steps: number[] = [];
  const result = await trainDiffusion({
    config: tiny, weights: initial, images, steps: 150, batchSize: 8, learningRate: 3e-3, emaDecay: 0.99, seed: 2,
    onProgress: (p) => steps.push(p.step),
  });
  assert.equal(steps.length, 150);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const [first, last] = [mean(result.losses.slice(0, 10)), mean(result.losses.slice(-10))];
  assert.ok(last < first / 3, `loss ${first} -> ${last}`);
  assert.ok(result.emaWeights.get('out.conv.weight')!.data.some((v) => v !== 0));

  const before = realismReport(await sampleImages({ config: tiny, weights: initial, count: 16, steps: 20, seed: 3 }), images, geo);
  const after = realismReport(await sampleImages({ config: tiny, weights: result.emaWeights, count: 16, steps: 20, seed: 3 }), images, geo);
  const colourGap = (r: typeof before) => ['mean_r', 'mean_g', 'mean_b', 'std_r', 'std_g', 'std_b'].reduce((a, k) => a + Math.abs(r.features[k].generated - r.features[k].real), 0);
  assert.ok(after.frechetDistance < before.frechetDistance / 2, `Frechet distance ${before.frechetDistance} -> ${after.frechetDistance}`);
  assert.ok(after.histogramDistance < before.histogramDistance, `histogram distance ${before.histogramDistance} -> ${after.histogramDistance}`);
  assert.ok(colourGap(after) < colourGap(before), `colour moments gap ${colourGap(before)} -> ${colourGap(after)}`);
  assert.ok(after.features.gradient_mean.gap < before.features.gradient_mean.gap, 'texture moves toward the data');
});
