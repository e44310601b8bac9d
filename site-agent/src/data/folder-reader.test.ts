import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scanFolder, MANIFEST_FORMAT } from './folder-reader';
import { SegmentationDataset } from './dataset';
import { writeGrey, writeRgb } from '../testing/images';
import { IGNORE_LABEL } from '@fedciss/ml';

test('plain folder with a manifest: label map values mapped to roster ids by name', async () => {
  const root = await mkdtemp(join(tmpdir(), 'folder-'));
  try {
    await writeRgb(join(root, 'img', 'a.png'), 8, 4, () => [10, 20, 30]);
    await writeGrey(join(root, 'lab', 'a.png'), 8, 4, (x) => (x < 2 ? 1 : x < 4 ? 2 : x < 6 ? 0 : 255));
    await writeRgb(join(root, 'img', 'b.png'), 8, 4, () => [10, 20, 30]);
    await writeGrey(join(root, 'lab', 'b.png'), 8, 4, () => 9); // value not in the manifest
    await writeRgb(join(root, 'img', 'c.png'), 8, 4, () => [1, 1, 1]); // its mask is missing
    await writeFile(
      join(root, 'fedciss-dataset.json'),
      JSON.stringify({
        format: MANIFEST_FORMAT,
        classes: { '1': 'Liver', '2': 'colon' },
        samples: [
          { image: 'img/a.png', mask: 'lab/a.png', patient: 'p1', annotated: ['liver'] },
          { image: 'img/b.png', mask: 'lab/b.png', patient: 'p2' },
          { image: 'img/c.png', mask: 'lab/c.png', patient: 'p3' },
          { image: 42 },
        ],
      }),
    );
    const roster = [
      { id: 5, name: 'liver' },
      { id: 7, name: 'colon' },
    ];
    const { samples, report } = await scanFolder(root, { roster });
    assert.equal(samples.length, 2);
    assert.ok(report.skipped.some((s) => s.reason === 'missing-mask' && s.path.endsWith('lab/c.png')));
    assert.ok(report.has('bad-manifest'));
    const a = samples.find((s) => s.surgery === 'p1')!;
    assert.deepEqual(a.annotated, [5]);
    assert.equal(a.complete, false);
    const ds = new SegmentationDataset(samples, { size: { width: 8, height: 4 }, report });
    const la = (await ds.load(a))!.label;
    assert.deepEqual([...la.subarray(0, 8)], [5, 5, 7, 7, IGNORE_LABEL, IGNORE_LABEL, IGNORE_LABEL, IGNORE_LABEL]);
    assert.equal(await ds.load(samples.find((s) => s.surgery === 'p2')!), undefined);
    assert.ok(report.skipped.some((s) => s.reason === 'bad-label-value' && s.path.endsWith('lab/b.png')));

    const none = await scanFolder(join(root, 'img'), { roster });
    assert.ok(none.report.has('bad-manifest') && none.report.has('empty-dataset'));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
