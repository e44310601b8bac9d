import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { seededRandom } from '../init/initializers';
import { decodePng, encodePng, planarToPng, pngToPlanar } from '../images/png';
import { ensureReplaySet, ReplayLabeller, loadReplaySet, pseudoLabels, replayKey, weightsDigest } from './replay';
import { IGNORE_LABEL } from '../nn/losses';
import { createDiffusionWeights, diffusionConfig } from './unet';

const S = 8;
const config = diffusionConfig({ imageSize: S, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4 });

test('PNG: grey and RGB round trips; every filter type decodes', () => {
  const r = seededRandom(1);
  const grey = Uint8Array.from({ length: 5 * 3 }, () => Math.floor(r() * 256));
  assert.deepEqual(decodePng(encodePng({ width: 5, height: 3, channels: 1, data: grey })), { width: 5, height: 3, channels: 1, data: grey });
  const rgb = Float32Array.from({ length: 3 * 4 * 6 }, () => Math.round(r() * 255) / 255);
  const back = pngToPlanar(planarToPng(rgb, 3, 4, 6));
  assert.equal(back.channels, 3);
  back.image.forEach((v, i) => assert.ok(Math.abs(v - rgb[i]) < 1e-6));
  // hand-filtered scanlines, one per filter type (sub, up, average, paeth) after a plain row
  const W = 4;
  const rows = [0, 1, 2, 3, 4].map((y) => Uint8Array.from({ length: W }, (_, x) => (x * 37 + y * 91 + x * y * 13) & 0xff));
  const raw: number[] = [0, ...rows[0]];
  for (let y = 1; y < rows.length; y++) {
    raw.push(y);
    for (let x = 0; x < W; x++) {
      const a = x > 0 ? rows[y][x - 1] : 0;
      const b = rows[y - 1][x];
      const c = x > 0 ? rows[y - 1][x - 1] : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][y];
      raw.push((rows[y][x] - pred) & 0xff);
    }
  }
  const png = encodePng({ width: W, height: 5, channels: 1, data: new Uint8Array(W * 5) });
  // swap in our IDAT: signature(8) + IHDR(25) | IDAT | IEND
  const idat = deflateSync(Buffer.from(raw));
  const head = png.subarray(0, 33);
  const chunk = Buffer.alloc(12 + idat.length);
  chunk.writeUInt32BE(idat.length, 0);
  chunk.write('IDAT', 4, 'ascii');
  idat.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + idat.length)), 8 + idat.length);
  const decoded = decodePng(Buffer.concat([head, chunk, png.subarray(png.length - 12)]));
  assert.deepEqual(decoded.data, Uint8Array.from(rows.flatMap((row) => [...row])));
});

test('pseudo-labels: argmax of the probabilities, low-confidence pixels ignored', () => {
  // 1 image, 3 classes, 1x2 pixels (class-major): pixel 0 is class 2 at 0.8, pixel 1 class 0 at 0.4
  const probabilities = Float32Array.of(0.05, 0.4, 0.15, 0.35, 0.8, 0.25);
  assert.deepEqual([...pseudoLabels({ probabilities, classes: 3 }, 1, 1, 2, 0.7)], [2, IGNORE_LABEL]);
  assert.deepEqual([...pseudoLabels({ probabilities, classes: 3 }, 1, 1, 2, 0.3)], [2, 0]);
  const labels = Int32Array.of(1, 4, 0, 300);
  assert.deepEqual([...pseudoLabels({ labels, confidence: Float32Array.of(0.9, 0.2, 0.8, 0.99) }, 1, 2, 2, 0.5)], [1, IGNORE_LABEL, 0, IGNORE_LABEL]);
});

test('a replay set is generated, labelled by the teacher callback, stored, and reused while its key matches', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'replay-'));
  try {
    const weights = createDiffusionWeights(config, 2);
    const calls: number[] = [];
    // a fake teacher: class 1 where red is bright, class 0 where dark, unsure in between
    const labeller: ReplayLabeller = async (images, count, size) => {
      calls.push(count);
      const hw = size.height * size.width;
      const probabilities = new Float32Array(count * 2 * hw);
      for (let n = 0; n < count; n++) {
        for (let i = 0; i < hw; i++) {
          const red = images[n * size.channels * hw + i];
          probabilities[n * 2 * hw + hw + i] = red;
          probabilities[n * 2 * hw + i] = 1 - red;
        }
      }
      return { probabilities, classes: 2 };
    };
    const training = Array.from({ length: 6 }, (_, k) => new Float32Array(3 * S * S).fill(0.1 + k * 0.15));
    const key = replayKey({ step: 1, teacherId: 'teacher-a', generatorWeights: weights, count: 5, samplingSteps: 4 });
    const phases = new Set<string>();
    const set = await ensureReplaySet({
      dir: join(dir, 'step-1'), key, step: 1, config, weights, count: 5, samplingSteps: 4, labeller, batchSize: 2,
      confidenceThreshold: 0.7, trainingImages: training, onProgress: (p) => phases.add(p.phase),
    });
    assert.equal(set.reused, false);
    assert.deepEqual(calls, [2, 2, 1]);
    assert.deepEqual([...phases].sort(), ['checking', 'labelling', 'sampling', 'writing']);
    assert.equal(set.manifest.count, 5);
    assert.equal(set.images.length, 5 * 3 * S * S);
    // labels follow the teacher and the threshold
    for (let n = 0; n < 5; n++) {
      for (let i = 0; i < S * S; i++) {
        const red = set.images[n * 3 * S * S + i];
        const want = red >= 0.7 ? 1 : 1 - red >= 0.7 ? 0 : IGNORE_LABEL;
        assert.equal(set.labels[n * S * S + i], want);
      }
    }
    const m = set.manifest;
    assert.ok(m.checks && m.checks.privacy.nearestDistance.length === 5 && Number.isFinite(m.checks.realism.frechetDistance));
    assert.equal(Object.values(m.labelHistogram).reduce((a, b) => a + b, 0), 5 * S * S);
    assert.deepEqual((await readdir(join(dir, 'step-1', 'images'))).length, 5);
    assert.equal(JSON.parse(await readFile(join(dir, 'step-1', 'manifest.json'), 'utf8')).key, key);

    const again = await ensureReplaySet({ dir: join(dir, 'step-1'), key, step: 1, config, weights, count: 5, samplingSteps: 4, labeller, batchSize: 2 });
    assert.equal(again.reused, true);
    assert.equal(calls.length, 3, 'the teacher is not asked again');
    assert.deepEqual(again.images, set.images);
    assert.deepEqual(again.labels, set.labels);

    // another teacher: another key, so the set is made anew
    const key2 = replayKey({ step: 1, teacherId: 'teacher-b', generatorWeights: weightsDigest(weights), count: 5, samplingSteps: 4 });
    assert.notEqual(key2, key);
    assert.equal(await loadReplaySet(join(dir, 'step-1'), key2), null);
    const fresh = await ensureReplaySet({ dir: join(dir, 'step-1'), key: key2, step: 1, config, weights, count: 5, samplingSteps: 4, labeller, batchSize: 8 });
    assert.equal(fresh.reused, false);
    assert.equal(calls.length, 4);
    assert.equal(fresh.manifest.checks, null);
    assert.equal((await loadReplaySet(join(dir, 'step-1')))?.manifest.key, key2);
    assert.deepEqual((await readdir(dir)).sort(), ['step-1']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a replay sample that copies a training image is left out and reported', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'replay-'));
  try {
    const weights = createDiffusionWeights(config, 2);
    const labeller: ReplayLabeller = async (_images, count, size) => ({ labels: new Uint8Array(count * size.height * size.width) });
    const probe = await ensureReplaySet({ dir: join(dir, 'probe'), key: 'probe', step: 1, config, weights, count: 4, samplingSteps: 3, labeller });
    // plant generated image 2 among the "training" images: the check must catch it
    const px = 3 * S * S;
    const r = seededRandom(4);
    const training = [...Array.from({ length: 5 }, () => Float32Array.from({ length: px }, () => r())), probe.images.slice(2 * px, 3 * px)];
    const set = await ensureReplaySet({ dir: join(dir, 'checked'), key: 'checked', step: 1, config, weights, count: 4, samplingSteps: 3, labeller, trainingImages: training });
    assert.deepEqual(set.manifest.dropped, [2]);
    assert.equal(set.manifest.count, 3);
    assert.equal(set.manifest.checks!.privacy.flagged[0].trainingIndex, 5);
    assert.match(set.manifest.checks!.privacy.warnings[0], /memorised/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a replay set drawn from a pool keeps the images balanced over the classes the teacher labels', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'replay-'));
  try {
    const weights = createDiffusionWeights(config, 2);
    // A fake teacher that labels the j-th image it is shown all class 2 when j = 4 (rare), else
    // class j % 2: pool classes 0,1,0,1,2,1,0,1.
    const teacher = (): ReplayLabeller => {
      let seen = 0;
      return async (_images, count, size) => {
        const hw = size.height * size.width;
        const labels = new Uint8Array(count * hw);
        for (let n = 0; n < count; n++, seen++) labels.fill(seen === 4 ? 2 : seen % 2, n * hw, (n + 1) * hw);
        return { labels };
      };
    };
    const common = { step: 1, config, weights, samplingSteps: 3, batchSize: 8 };
    const all = await ensureReplaySet({ ...common, dir: join(dir, 'all'), key: 'all', count: 8, labeller: teacher() });
    const set = await ensureReplaySet({ ...common, dir: join(dir, 'pool'), key: 'pool', count: 3, pool: 8, labeller: teacher() });
    // The rare class 2 first (image 4), then class 0 (fewer pool images than class 1: image 0), then class 1 (image 1).
    const px = 3 * S * S;
    assert.deepEqual([set.manifest.count, set.manifest.pool], [3, 8]);
    assert.deepEqual(set.images, Float32Array.from([...all.images.subarray(0, 2 * px), ...all.images.subarray(4 * px, 5 * px)]));
    assert.deepEqual([0, 1, 2].map((n) => set.labels[n * S * S]), [0, 1, 2]);
    assert.equal(all.manifest.pool, undefined);
    // A pool changes the key; no pool, or a pool of count, does not.
    const parts = { step: 1, teacherId: 't', generatorWeights: 'g', count: 3 };
    assert.notEqual(replayKey({ ...parts, pool: 8 }), replayKey(parts));
    assert.equal(replayKey({ ...parts, pool: 3 }), replayKey(parts));
    await assert.rejects(ensureReplaySet({ ...common, dir: join(dir, 'bad'), key: 'bad', count: 3, pool: 2, labeller: teacher() }), /pool must be an integer >= count 3, got 2/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
