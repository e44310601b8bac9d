import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RosterEntry } from '@fedciss/ml';
import { FileFacts } from './file-facts';
import { scanDsad } from './dsad-reader';
import { MANIFEST_FORMAT, scanFolder } from './folder-reader';
import { writeGrey, writeRgb } from '../testing/images';

const ROSTER: RosterEntry[] = [
  { id: 1, name: 'liver' },
  { id: 2, name: 'colon' },
];

/** A whole-second modification time, which utimes sets back exactly (a Date keeps milliseconds only). */
const WHOLE_SECOND = new Date('2026-01-01T00:00:00Z');

/** Keeps `path`'s size and modification time but replaces its bytes: only a remembered fact survives that. */
async function swapBytesKeepingStat(path: string, bytes: Buffer): Promise<void> {
  assert.equal(bytes.length, (await stat(path)).size);
  await writeFile(path, bytes);
  await utimes(path, WHOLE_SECOND, WHOLE_SECOND);
}

test('FileFacts: an unchanged file (same size and mtime) is not read again; a touched one is', async () => {
  const root = await mkdtemp(join(tmpdir(), 'file-facts-'));
  try {
    const path = join(root, 'a.png');
    await writeRgb(path, 16, 12, (x) => [x * 10, 0, 0]);
    await utimes(path, WHOLE_SECOND, WHOLE_SECOND);
    const facts = new FileFacts();
    const ref = await facts.stat(path);
    assert.deepEqual(await facts.imageSize(ref), { width: 16, height: 12, format: 'png' });
    const hash = await facts.sha1(ref);
    // Garbage of the same length and mtime: still the remembered size and hash, with no read.
    await swapBytesKeepingStat(path, Buffer.alloc(ref.size, 7));
    const same = await facts.stat(path);
    assert.equal(same.mtimeMs, ref.mtimeMs);
    assert.deepEqual(await facts.imageSize(same), { width: 16, height: 12, format: 'png' });
    assert.equal(await facts.sha1(same), hash);
    assert.deepEqual(facts.reads, { imageSize: 1, sha1: 1 });
    // A new mtime: read again, and the garbage is found out.
    await utimes(path, new Date(), new Date(ref.mtimeMs + 5000));
    const touched = await facts.stat(path);
    await assert.rejects(facts.imageSize(touched));
    assert.notEqual(await facts.sha1(touched), hash);
    assert.deepEqual(facts.reads, { imageSize: 2, sha1: 2 });
    // A failed read is not remembered: the same ref is read again once the file is there.
    const later = { path: join(root, 'copied-in.png'), size: 1, mtimeMs: 1 };
    await assert.rejects(facts.imageSize(later));
    await writeRgb(later.path, 8, 4, () => [1, 2, 3]);
    assert.deepEqual(await facts.imageSize(later), { width: 8, height: 4, format: 'png' });
    assert.equal(facts.reads.imageSize, 4);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a DSAD rescan with the same facts reads no header or hash, finds the same samples, and sees a changed mask', async () => {
  const root = await mkdtemp(join(tmpdir(), 'file-facts-dsad-'));
  try {
    // Surgery 01: one frame in liver/ and colon/ (same bytes: hashed to merge), one liver-only frame.
    await writeRgb(join(root, 'liver', '01', 'image00.png'), 16, 12, (x, y) => [x * 10, y * 10, 50]);
    await writeGrey(join(root, 'liver', '01', 'mask00.png'), 16, 12, (x) => (x < 8 ? 255 : 0));
    await writeRgb(join(root, 'colon', '01', 'image03.png'), 16, 12, (x, y) => [x * 10, y * 10, 50]);
    await writeGrey(join(root, 'colon', '01', 'mask03.png'), 16, 12, (x) => (x >= 12 ? 255 : 0));
    await writeRgb(join(root, 'liver', '01', 'image01.png'), 16, 12, () => [200, 40, 40]);
    await writeGrey(join(root, 'liver', '01', 'mask01.png'), 16, 12, (_x, y) => (y < 3 ? 255 : 0));
    const facts = new FileFacts();
    const first = await scanDsad(root, { roster: ROSTER, facts });
    assert.equal(first.samples.length, 2, 'the two copies of frame 00 merge');
    assert.deepEqual(facts.reads, { imageSize: 6, sha1: 2 });
    const again = await scanDsad(root, { roster: ROSTER, facts });
    assert.deepEqual(facts.reads, { imageSize: 6, sha1: 2 }, 'the rescan read nothing');
    assert.deepEqual(again.samples, first.samples);
    assert.deepEqual(again.report.skipped, first.report.skipped);
    // A mask replaced by one of another size: the rescan reads it and skips the sample, as a fresh scan does.
    await writeGrey(join(root, 'liver', '01', 'mask01.png'), 8, 6, () => 255);
    await utimes(join(root, 'liver', '01', 'mask01.png'), new Date(), new Date(Date.now() + 5000));
    const changed = await scanDsad(root, { roster: ROSTER, facts });
    assert.equal(facts.reads.imageSize, 7);
    const fresh = await scanDsad(root, { roster: ROSTER });
    assert.deepEqual(changed.samples, fresh.samples);
    assert.equal(changed.samples.length, 1);
    assert.deepEqual(changed.report.skipped.map((s) => s.reason), ['size-mismatch']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a folder-layout rescan with the same facts reads no header and finds the same samples', async () => {
  const root = await mkdtemp(join(tmpdir(), 'file-facts-folder-'));
  try {
    await writeRgb(join(root, 'images', 'a.png'), 16, 12, (x) => [x, 0, 0]);
    await writeGrey(join(root, 'masks', 'a.png'), 16, 12, (x) => (x < 4 ? 1 : 0));
    await writeFile(join(root, 'manifest.json'), JSON.stringify({ format: MANIFEST_FORMAT, classes: { '1': 'liver' }, samples: [{ image: 'images/a.png', mask: 'masks/a.png', patient: 'p1' }] }));
    const facts = new FileFacts();
    const first = await scanFolder(root, { roster: ROSTER, manifest: 'manifest.json', facts });
    assert.equal(first.samples.length, 1, JSON.stringify(first.report.skipped));
    assert.equal(facts.reads.imageSize, 2);
    const again = await scanFolder(root, { roster: ROSTER, manifest: 'manifest.json', facts });
    assert.equal(facts.reads.imageSize, 2);
    assert.deepEqual(again.samples, first.samples);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
