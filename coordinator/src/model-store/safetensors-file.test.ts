import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { sha256Hex } from '@fedciss/proto';
import { aggregateBySlices, slicedFromMemory } from '../aggregation/sliced';
import { createStrategy, resolveAggregationOptions } from '../aggregation';
import { copySafetensorsWithMetadata, readSafetensorsFile, SafetensorsFileReader, SafetensorsFileWriter, writeSafetensorsFile } from './safetensors-file';
import { LocalBlobStore } from './local-blob-store';

const dir = mkdtempSync(join(tmpdir(), 'st-file-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const model = (k: number): NamedTensors => new Map([
  ['b', { shape: [5], data: Float32Array.from({ length: 5 }, (_, i) => i * k - 2) }],
  ['a.weight', { shape: [3, 4], data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i * k)) }],
]);

test('a file written slice by slice is the bytes encodeSafetensors gives, and reads back by slices', async () => {
  const m = model(3);
  const path = join(dir, 'written.safetensors');
  const w = await SafetensorsFileWriter.create(path, new Map([...m].map(([n, t]) => [n, t.shape])), { kind: 'segmenter' });
  // Out of order and in odd slices.
  await w.write('b', 3, m.get('b')!.data.subarray(3));
  await w.write('a.weight', 0, m.get('a.weight')!.data.subarray(0, 7));
  await w.write('b', 0, m.get('b')!.data.subarray(0, 3));
  await w.write('a.weight', 7, m.get('a.weight')!.data.subarray(7));
  await w.close();
  assert.ok(readFileSync(path).equals(encodeSafetensors(m, { kind: 'segmenter' })));
  const r = await SafetensorsFileReader.open(path);
  try {
    assert.deepEqual(r.metadata, { kind: 'segmenter' });
    assert.deepEqual([...r.shapes], [['a.weight', [3, 4]], ['b', [5]]]);
    const into = new Float32Array(4);
    await r.read('a.weight', 5, into);
    assert.deepEqual(into, m.get('a.weight')!.data.subarray(5, 9));
    await assert.rejects(r.read('a.weight', 10, into), /values 10\.\.14 are outside tensor 'a\.weight' \(12 values\)/);
    await assert.rejects(r.read('c', 0, into), /no tensor 'c'/);
  } finally {
    await r.close();
  }
  writeFileSync(join(dir, 'bad.safetensors'), Buffer.from([255, 0, 0, 0, 0, 0, 0, 0, 1]));
  await assert.rejects(SafetensorsFileReader.open(join(dir, 'bad.safetensors')), /header length 255 does not fit/);
});

test('the median of updates stored as files, by slices, into a file, equals the in-memory median', async () => {
  const global = model(1);
  const updates = [2, 5, 7].map((k) => model(k));
  const paths = updates.map((u, i) => {
    const p = join(dir, `u${i}.safetensors`);
    writeFileSync(p, encodeSafetensors(u));
    return p;
  });
  const readers = await Promise.all(paths.map((p) => SafetensorsFileReader.open(p)));
  const out = join(dir, 'median.safetensors');
  const sink = await SafetensorsFileWriter.create(out, new Map([...global].map(([n, t]) => [n, t.shape])));
  await aggregateBySlices(resolveAggregationOptions({ strategy: 'median' }), slicedFromMemory(global), readers.map((r, i) => ({ siteId: `s${i}`, sampleCount: 1, kind: 'weights', tensors: r })), sink, 5 * 4 * 2);
  await sink.close();
  await Promise.all(readers.map((r) => r.close()));
  const round = createStrategy({ strategy: 'median' }).begin(global, null);
  updates.forEach((u, i) => round.add({ siteId: `s${i}`, sampleCount: 1, kind: 'weights', tensors: u }));
  const expected = round.finish().weights;
  const got = decodeSafetensors(readFileSync(out)).tensors;
  for (const [name, t] of expected) assert.deepEqual(got.get(name)!.data, t.data, name);
});

test('a file copied under new metadata by slices is the bytes encodeSafetensors gives its tensors with that metadata', async () => {
  const m = model(4);
  const from = join(dir, 'update.safetensors');
  writeFileSync(from, encodeSafetensors(m, { written: 'by a site' }));
  const to = join(dir, 'version.safetensors');
  await copySafetensorsWithMetadata(from, to, { kind: 'segmenter', numClasses: '3' }, 5);
  assert.ok(readFileSync(to).equals(encodeSafetensors(m, { kind: 'segmenter', numClasses: '3' })));
  await assert.rejects(copySafetensorsWithMetadata(from, to, {}), /EEXIST/, 'never overwrites a file');
});

test('the blob store takes a file by moving it (hashed in slices) and hands back a verified path', async () => {
  const store = new LocalBlobStore(join(dir, 'store'));
  const bytes = encodeSafetensors(model(9));
  const src = join(dir, 'to-store.bin');
  writeFileSync(src, bytes);
  await assert.rejects(store.putFile(src, sha256Hex(Buffer.from('other'))), /hashes to/);
  const stored = await store.putFile(src, sha256Hex(bytes));
  assert.equal(existsSync(src), false, 'the file was moved into the store');
  assert.deepEqual(stored, { sha256: sha256Hex(bytes), sizeBytes: bytes.length, uri: `sha256:${sha256Hex(bytes)}` });
  assert.ok(readFileSync(await store.getFile(stored.sha256)).equals(bytes));
  writeFileSync(src, bytes);
  await store.putFile(src);
  assert.equal(existsSync(src), false, 'bytes already held: the file is removed');
  writeFileSync(await store.getFile(stored.sha256), Buffer.from('damaged'));
  await assert.rejects(store.getFile(stored.sha256), /was damaged/);
});

test('whole tensors written to a file are the bytes encodeSafetensors gives, and read back as decodeSafetensors reads them', async () => {
  const m = model(6);
  const path = join(dir, 'whole.safetensors');
  await writeSafetensorsFile(path, m, { kind: 'segmenter' });
  assert.ok(readFileSync(path).equals(encodeSafetensors(m, { kind: 'segmenter' })));
  assert.deepEqual(await readSafetensorsFile(path), decodeSafetensors(readFileSync(path)).tensors);
  const bad: NamedTensors = new Map([['b', { shape: [4], data: new Float32Array(5) }]]);
  await assert.rejects(writeSafetensorsFile(join(dir, 'bad-shape.safetensors'), bad), /tensor 'b': shape \[4\] does not match 5 values/);
  assert.equal(existsSync(join(dir, 'bad-shape.safetensors')), false, 'refused before writing anything');
});
