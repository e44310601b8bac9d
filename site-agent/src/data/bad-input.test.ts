import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanDsad } from './dsad-reader';
import { SegmentationDataset } from './dataset';
import { defaultDsadRoster } from './roster';
import { inspectDataset } from './inspect';
import { writeGrey, writeRgb } from '../testing/images';

const roster = defaultDsadRoster();

async function good(root: string, folder: string, s: string, nn: string): Promise<void> {
  await writeRgb(join(root, folder, s, `image${nn}.png`), 8, 8, (x, y) => [x * 20, y * 20, Number(nn) * 10]);
  await writeGrey(join(root, folder, s, `mask${nn}.png`), 8, 8, (x) => (x < 4 ? 255 : 0));
}

test('every bad input is reported with its file and skipped; the rest is read', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dsad-bad-'));
  try {
    await good(root, 'liver', '01', '00');
    // corrupt PNG
    await mkdir(join(root, 'liver', '01'), { recursive: true });
    await writeFile(join(root, 'liver', '01', 'image01.png'), Buffer.from('this is not a png at all'));
    await writeGrey(join(root, 'liver', '01', 'mask01.png'), 8, 8, () => 0);
    // image without mask
    await writeRgb(join(root, 'liver', '01', 'image02.png'), 8, 8, () => [1, 2, 3]);
    // size mismatch
    await writeRgb(join(root, 'colon', '04', 'image00.png'), 8, 8, () => [4, 5, 6]);
    await writeGrey(join(root, 'colon', '04', 'mask00.png'), 10, 8, () => 0);
    // non-binary mask
    await writeRgb(join(root, 'colon', '04', 'image01.png'), 8, 8, () => [7, 8, 9]);
    await writeGrey(join(root, 'colon', '04', 'mask01.png'), 8, 8, (x) => x * 30);
    // mask without image, unknown file, unknown folders
    await writeGrey(join(root, 'colon', '04', 'mask07.png'), 8, 8, () => 0);
    await writeFile(join(root, 'colon', '04', 'notes.txt'), 'hello');
    await good(root, 'kidney', '01', '00');
    await good(root, 'colon', 'extra', '00');
    // bad weak labels: reported, images still read
    await writeFile(join(root, 'liver', '01', 'weak_labels.csv'), 'nonsense\n1,2\n');

    const { samples, report } = await scanDsad(root, { roster, verify: true });
    assert.equal(samples.length, 1, 'only the good sample is left');
    const expect: Array<[string, string]> = [
      ['corrupt-png', join('liver', '01', 'image01.png')],
      ['missing-mask', join('liver', '01', 'image02.png')],
      ['size-mismatch', join('colon', '04', 'mask00.png')],
      ['non-binary-mask', join('colon', '04', 'mask01.png')],
      ['mask-without-image', join('colon', '04', 'mask07.png')],
      ['unknown-file', join('colon', '04', 'notes.txt')],
      ['unknown-folder', 'kidney'],
      ['unknown-folder', join('colon', 'extra')],
      ['bad-weak-labels', join('liver', '01', 'weak_labels.csv')],
    ];
    for (const [reason, path] of expect) {
      const hit = report.skipped.find((s) => s.reason === reason && s.path === join(root, path));
      assert.ok(hit, `${reason} for ${path} reported; got ${JSON.stringify(report.skipped, null, 1)}`);
      assert.ok(hit.message.includes(hit.path), 'the message names the file');
    }
    assert.equal(report.skipped.length, expect.length);
    assert.equal(report.counts()['unknown-folder'], 2);

    // Without verification, problems found on decode are reported by the dataset and skipped.
    const quick = await scanDsad(root, { roster });
    assert.ok(!quick.report.has('non-binary-mask'));
    const ds = new SegmentationDataset(quick.samples, { size: { width: 8, height: 8 }, report: quick.report });
    const loaded = [];
    for await (const s of ds.epoch()) loaded.push(s);
    assert.equal(loaded.length, 1);
    assert.ok(quick.report.skipped.some((s) => s.reason === 'non-binary-mask' && s.path.endsWith('mask01.png')));
    assert.equal(ds.length, 1, 'the failed sample is dropped from later epochs');
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a truncated PNG (valid header) is caught on decode', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dsad-trunc-'));
  try {
    await good(root, 'liver', '01', '00');
    await good(root, 'liver', '01', '01');
    const p = join(root, 'liver', '01', 'image01.png');
    const bytes = await readFile(p);
    await writeFile(p, bytes.subarray(0, 40));
    const verified = await scanDsad(root, { roster, verify: true });
    assert.equal(verified.samples.length, 1);
    assert.ok(verified.report.skipped.some((s) => s.reason === 'corrupt-png' && s.path === p));
    const quick = await scanDsad(root, { roster });
    const ds = new SegmentationDataset(quick.samples, { size: { width: 4, height: 4 }, report: quick.report });
    assert.equal(await ds.warm(), 1);
    assert.ok(quick.report.skipped.some((s) => s.reason === 'corrupt-png' && s.path === p));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('empty or missing dataset is reported, not thrown', async () => {
  const root = await mkdtemp(join(tmpdir(), 'dsad-empty-'));
  try {
    const empty = await scanDsad(root, { roster });
    assert.equal(empty.samples.length, 0);
    assert.ok(empty.report.has('empty-dataset'));
    assert.match(empty.report.skipped.find((s) => s.reason === 'empty-dataset')!.message, new RegExp(root));
    const missing = await scanDsad(join(root, 'nope'), { roster });
    assert.ok(missing.report.has('unreadable'));
    assert.ok(missing.report.has('empty-dataset'));
    const r = await inspectDataset({ root });
    assert.equal(r.ok, false);
    assert.equal(r.skippedByReason['empty-dataset'], 1);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
