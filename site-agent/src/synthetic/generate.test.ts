import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { DSAD_STRUCTURES } from '@fedciss/ml/dsad';
import { generateSynthetic } from './generate';
import { renderScene, sampleAppearance } from './scene';
import { mulberry32, textSeed } from './prng';
import { scanDsad } from '../data/dsad-reader';
import { defaultDsadRoster } from '../data/roster';
import { SegmentationDataset } from '../data/dataset';
import { collate, epochOrder, openDataset } from '../data/open';

async function tree(dir: string): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile())) {
    const p = join(f.parentPath, f.name);
    out.set(p.slice(dir.length), await readFile(p));
  }
  return out;
}

test('generator: deterministic by seed, DSAD layout the reader accepts', async () => {
  const base = await mkdtemp(join(tmpdir(), 'synth-'));
  try {
    const opts = { surgeries: 3, seed: 11, size: { width: 64, height: 36 }, imagesPerSurgery: 4 };
    const a = await generateSynthetic({ ...opts, out: join(base, 'a') });
    await generateSynthetic({ ...opts, out: join(base, 'b') });
    await generateSynthetic({ ...opts, seed: 12, out: join(base, 'c') });
    const ta = await tree(join(base, 'a'));
    const tb = await tree(join(base, 'b'));
    assert.equal(ta.size, a.files);
    assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort());
    for (const [k, v] of ta) assert.ok(v.equals(tb.get(k)!), `${k} differs between two runs with the same seed`);
    const tc = await tree(join(base, 'c'));
    assert.ok([...ta].some(([k, v]) => !tc.get(k)?.equals(v)), 'another seed gives other scenes');
    assert.ok([...ta.keys()].some((k) => /^\/multilabel\/01\/mask00_ureter\.png$/.test(k)));
    assert.ok([...ta.keys()].some((k) => /\/weak_labels\.csv$/.test(k)));

    const { samples, report } = await scanDsad(join(base, 'a'), { roster: defaultDsadRoster(), verify: true });
    assert.equal(report.skipped.length, 0, JSON.stringify(report.skipped));
    assert.equal(samples.length, 12, 'copies in several folders merge back into one sample per scene');
    assert.deepEqual([...new Set(samples.map((s) => s.surgery))].sort(), ['01', '02', '03']);
    assert.equal(samples.filter((s) => s.complete).length, a.multilabelImages);
    assert.ok(samples.every((s) => s.weakLabels !== undefined));
    const weak = await scanDsad(join(base, 'a'), { roster: defaultDsadRoster(), weakLabelsComplete: true });
    assert.ok(weak.samples.every((s) => s.complete), 'weak labels mark every unannotated structure absent');
    const ds = new SegmentationDataset(samples, { size: { width: 32, height: 18 } });
    assert.equal(await ds.warm(), 12);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('generator: one-folder annotations put each scene outside multilabel in exactly one structure folder (DSAD-like)', async () => {
  const base = await mkdtemp(join(tmpdir(), 'synth-one-'));
  try {
    const opts = { surgeries: 2, seed: 5, size: { width: 64, height: 36 }, imagesPerSurgery: 6, multilabelFraction: 0 };
    const every = await generateSynthetic({ ...opts, out: join(base, 'every') });
    const one = await generateSynthetic({ ...opts, out: join(base, 'one'), structureFolders: 'one-folder' });
    const folders = (r: typeof one) => Object.values(r.perStructure).reduce((a, b) => a + b, 0);
    assert.equal(folders(one), one.images - one.multilabelImages, 'one structure folder per scene');
    assert.ok(folders(every) > 2 * folders(one), 'every-folder writes a scene into each structure it shows');
    const { samples } = await scanDsad(join(base, 'one'), { roster: defaultDsadRoster() });
    assert.equal(samples.length, one.images);
    assert.ok(samples.filter((s) => !s.complete).every((s) => s.masks.length === 1), 'one annotated structure per incomplete scene');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('scenes: pinned, so a benchmark may reuse a step-0 model trained on scenes of an earlier build', () => {
  const h = createHash('sha256');
  for (let k = 0; k < 40; k++) {
    const s = renderScene(64, 36, 500 + k, sampleAppearance(mulberry32(k >> 2)));
    h.update(s.rgb);
    h.update(s.owner);
  }
  // The digest of these 40 scenes before absent structures existed (fedciss 59b136f).
  assert.equal(h.digest('hex'), 'f7bbfd688fb96419601944181d225ca956401d04256bcfcf202a7f1481823de0');
});

test('generator: structures absent from a surgery never appear in its scenes; the other surgeries are unchanged', async () => {
  const base = await mkdtemp(join(tmpdir(), 'synth-absent-'));
  try {
    const opts = { surgeries: 2, seed: 7, size: { width: 64, height: 36 }, imagesPerSurgery: 12, multilabelFraction: 1 };
    const gone = ['abdominal_wall', 'colon', 'inferior_mesenteric_artery', 'intestinal_veins', 'liver', 'pancreas'] as const;
    const all = await generateSynthetic({ ...opts, out: join(base, 'all') });
    const some = await generateSynthetic({ ...opts, out: join(base, 'some'), absent: { '02': gone } });
    const ta = await tree(join(base, 'all'));
    const ts = await tree(join(base, 'some'));
    const of = (t: Map<string, Buffer>, sid: string) => [...t].filter(([k]) => k.startsWith(`/multilabel/${sid}/`));
    assert.deepEqual(of(ts, '01').map(([k, v]) => [k, v.toString('base64')]), of(ta, '01').map(([k, v]) => [k, v.toString('base64')]), 'surgery 01 is byte for byte the same');
    const { samples } = await scanDsad(join(base, 'some'), { roster: defaultDsadRoster() });
    // weak_labels.csv says which structures each scene shows (its masks of the others are empty).
    const shown = (sid: string) => new Set(samples.filter((x) => x.surgery === sid).flatMap((x) => Object.entries(x.weakLabels!).filter(([, on]) => on).map(([k]) => k)));
    for (const g of gone) assert.ok(!shown('02').has(g), `${g} appears in surgery 02`);
    assert.ok(shown('02').size >= 2, `surgery 02 still shows the other structures: ${[...shown('02')]}`);
    assert.ok(gone.some((g) => shown('01').has(g)), 'surgery 01 shows some of them');
    assert.ok(all.perStructure.liver! > some.perStructure.liver!);
    await assert.rejects(generateSynthetic({ ...opts, out: join(base, 'x'), absent: { '05': ['liver'] } }), /absent structures are given for surgery 05, which is not generated \(01, 02\)/);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('generator: unannotated structures are drawn but carry no mask or folder; every other file is unchanged', async () => {
  const base = await mkdtemp(join(tmpdir(), 'synth-unannotated-'));
  try {
    const opts = { surgeries: 2, seed: 9, size: { width: 64, height: 36 }, imagesPerSurgery: 16, multilabelFraction: 0.5, structureFolders: 'one-folder' as const };
    const hidden = ['small_intestine', 'stomach', 'ureter'] as const;
    const all = await generateSynthetic({ ...opts, out: join(base, 'all') });
    const some = await generateSynthetic({ ...opts, out: join(base, 'some'), unannotated: { '01': hidden } });
    const ta = await tree(join(base, 'all'));
    const ts = await tree(join(base, 'some'));
    const hides = (k: string) => hidden.some((h) => k.includes(`/${h}/`) || k.endsWith(`_${h}.png`));
    // Surgery 02 is untouched; in 01 only the hidden structures' masks, folders and weak labels change.
    const emptyMasks = new Set<string>();
    let shownBefore = 0;
    for (const [k, v] of ta) {
      if (k.startsWith('/multilabel/01/') && hides(k)) {
        emptyMasks.add(ts.get(k)!.toString('base64')); // multilabel keeps every structure's mask file, empty
        if (!ts.get(k)!.equals(v)) shownBefore++;
      } else if (k.includes('/01/') && hides(k)) assert.ok(!ts.has(k), `${k} is written although its structure is unannotated`);
      else if (!k.endsWith('weak_labels.csv')) assert.ok(ts.get(k)?.equals(v), `${k} changed`);
    }
    assert.equal(emptyMasks.size, 1, 'every hidden mask in multilabel is the same (empty) image');
    assert.ok(shownBefore > 0, 'the hidden structures were shown, and masked, in the annotated data');
    const { samples } = await scanDsad(join(base, 'some'), { roster: defaultDsadRoster() });
    const ids = new Set(hidden.map((h) => defaultDsadRoster().find((r) => r.name === h)!.id));
    const inOne = samples.filter((x) => x.surgery === '01');
    assert.ok(inOne.every((x) => !x.annotated.some((c) => ids.has(c) && !x.complete)), 'no scene of 01 is annotated for a hidden structure alone');
    assert.ok(inOne.every((x) => Object.entries(x.weakLabels!).every(([k, on]) => !on || !(hidden as readonly string[]).includes(k))), 'weak labels mark the hidden structures 0');
    const ds = new SegmentationDataset(inOne, { size: opts.size });
    const { samples: before } = await scanDsad(join(base, 'all'), { roster: defaultDsadRoster() });
    const dsAll = new SegmentationDataset(before.filter((x) => x.surgery === '01'), { size: opts.size });
    const pixels = async (d: SegmentationDataset) => {
      const counts = new Map<number, number>();
      for await (const s of d.epoch()) for (const v of s.label) counts.set(v, (counts.get(v) ?? 0) + 1);
      return counts;
    };
    const [after, full] = [await pixels(ds), await pixels(dsAll)];
    for (const c of ids) assert.ok((full.get(c) ?? 0) > 0 && !after.has(c), `class ${c}: ${full.get(c)} labelled pixels before, ${after.get(c)} after`);
    assert.equal(all.unwrittenImages, 0);
    assert.ok(some.unwrittenImages > 0 && some.images + some.unwrittenImages === all.images, 'scenes whose one folder was a hidden structure are left out, and counted');
    assert.equal(samples.length, some.images, 'every written scene is one sample');
    assert.ok(Object.entries(some.perStructure).every(([k, n]) => (hidden as readonly string[]).includes(k) ? n < all.perStructure[k]! : true));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('scenes: thin structures are much smaller than large organs', () => {
  const area = new Map<string, number[]>();
  for (let k = 0; k < 60; k++) {
    const s = renderScene(96, 54, 1000 + k, sampleAppearance(mulberry32(k >> 2)));
    const counts = new Array<number>(13).fill(0);
    for (const o of s.owner) counts[o]!++;
    DSAD_STRUCTURES.forEach((name, i) => {
      if (counts[i + 1]! > 0) area.set(name, [...(area.get(name) ?? []), counts[i + 1]!]);
    });
  }
  const mean = (n: string): number => {
    const l = area.get(n) ?? [];
    assert.ok(l.length > 0, `${n} appears in some scene`);
    return l.reduce((a, b) => a + b, 0) / l.length;
  };
  for (const thin of ['ureter', 'inferior_mesenteric_artery', 'intestinal_veins']) {
    for (const big of ['liver', 'stomach', 'colon']) assert.ok(mean(thin) * 3 < mean(big), `${thin} (${mean(thin)}) vs ${big} (${mean(big)})`);
  }
});

test('openDataset + epochOrder + collate over a generated tree', async () => {
  const base = await mkdtemp(join(tmpdir(), 'synth-open-'));
  try {
    await generateSynthetic({ out: base, surgeries: 2, seed: 5, size: { width: 48, height: 27 }, imagesPerSurgery: 3 });
    const { dataset, report } = await openDataset(base, { roster: defaultDsadRoster(), size: { width: 24, height: 16 } });
    assert.equal(report.skipped.length, 0);
    assert.equal(dataset.length, 6);
    const order = epochOrder(dataset.length, 1, 0);
    assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(order, epochOrder(6, 1, 0));
    const batch = [];
    for await (const s of dataset.epoch(order.slice(0, 4))) batch.push(s);
    const b = collate(batch);
    assert.equal(b.images.length, 4 * 3 * 24 * 16);
    assert.equal(b.labels.length, 4 * 24 * 16);
    assert.ok(b.labels.every((v) => v <= 11 || v === 255));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('textSeed is pinned: every site training seed comes from it', () => {
  // the value of the agent's seed function before it moved here (site-agent/src/work/ml-site-work.ts at 18a2317)
  assert.equal(textSeed('0:1:Hospital A'), 1001261388);
  assert.notEqual(textSeed('0:1:Hospital B'), 1001261388);
});
