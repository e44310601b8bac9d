import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePng } from '@fedciss/ml/images';
import { parseArgs } from './cli';
import { labelledGrid } from './grid';

test('bench:replay options: defaults, values, JSON objects, clear errors', () => {
  const d = parseArgs([]);
  assert.equal(d.quick, false);
  assert.equal(d.seeds, 3);
  assert.equal(d.baselines, true);
  const o = parseArgs(['--quick', '--seeds', '3', '--json=out/r.json', '--generator-steps', '1500', '--generator', '{"baseChannels":16}', '--no-baselines']);
  assert.deepEqual([o.quick, o.seeds, o.json, o.generatorSteps, o.generator, o.baselines], [true, 3, 'out/r.json', 1500, { baseChannels: 16 }, false]);
  assert.throws(() => parseArgs(['--seeds', '0']), /--seeds must be a positive integer, got '0'/);
  assert.throws(() => parseArgs(['--generator', '[1]']), /--generator: expected a JSON object/);
  assert.throws(() => parseArgs(['--json']), /--json needs a value/);
  assert.throws(() => parseArgs(['--fast']), /unknown option '--fast'/);
  const c = parseArgs(['--generator-steps', '800', '--eval-at', '200,400', '--sampling-steps', '50', '--eta', '1']);
  assert.deepEqual([c.evalAt, c.samplingSteps, c.eta], [[200, 400], 50, 1]);
  assert.throws(() => parseArgs(['--eval-at', '200']), /--eval-at needs --generator-steps/);
  assert.throws(() => parseArgs(['--generator-steps', '300', '--eval-at', '200,300']), /every point must be below --generator-steps 300/);
  assert.throws(() => parseArgs(['--eta', '2']), /--eta must be a number in \[0, 1\], got '2'/);
  // Defaults: what session 3 found meaningful (soft labels, the untrained generator's floor, 3 seeds).
  assert.deepEqual([d.labels, d.floorSeeds, d.floor, d.clip], ['soft', 3, 'untrained', undefined]);
  assert.equal(parseArgs(['--labels', 'hard']).labels, 'hard');
  assert.deepEqual([d.ceiling, parseArgs(['--ceiling']).ceiling], [false, true]);
  const l = parseArgs(['--load-generator', 'g.safetensors', '--labels', 'soft', '--floor-seeds', '3', '--clip', '0', '--sampling-steps', '10']);
  assert.deepEqual([l.loadGenerator, l.labels, l.floorSeeds, l.clip, l.samplingSteps], [['g.safetensors'], 'soft', 3, 0, 10]);
  assert.deepEqual(parseArgs(['--load-generator', 'a,b,c', '--seeds', '3']).loadGenerator, ['a', 'b', 'c']);
  assert.throws(() => parseArgs(['--load-generator', 'a,b', '--seeds', '3']), /--load-generator: 2 files for --seeds 3/);
  assert.throws(() => parseArgs(['--generator-steps', '5', '--generator-seconds', '5']), /give one budget/);
  assert.equal(parseArgs(['--generator-steps', '600', '--save-generator', 'g.safetensors']).saveGenerator, 'g.safetensors');
  assert.throws(() => parseArgs(['--labels', 'fuzzy']), /--labels must be one of hard, soft, got 'fuzzy'/);
  assert.throws(() => parseArgs(['--load-generator', 'g', '--generator-steps', '5']), /--load-generator scores a saved generator/);
  assert.throws(() => parseArgs(['--clip', '-1']), /--clip must be a number >= 0, got '-1'/);
  assert.throws(() => parseArgs(['--clip=']), /--clip must be a number >= 0, got ''/, 'an empty value is not 0');
  assert.throws(() => parseArgs(['--confidence=2']), /--confidence must be a number in \[0, 1\), got '2'$/, 'the value, not the whole argument');
  assert.throws(() => parseArgs(['--eta=x']), /--eta must be a number in \[0, 1\], got 'x'$/);
  assert.equal(parseArgs(['--spacing', 'trailing']).spacing, 'trailing');
  assert.deepEqual([parseArgs(['--floor', 'palette']).floor, parseArgs(['--floor', 'gaussian']).floor], ['palette', 'gaussian']);
  assert.throws(() => parseArgs(['--floor', 'pink']), /--floor must be one of gaussian, palette, untrained, got 'pink'/);
  assert.throws(() => parseArgs(['--spacing', 'middle']), /--spacing must be one of leading, trailing, got 'middle'/);
  const p = parseArgs(['--images', '96', '--pool', '384', '--student-seeds', '1,2,3']);
  assert.deepEqual([p.images, p.pool, p.studentSeeds], [96, 384, [1, 2, 3]]);
  assert.deepEqual([d.pool, d.studentSeeds], [undefined, undefined]);
  assert.throws(() => parseArgs(['--images', '96', '--pool', '48']), /--pool 48 is smaller than --images 96/);
  assert.throws(() => parseArgs(['--student-seeds', '1,x']), /--student-seeds must be positive integers separated by commas, got '1,x'/);
});

test('labelled grid: image beside its labels, class colours blended, unconfident pixels darkened', () => {
  const H = 2;
  const W = 2;
  const image = new Float32Array(3 * H * W).fill(1); // white
  const label = Uint8Array.of(0, 1, 255, 2);
  const png = labelledGrid([{ image, label, height: H, width: W }], 1, 2);
  const { width, height, data } = decodePng(png);
  assert.deepEqual([width, height], [2 * W + 2, H]);
  const px = (x: number, y: number) => [...data.subarray((y * width + x) * 3, (y * width + x) * 3 + 3)];
  assert.deepEqual(px(0, 0), [255, 255, 255]); // the image
  assert.deepEqual(px(4, 0), [255, 255, 255]); // background keeps the image
  assert.deepEqual(px(5, 0), [241, 129, 156]); // class 1: 0.45 * 255 + 0.55 * (230, 25, 75)
  assert.deepEqual(px(4, 1), [89, 89, 89]); // ignore: 0.35 * 255
});
