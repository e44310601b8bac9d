import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RosterEntry } from '@fedciss/ml';
import { scanDsad, officialSplitOf } from './dsad-reader';
import { SegmentationDataset } from './dataset';
import { officialSplit } from './splits';

import { writeGrey, writeRgb } from '../testing/images';
import { IGNORE_LABEL } from '@fedciss/ml';

// Ids deliberately not in DSAD_STRUCTURES order: the reader must map by name.
const ROSTER: RosterEntry[] = [
  { id: 1, name: 'liver' },
  { id: 2, name: 'colon' },
  { id: 3, name: 'ureter' },
];
const W = 16;
const H = 12;

/** Tree: surgery 01 (train), 02 (test), 03 (validation), 21 (validation). */
async function writeTree(root: string): Promise<void> {
  // 01: one scene in liver/ and colon/ with identical bytes (numbered differently), one liver-only scene.
  await writeRgb(join(root, 'liver', '01', 'image00.png'), W, H, (x, y) => [x * 10, y * 10, 50]);
  await writeGrey(join(root, 'liver', '01', 'mask00.png'), W, H, (x) => (x < 8 ? 255 : 0));
  await writeRgb(join(root, 'colon', '01', 'image05.png'), W, H, (x, y) => [x * 10, y * 10, 50]);
  await writeGrey(join(root, 'colon', '01', 'mask05.png'), W, H, (x, y) => (x >= 12 && y < 6 ? 255 : 0));
  await writeRgb(join(root, 'liver', '01', 'image01.png'), W, H, () => [200, 40, 40]);
  await writeGrey(join(root, 'liver', '01', 'mask01.png'), W, H, (_x, y) => (y < 3 ? 255 : 0));
  // 02: multilabel, overlapping liver and ureter (ureter smaller: it wins), empty colon, spleen not in roster.
  const ml = join(root, 'multilabel', '02');
  await writeRgb(join(ml, 'image00.png'), W, H, () => [90, 30, 30]);
  await writeGrey(join(ml, 'mask00_liver.png'), W, H, (x) => (x < 10 ? 255 : 0));
  await writeGrey(join(ml, 'mask00_ureter.png'), W, H, (x) => (x === 5 ? 255 : 0));
  await writeGrey(join(ml, 'mask00_colon.png'), W, H, () => 0);
  await writeGrey(join(ml, 'mask00_spleen.png'), W, H, (x) => (x >= 14 ? 255 : 0));
  // 03 and 21: one image each in ureter/.
  for (const s of ['03', '21']) {
    await writeRgb(join(root, 'ureter', s, 'image00.png'), W, H, () => [Number(s), 100, 100]);
    await writeGrey(join(root, 'ureter', s, 'mask00.png'), W, H, (x, y) => (x === y ? 255 : 0));
  }
  // A structure folder not in the roster.
  await writeRgb(join(root, 'spleen', '01', 'image00.png'), W, H, () => [1, 2, 3]);
  await writeGrey(join(root, 'spleen', '01', 'mask00.png'), W, H, () => 255);
}

test('DSAD tree: class ids by roster name, surgery ids, merging, multilabel, split', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dsad-'));
  try {
    await writeTree(root);
    const { samples, report } = await scanDsad(root, { roster: ROSTER, verify: true });
    assert.deepEqual(report.skipped.map((s) => s.reason), ['not-in-roster'], JSON.stringify(report.skipped));
    assert.match(report.skipped[0]!.path, /spleen$/);
    assert.equal(samples.length, 5);
    const bySurgery = (s: string) => samples.filter((x) => x.surgery === s);
    assert.equal(bySurgery('01').length, 2);
    const merged = bySurgery('01').find((s) => s.sources.length === 2)!;
    assert.ok(merged, 'identical images in liver/ and colon/ are one sample');
    assert.deepEqual(merged.sources.sort(), ['colon', 'liver']);
    assert.deepEqual(merged.annotated, [1, 2]);
    assert.equal(merged.complete, false);
    const ml = bySurgery('02')[0]!;
    assert.deepEqual(ml.annotated, [1, 2, 3]);
    assert.equal(ml.complete, true);
    assert.equal(officialSplitOf('02'), 'test');
    assert.deepEqual(officialSplit(samples, 'train').map((s) => s.surgery), ['01', '01']);
    assert.deepEqual(officialSplit(samples, 'validation').map((s) => s.surgery).sort(), ['03', '21']);
    assert.deepEqual(officialSplit(samples, 'test').map((s) => s.surgery), ['02']);

    const ds = new SegmentationDataset(samples, { size: { width: W, height: H } });
    const m = (await ds.load(merged))!;
    assert.equal(m.image.length, 3 * W * H);
    assert.ok(m.image.every((v) => v >= 0 && v <= 1));
    assert.ok(Math.abs(m.image[3]! - 30 / 255) < 1e-6, 'CHW: red channel first, x=3 -> 30');
    assert.equal(m.label[0], 1, 'liver pixel');
    assert.equal(m.label[13], 2, 'colon pixel (x=13, y=0)');
    assert.equal(m.label[10], IGNORE_LABEL, 'unannotated pixel of an incomplete sample is unknown');
    const l = (await ds.load(ml))!.label;
    assert.equal(l[5], 3, 'overlap: smaller ureter mask wins');
    assert.equal(l[0], 1);
    assert.equal(l[12], 0, 'complete sample: unmarked pixel is background');
    assert.equal(l[15], 0, 'spleen (not in roster) is background');
    const bgDs = new SegmentationDataset(samples, { size: { width: W, height: H }, unknown: 'background' });
    assert.equal((await bgDs.load(merged))!.label[10], 0);

    // Resizing: nearest for labels (no invented class values), exact size.
    const small = new SegmentationDataset(samples, { size: { width: 8, height: 6 } });
    const s = (await small.load(ml))!;
    assert.equal(s.label.length, 48);
    assert.equal(s.image.length, 3 * 48);
    assert.ok(s.label.every((v) => [0, 1, 3].includes(v)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('caches: later epochs decode nothing; disk cache keyed by path, size, mtime and resolution', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dsad-cache-'));
  try {
    await writeTree(root);
    const { samples } = await scanDsad(root, { roster: ROSTER });
    const cacheDir = join(root, '.cache');
    const ds = new SegmentationDataset(samples, { size: { width: 8, height: 6 }, cacheDir });
    let n = 0;
    for await (const _ of ds.epoch()) n++;
    assert.equal(n, samples.length);
    assert.equal(ds.stats.decoded, samples.length);
    const first = (await ds.get(0))!;
    for await (const _ of ds.epoch()) n++;
    assert.equal(ds.stats.decoded, samples.length, 'second epoch decodes nothing');
    assert.ok(ds.stats.memoryHits >= samples.length);

    const again = new SegmentationDataset(samples, { size: { width: 8, height: 6 }, cacheDir });
    const fromDisk = (await again.get(0))!;
    assert.equal(again.stats.diskHits, 1);
    assert.equal(again.stats.decoded, 0);
    assert.deepEqual(fromDisk.image, first.image);
    assert.deepEqual(fromDisk.label, first.label);

    const other = new SegmentationDataset(samples, { size: { width: 16, height: 12 }, cacheDir });
    await other.get(0);
    assert.equal(other.stats.decoded, 1, 'another resolution is a miss');

    // A touched file (new mtime) is a miss after a rescan.
    await utimes(samples[0]!.image.path, new Date(), new Date(Date.now() + 5000));
    const rescanned = (await scanDsad(root, { roster: ROSTER })).samples;
    const touched = new SegmentationDataset(rescanned, { size: { width: 8, height: 6 }, cacheDir });
    await touched.get(0);
    assert.equal(touched.stats.decoded, 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
