// `site-agent predict` on DSAD-size frames (1280x1024) and a smaller one: label maps and overlays at
// each frame's own size, consistent with the model's own output, and clear errors for bad input.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { argmaxLabels, createSegmenterWeights, exportSegmenterOnnx, gaussian, InferenceRunner, rgbOf, seededRandom, segmenterConfig, type ModelClass } from '@fedciss/ml';
import { hwcToChw } from '../data/dataset';
import { decodeRgbResized } from '../data/png';
import { register, type PredictContext } from '../cli/commands/predict.command';
import { predictFolder } from './predict-folder';

const config = segmenterConfig({ width: 8, depth: 2, inputSize: [48, 64], embedDim: 8, groups: 4 });
const classes: ModelClass[] = [
  { id: 0, name: 'background', color: '#000000' },
  { id: 1, name: 'liver', color: '#ff0000' },
  { id: 2, name: 'colon', color: '#00ff00' },
];
const dir = mkdtempSync(join(tmpdir(), 'predict-'));
const frames = join(dir, 'frames');
const modelPath = join(dir, 'model.onnx');
const SIZES = [[1280, 1024], [1280, 1024], [640, 512]] as const;

/** A smooth colour field with a bright blob: enough structure for the model to give several classes. */
function frame(width: number, height: number, seed: number): Buffer {
  const out = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const u = x / width;
      const v = y / height;
      const blob = Math.exp(-(((u - 0.3 - 0.2 * seed) ** 2 + (v - 0.5) ** 2) * 20));
      const i = (y * width + x) * 3;
      out[i] = Math.round(255 * Math.min(1, 0.2 + 0.7 * blob));
      out[i + 1] = Math.round(255 * (0.3 + 0.4 * u * v));
      out[i + 2] = Math.round(255 * (0.6 - 0.4 * u));
    }
  }
  return out;
}

before(async () => {
  const weights = createSegmenterWeights(config, 3, 4);
  const rand = seededRandom(9);
  for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.3 * gaussian(rand);
  const provenance = {
    classes, version: 'seg-1-test', lineage: ['seg-0-test'], federation: 'test', step: 1, round: null,
    createdAt: new Date(0).toISOString(), exportedAt: new Date(0).toISOString(), weightsSha256: '0'.repeat(64),
  };
  writeFileSync(modelPath, exportSegmenterOnnx(weights, config, 3, { provenance }).bytes);
  mkdirSync(frames);
  for (const [i, [w, h]] of SIZES.entries()) await sharp(frame(w, h, i), { raw: { width: w, height: h, channels: 3 } }).png().toFile(join(frames, `image${i}.png`));
  writeFileSync(join(frames, 'notes.txt'), 'not a frame');
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('label maps and overlays at each frame\'s size, matching the model\'s own prediction', async () => {
  const out = join(dir, 'out');
  const r = await predictFolder({ model: modelPath, images: frames, out, batch: 2, alpha: 0.5 });
  assert.equal(r.frames, 3);
  assert.equal(r.model, 'seg-1-test');
  assert.ok(r.framesPerSecond > 0 && r.modelFramesPerSecond >= r.framesPerSecond);
  const [H, W] = config.inputSize;
  const runner = await InferenceRunner.fromBytes(readFileSync(modelPath));
  let sawClass = false;
  for (const [i, o] of r.outputs.entries()) {
    const [w, h] = SIZES[i];
    assert.deepEqual([o.width, o.height], [w, h]);
    const meta = await sharp(o.labels).metadata();
    assert.deepEqual([meta.width, meta.height, meta.channels], [w, h, 1], 'a one-channel PNG: grey value = class id');
    const labels = await sharp(o.labels).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    // The model's own prediction at its input size: class shares must agree with the full-size map
    // (nearest resizing keeps them up to the pixels at class borders).
    const x = Float32Array.from(hwcToChw(await decodeRgbResized(join(frames, `image${i}.png`), W, H), W, H), (v) => v / 255);
    const small = argmaxLabels((await runner.run({ image: { shape: [1, 3, H, W], data: x } })).logits.data as Float32Array, 1, 3, H * W);
    for (let k = 0; k < 3; k++) {
      const shareSmall = small.filter((v) => v === k).length / small.length;
      const shareFull = labels.data.filter((v) => v === k).length / labels.data.length;
      assert.ok(Math.abs(shareSmall - shareFull) < 0.03, `frame ${i}, class ${k}: ${shareSmall} at ${W}x${H} vs ${shareFull} at ${w}x${h}`);
      if (k > 0 && shareFull > 0) sawClass = true;
    }
    // Overlay: the frame where the label is background, the class colour blended in elsewhere.
    const ov = await sharp(o.overlay).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([ov.info.width, ov.info.height, ov.info.channels], [w, h, 3]);
    const original = frame(w, h, i);
    for (let p = 0; p < w * h; p += 997) {
      const k = labels.data[p];
      const color = rgbOf(classes[k].color);
      for (let c = 0; c < 3; c++) {
        const want = k === 0 ? original[p * 3 + c] : Math.round(0.5 * original[p * 3 + c] + 0.5 * color[c]);
        assert.ok(Math.abs(ov.data[p * 3 + c] - want) <= 1, `frame ${i} pixel ${p} channel ${c}: ${ov.data[p * 3 + c]} vs ${want}`);
      }
    }
  }
  await runner.release();
  assert.ok(sawClass, 'the perturbed model predicts some non-background class (else the overlay check is empty)');
  assert.equal(Object.values(r.pixels).reduce((a, b) => a + b, 0), SIZES.reduce((a, [w, h]) => a + w * h, 0));
});

test('bad input is named: a model without metadata, a folder without frames, a missing model, a broken frame', async () => {
  const bare = join(dir, 'bare.onnx');
  writeFileSync(bare, exportSegmenterOnnx(createSegmenterWeights(config, 3, 1), config, 3).bytes);
  await assert.rejects(predictFolder({ model: bare, images: frames, out: join(dir, 'o2'), batch: 1, alpha: 0.5 }), /bare\.onnx: the model has no 'fedciss\.version' metadata/);
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  await assert.rejects(predictFolder({ model: modelPath, images: empty, out: join(dir, 'o3'), batch: 1, alpha: 0.5 }), /holds no \.png or \.jpg frames/);
  await assert.rejects(predictFolder({ model: join(dir, 'nope.onnx'), images: frames, out: join(dir, 'o4'), batch: 1, alpha: 0.5 }), /cannot read the model .*nope\.onnx/);
  const broken = join(dir, 'broken');
  mkdirSync(broken);
  writeFileSync(join(broken, 'image7.png'), 'not a png at all');
  await assert.rejects(predictFolder({ model: modelPath, images: broken, out: join(dir, 'o5'), batch: 1, alpha: 0.5 }), /frame .*broken\/image7\.png: /);
});

test('predict parses its flags into a typed context', async () => {
  const seen: PredictContext[] = [];
  const program = () => new Command('site-agent').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  const p = program();
  register(p, async (ctx) => (seen.push(ctx), undefined as never));
  p.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => undefined }));
  await p.parseAsync(['node', 'x', 'predict', '--model', 'm.onnx', '--images', 'in', '--out', 'o', '--batch', '8', '--alpha', '0.3', '--threads', '2'], { from: 'node' });
  assert.deepEqual(seen[0], { model: 'm.onnx', images: 'in', out: 'o', batch: 8, alpha: 0.3, json: false, runtime: { threads: 2 } });
  for (const bad of [['--batch', '0'], ['--alpha', '2'], ['--threads', 'x']]) {
    const q = program();
    register(q, async () => assert.fail('action must not run'));
    q.commands.forEach((c) => c.exitOverride().configureOutput({ writeErr: () => undefined }));
    await assert.rejects(q.parseAsync(['node', 'x', 'predict', '--model', 'm', '--images', 'i', '--out', 'o', ...bad], { from: 'node' }), /must/);
  }
});
