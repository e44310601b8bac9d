// `coordinator models import --file X.onnx`: a segmenter version exported by `coordinator models
// export` starts a fresh federation with the same weights bit for bit, its classes and colours; an
// .onnx that is not one, or does not fit the roster or the architecture, is refused by the real
// command with a one-line message (no stack trace) and nothing written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import {
  createSegmenterWeights, encodeSafetensors, exportSegmenterOnnx, gaussian, segmenterConfig, seededRandom, type NamedTensors, type SegmenterConfig, type SegmenterProvenance,
} from '@fedciss/ml';
import { openDatabase, type Database } from '../database/database';
import { DatabaseService } from '../database/database.service';
import { LocalBlobStore } from '../model-store/local-blob-store';
import { DEFAULT_TRAINING } from '../config/coordinator-config';
import { runModelsExport } from '../cli/commands/models-export.command';
import { ModelImporter } from './model-import';
import { ModelVersionsService } from './model-versions.service';

const BIN = join(__dirname, '..', '..', 'bin', 'coordinator.js');
const seg = segmenterConfig({ width: 4, depth: 1, inputSize: [16, 16], embedDim: 4, groups: 2 });
const PROJECTION_HEAD = ['proj.conv1.weight', 'proj.conv1.bias', 'proj.conv2.weight', 'proj.conv2.bias'];

/** Weights away from their initialisation, so a fresh tensor cannot pass for an imported one. */
function trainedWeights(config: SegmenterConfig, classes: number, seed: number): NamedTensors {
  const w = createSegmenterWeights(config, classes, seed);
  const rand = seededRandom(seed + 100);
  for (const t of w.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.1 * gaussian(rand);
  return w;
}

const bytesOf = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

function coordinator(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

describe('coordinator models import of an exported .onnx', () => {
  const dir = mkdtempSync(join(tmpdir(), 'model-import-onnx-'));
  const source = join(dir, 'source');
  const target = join(dir, 'target');
  let exported = '';
  let sourceWeights: NamedTensors;
  let versionId = '';

  before(async () => {
    // The hospital's previous federation: a trained segmenter (liver, colon) as its step 0, exported offline.
    const file = join(dir, 'trained.safetensors');
    writeFileSync(file, encodeSafetensors(trainedWeights(seg, 3, 5), { kind: 'segmenter', config: JSON.stringify(seg) }));
    const database = await openDatabase({ dataDir: join(source, 'db') });
    try {
      const db = new DatabaseService(database);
      const r = await ModelImporter.open(db, join(source, 'models')).import({ file, classes: ['liver', 'colon'], rounds: { segmenterRounds: 1, generatorRounds: 0 }, training: DEFAULT_TRAINING });
      versionId = r.versionId;
      await db.prisma.rosterClass.update({ where: { id: 2 }, data: { color: '#12ab34' } });
      sourceWeights = await new ModelVersionsService(db, new LocalBlobStore(join(source, 'models'))).weights(versionId);
    } finally {
      await database.close();
    }
    exported = (await runModelsExport({ dataDir: source, version: versionId, outDir: join(dir, 'out') })).files.onnx;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('round trip: the exported .onnx starts a fresh federation with the same weights bit for bit', async () => {
    const run = coordinator('models', 'import', '--file', exported, '--data-dir', target);
    assert.equal(run.status, 0, run.out + run.err);
    assert.match(run.out, /imported segmenter .* \(3 classes, step 0, created the roster and step 0\)/);
    assert.match(run.out, /initialised fresh: proj\.conv1\.weight, proj\.conv1\.bias, proj\.conv2\.weight, proj\.conv2\.bias/);
    const database = await openDatabase({ dataDir: join(target, 'db') });
    try {
      const db = new DatabaseService(database);
      const roster = await db.prisma.rosterClass.findMany({ orderBy: { id: 'asc' } });
      assert.deepEqual(roster.map((c) => [c.name, c.color]).slice(1), [['liver', roster[1].color], ['colon', '#12ab34']], 'classes and colours from the file');
      const [row] = await db.prisma.modelVersion.findMany({ where: { kind: 'segmenter' } });
      const step = await db.prisma.step.findUniqueOrThrow({ where: { index: 0 } });
      assert.deepEqual((step.config as unknown as { segmenter: SegmenterConfig }).segmenter, seg);
      const imported = await new ModelVersionsService(db, new LocalBlobStore(join(target, 'models'))).weights(row.id);
      assert.deepEqual([...imported.keys()].sort(), [...sourceWeights.keys()].sort());
      let compared = 0;
      for (const [name, t] of sourceWeights) {
        if (PROJECTION_HEAD.includes(name)) {
          assert.notDeepEqual(bytesOf(imported.get(name)!.data), bytesOf(t.data), `${name} is not in an inference model: fresh`);
          continue;
        }
        assert.deepEqual(imported.get(name)!.shape, t.shape, name);
        assert.ok(bytesOf(imported.get(name)!.data).equals(bytesOf(t.data)), `${name} differs from the exported version's`);
        compared++;
      }
      assert.equal(compared, sourceWeights.size - PROJECTION_HEAD.length);
    } finally {
      await database.close();
    }
  });

  test('a truncated or foreign file: one line naming the file, exit 1, nothing written', async () => {
    const bytes = readFileSync(exported);
    const truncated = join(dir, 'truncated.onnx');
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const empty = join(dir, 'empty');
    const run = coordinator('models', 'import', '--file', truncated, '--data-dir', empty);
    assert.equal(run.status, 1, run.out + run.err);
    assert.equal(run.err.trim(), run.err.trim().split('\n')[0], `one line, no stack trace: ${run.err}`);
    assert.match(run.err, new RegExp(`^${truncated.replace(/[.]/g, '\\.')}: not an ONNX model \\(`));
    const database = await openDatabase({ dataDir: join(empty, 'db') });
    try {
      const db = new DatabaseService(database);
      assert.deepEqual([await db.prisma.rosterClass.count(), await db.prisma.step.count(), await db.prisma.modelVersion.count()], [0, 0, 0]);
    } finally {
      await database.close();
    }
  });

  describe('refusals, each naming the file and the problem', () => {
    let database: Database;
    let db: DatabaseService;
    let importer: ModelImporter;
    const emptyDir = join(dir, 'refusals-empty');
    const request = (file: string, o: { classes?: string[]; training?: typeof DEFAULT_TRAINING } = {}) => ({ file, classes: o.classes, rounds: { segmenterRounds: 1, generatorRounds: 0 }, training: o.training ?? DEFAULT_TRAINING });
    const provenance = (names: string[]): SegmenterProvenance => ({
      classes: ['background', ...names].map((name, id) => ({ id, name, color: '#808080' })),
      version: 'seg-x', lineage: [], federation: 'elsewhere', step: 0, round: null, createdAt: '2026-11-30T00:00:00Z', exportedAt: '2026-11-30T00:00:00Z', weightsSha256: '00',
    });
    const write = (name: string, bytes: Uint8Array) => {
      const path = join(dir, name);
      writeFileSync(path, bytes);
      return path;
    };
    /** The exported file with its ModelProto edited: the tampering a hand-made or damaged file shows. */
    const tampered = (name: string, edit: (m: onnx.ModelProto) => void) => {
      const m = onnx.ModelProto.decode(readFileSync(exported));
      edit(m);
      return write(name, onnx.ModelProto.encode(m).finish());
    };
    const initializer = (m: onnx.ModelProto, name: string) => m.graph!.initializer!.find((t) => t.name === name)!;

    before(async () => {
      database = await openDatabase({ dataDir: join(emptyDir, 'db') });
      db = new DatabaseService(database);
      importer = ModelImporter.open(db, join(emptyDir, 'models'));
    });
    after(async () => database?.close());

    test('into an empty federation', async () => {
      await assert.rejects(importer.import(request(write('text.onnx', Buffer.from('name,value\nliver,1\n')))), /text\.onnx: not an ONNX model/);
      const bare = write('bare.onnx', exportSegmenterOnnx(trainedWeights(seg, 3, 1), seg, 3).bytes);
      await assert.rejects(importer.import(request(bare, { classes: ['liver', 'colon'] })), /bare\.onnx: has no fedciss metadata .* exported by `coordinator models export`.*\.safetensors/);
      await assert.rejects(importer.import({ ...request(exported), kind: 'generator' }), /holds a segmenter .* import a generator from its \.safetensors/);
      await assert.rejects(importer.import(request(exported, { classes: ['liver', 'ureter'] })), /--classes liver,ureter differ from the classes of .*\.onnx: liver,colon/);
      const wide = { ...DEFAULT_TRAINING, segmenter: { width: 8 } };
      await assert.rejects(importer.import(request(exported, { training: wide })), /its architecture .*"width":4.* differs from the training settings' segmenter \{"width":8\} \(width: 4 in the file, 8 configured\)/);
      const missing = tampered('missing.onnx', (m) => m.graph!.initializer!.splice(m.graph!.initializer!.indexOf(initializer(m, 'enc0.conv2.weight')), 1));
      await assert.rejects(importer.import(request(missing)), /missing\.onnx: not a segmenter of the architecture stored with it: segmenter weights lack 'enc0\.conv2\.weight' \[4, 4, 3, 3\]/);
      const misshaped = tampered('misshaped.onnx', (m) => {
        const t = initializer(m, 'enc0.conv1.weight');
        t.dims = [4, 3, 1, 1];
        t.rawData = bytesOf(new Float32Array(12));
      });
      await assert.rejects(importer.import(request(misshaped)), /misshaped\.onnx: .*'enc0\.conv1\.weight' is \[4, 3, 1, 1\], the configuration declares \[4, 3, 3, 3\]/);
      const double = tampered('double.onnx', (m) => {
        const t = initializer(m, 'head.bias');
        t.dataType = onnx.TensorProto.DataType.DOUBLE;
        t.rawData = new Uint8Array(0);
        t.doubleData = [0, 0, 0];
      });
      await assert.rejects(importer.import(request(double)), /double\.onnx: initializer 'head\.bias' holds DOUBLE values: only float32 weights can be imported/);
      const resized = tampered('resized.onnx', (m) => {
        const p = m.metadataProps.find((e) => e.key === 'fedciss.input')!;
        p.value = JSON.stringify({ ...JSON.parse(p.value!), height: 32, mean: [0.485, 0.456, 0.406] });
      });
      await assert.rejects(importer.import(request(resized)), /resized\.onnx: the model expects its input as NCHW RGB \[3, 32, 16\], .*0\.485.*the architecture stored with it feeds NCHW RGB \[3, 16, 16\]/);
      assert.deepEqual([await db.prisma.rosterClass.count(), await db.prisma.step.count(), await db.prisma.modelVersion.count()], [0, 0, 0], 'nothing written');
    });

    test('into a federation with a roster and an architecture', async () => {
      await importer.import(request(exported));
      const other = write('other-classes.onnx', exportSegmenterOnnx(trainedWeights(seg, 3, 2), seg, 3, { provenance: provenance(['liver', 'ureter']) }).bytes);
      await assert.rejects(importer.import(request(other)), /the classes of .*other-classes\.onnx liver,ureter differ from the roster's liver,colon/);
      const four = write('four.onnx', exportSegmenterOnnx(trainedWeights(seg, 4, 2), seg, 4, { provenance: provenance(['liver', 'colon', 'ureter']) }).bytes);
      await assert.rejects(importer.import(request(four)), /four\.onnx: the model predicts 4 classes, the roster has 3 \(background, liver, colon\)/);
      const wide = segmenterConfig({ ...seg, width: 8 });
      const wider = write('wider.onnx', exportSegmenterOnnx(trainedWeights(wide, 3, 2), wide, 3, { provenance: provenance(['liver', 'colon']) }).bytes);
      await assert.rejects(importer.import(request(wider)), /wider\.onnx: its architecture \{[^}]*"width":8[^}]*\} differs from the federation's \{[^}]*"width":4/);
      // An export from before the architecture was written: checked against the federation's.
      const old = tampered('old.onnx', (m) => m.metadataProps.splice(m.metadataProps.findIndex((e) => e.key === 'fedciss.segmenter'), 1));
      const r = await importer.import(request(old));
      assert.equal(r.createdStep0, false);
      const oldWide = write('old-wide.onnx', (() => {
        const m = onnx.ModelProto.decode(readFileSync(wider));
        m.metadataProps.splice(m.metadataProps.findIndex((e) => e.key === 'fedciss.segmenter'), 1);
        return onnx.ModelProto.encode(m).finish();
      })());
      await assert.rejects(importer.import(request(oldWide)), /old-wide\.onnx: not a segmenter of the configured architecture \(the file, exported before fedciss\.segmenter was written, records none\).*'enc0\.conv1\.weight' is \[8, 3, 3, 3\]/);
      assert.equal(await db.prisma.modelVersion.count(), 2, 'the first import and the old-format one');
    });
  });
});
