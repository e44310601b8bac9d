// Model versions through the real store and database (PGlite): weights stored from memory tensor
// by tensor and read back whole, past 2 GiB too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeSafetensors, encodeSafetensorsHeader, segmenterConfig, type NamedTensors } from '@fedciss/ml';
import { openDatabase, type Database } from '../database/database';
import { DatabaseService } from '../database/database.service';
import { LocalBlobStore } from '../model-store/local-blob-store';
import { ModelVersionsService, versionMetadata } from './model-versions.service';

const config = segmenterConfig({ width: 4, depth: 1, inputSize: [16, 16], embedDim: 4, groups: 2 });
const version = { kind: 'segmenter' as const, stepIndex: 0, numClasses: 2, config, note: 'test' };

describe('model versions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'model-versions-'));
  let database: Database;
  let store: LocalBlobStore;
  let models: ModelVersionsService;

  before(async () => {
    database = await openDatabase({ dataDir: join(dir, 'db') });
    store = new LocalBlobStore(join(dir, 'models'));
    models = new ModelVersionsService(new DatabaseService(database), store);
  });
  after(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('weights from memory are stored as the bytes encodeSafetensors gives them, and read back equal', async () => {
    const weights: NamedTensors = new Map([
      ['head.bias', { shape: [2], data: Float32Array.of(0.5, -1) }],
      ['body.weight', { shape: [3, 2], data: Float32Array.from({ length: 6 }, (_, i) => Math.cos(i)) }],
    ]);
    const row = await models.create({ ...version, weights });
    const expected = encodeSafetensors(weights, versionMetadata(version));
    assert.ok(readFileSync(await store.getFile(row.sha256)).equals(expected));
    assert.equal(Number(row.sizeBytes), expected.length);
    assert.deepEqual(await models.weights(row.id), new Map([...weights].sort(([a], [b]) => a.localeCompare(b))));
    assert.deepEqual(readdirSync(join(dir, 'models', 'tmp')), [], 'no scratch file left behind');
  });

  test('a row is read from the database once and then kept (rows never change); an unknown id is still refused', async () => {
    const row = await models.create({ ...version, weights: new Map([['w', { shape: [1], data: Float32Array.of(1) }]]) });
    // The same database, with its reads of version rows counted.
    let reads = 0;
    const versions = database.prisma.modelVersion;
    const countedVersions = new Proxy(versions, { get: (m, f) => (f === 'findUnique' ? (...a: Parameters<typeof versions.findUnique>) => (reads++, versions.findUnique(...a)) : Reflect.get(m, f)) });
    const prisma = new Proxy(database.prisma, { get: (t, k) => (k === 'modelVersion' ? countedVersions : Reflect.get(t, k)) });
    const counting = new DatabaseService({ ...database, prisma });
    const cached = new ModelVersionsService(counting, store);
    assert.deepEqual(await cached.get(row.id), row);
    assert.deepEqual(await cached.get(row.id), row);
    assert.equal(reads, 1);
    await assert.rejects(cached.get('no-such-version'), /does not exist/);
    await assert.rejects(cached.get('no-such-version'), /does not exist/);
    assert.equal(reads, 3, 'a miss is not remembered');
  });

  test('weights past 2 GiB are stored from memory and read back whole', { timeout: 600_000 }, async () => {
    // One Buffer of them failed at the hash ("data is too long": one update() takes 2 GiB at most),
    // and readFile refuses files past 2 GiB. Zeros but for the first and last few values.
    const count = 2 ** 29 + 2 ** 20;
    const data = new Float32Array(count);
    data.set([1, 2, 3]);
    data.set([-4, 5], count - 2);
    const row = await models.create({ ...version, weights: new Map([['body.weight', { shape: [count], data }]]) });
    assert.equal(Number(row.sizeBytes), encodeSafetensorsHeader(new Map([['body.weight', [count]]]), versionMetadata(version)).header.length + count * 4);
    const back = (await models.weights(row.id)).get('body.weight')!.data;
    assert.equal(back.length, count);
    assert.deepEqual([...back.subarray(0, 4), ...back.subarray(count - 3)], [1, 2, 3, 0, 0, -4, 5]);
  });
});
