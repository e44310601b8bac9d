// Importing a model trained elsewhere: checked against its architecture and the roster before
// anything is written; into an empty federation it creates the roster and a completed step 0.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { createDiffusionWeights, createSegmenterWeights, diffusionConfig, encodeSafetensors, replayGeneratorConfig, segmenterConfig, type NamedTensors } from '@fedciss/ml';
import { openDatabase, type Database } from '../database/database';
import { DatabaseService } from '../database/database.service';
import { GlobalModels } from '../federation/global-models';
import { ServerStateRepository } from '../federation/repositories/server-state.repository';
import { DEFAULT_TRAINING } from '../config/coordinator-config';
import { register, type ImportModelContext } from '../cli/commands/models-import.command';
import { ModelImporter } from './model-import';

const seg = segmenterConfig({ width: 4, depth: 1, inputSize: [16, 16], embedDim: 4, groups: 2 });
const gen = diffusionConfig({ imageSize: 8, baseChannels: 4, channelMults: [1], attentionResolutions: [], groups: 2 });

describe('coordinator models import', () => {
  const dir = mkdtempSync(join(tmpdir(), 'model-import-'));
  let database: Database;
  let importer: ModelImporter;
  let db: DatabaseService;
  const file = (name: string, weights: NamedTensors, meta: Record<string, string>) => {
    const path = join(dir, name);
    writeFileSync(path, encodeSafetensors(weights, meta));
    return path;
  };
  const segFile = (name: string, classes: number, config: object = seg) => file(name, createSegmenterWeights(config as typeof seg, classes, 1), { kind: 'segmenter', numClasses: String(classes), config: JSON.stringify(config) });
  const request = (f: string, classes?: string[]) => ({ file: f, classes, rounds: { segmenterRounds: 2, generatorRounds: 1 }, training: DEFAULT_TRAINING });

  before(async () => {
    database = await openDatabase({ dataDir: join(dir, 'db') });
    db = new DatabaseService(database);
    importer = ModelImporter.open(db, join(dir, 'models'));
  });
  after(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('refuses what it cannot check, before writing anything', async () => {
    const three = segFile('three.safetensors', 3);
    await assert.rejects(importer.import(request(join(dir, 'model.pt'))), /only \.safetensors or \.onnx files/);
    await assert.rejects(importer.import(request(three)), /no roster yet: give the model's 2 class names/);
    await assert.rejects(importer.import(request(three, ['liver'])), /names 1 classes, the model predicts 2/);
    await assert.rejects(importer.import(request(three, ['liver', 'Liver!'])), /--classes\[1\] 'Liver!'/);
    // weights that do not match the architecture stored with them
    const wrong = file('wrong.safetensors', createSegmenterWeights(seg, 3, 1), { kind: 'segmenter', config: JSON.stringify({ ...seg, width: 8 }) });
    await assert.rejects(importer.import(request(wrong, ['liver', 'colon'])), /not a segmenter of the architecture stored with it: .*'enc0/);
    const generator = file('gen.safetensors', createDiffusionWeights(gen), { kind: 'generator', config: JSON.stringify(gen) });
    await assert.rejects(importer.import({ ...request(generator), kind: 'segmenter' }), /holds a generator, not a segmenter/);
    // Into an empty federation a generator must have the architecture the training settings give one.
    await assert.rejects(importer.import(request(generator)), /differs from the generator the training settings give a new federation \(imageSize: 8 in the file/);
    assert.equal(await db.prisma.rosterClass.count(), 0);
    assert.equal(await db.prisma.modelVersion.count(), 0);
  });

  test('into an empty federation: roster, a completed step 0 and the global model; then a generator', async () => {
    const r = await importer.import(request(segFile('step0.safetensors', 3), ['liver', 'colon']));
    assert.deepEqual([r.kind, r.numClasses, r.step, r.createdStep0], ['segmenter', 3, 0, true]);
    const roster = await db.prisma.rosterClass.findMany({ orderBy: { id: 'asc' } });
    assert.deepEqual(roster.map((c) => [c.id, c.name, c.stepAdded]), [[0, 'background', 0], [1, 'liver', 0], [2, 'colon', 0]]);
    const step = await db.prisma.step.findUniqueOrThrow({ where: { index: 0 } });
    assert.equal(step.status, 'completed');
    assert.deepEqual((step.config as { newClassIds: number[] }).newClassIds, [1, 2]);
    assert.deepEqual((step.config as { generator: unknown }).generator, replayGeneratorConfig(seg.inputSize), "a fresh federation's generator for this segmenter");
    assert.equal(await new GlobalModels(new ServerStateRepository(db)).current('segmenter'), r.versionId);

    // A segmenter that does not predict the roster's classes is refused; one that does replaces the global model.
    await assert.rejects(importer.import(request(segFile('four.safetensors', 4))), /predicts 4 classes, the roster has 3 \(background, liver, colon\)/);
    await assert.rejects(importer.import(request(segFile('other.safetensors', 3), ['colon', 'liver'])), /differ from the roster's liver,colon/);
    const again = await importer.import(request(segFile('better.safetensors', 3)));
    assert.equal(await new GlobalModels(new ServerStateRepository(db)).current('segmenter'), again.versionId);
    assert.equal((await db.prisma.modelVersion.findUniqueOrThrow({ where: { id: again.versionId } })).parentId, r.versionId);

    const g = await importer.import(request(file('gen2.safetensors', createDiffusionWeights(gen), { kind: 'generator', config: JSON.stringify(gen) })));
    assert.equal(await new GlobalModels(new ServerStateRepository(db)).current('generator'), g.versionId);
    const cfg = (await db.prisma.step.findUniqueOrThrow({ where: { index: 0 } })).config as { generator: { imageSize: number } };
    assert.equal(cfg.generator.imageSize, 8, "step 0's generator architecture is the imported one");
    assert.ok(await db.prisma.auditEntry.count({ where: { action: 'model.import' } }) >= 3);
  });

  test('the command parses its flags into a typed context', async () => {
    const seen: ImportModelContext[] = [];
    const p = new Command('coordinator').exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
    register(p, async (ctx) => {
      seen.push(ctx);
      return { versionId: 'v', kind: 'segmenter', numClasses: 3, step: 0, createdStep0: true, fresh: [] };
    });
    p.commands.forEach((c) => c.exitOverride().commands.forEach((s) => s.exitOverride()));
    await p.parseAsync(['node', 'coordinator', 'models', 'import', '--file', 'm.safetensors', '--classes', 'liver, colon', '--data-dir', 'd']);
    assert.deepEqual([seen[0].file, seen[0].classes, seen[0].dataDir, seen[0].kind], ['m.safetensors', ['liver', 'colon'], 'd', undefined]);
    await assert.rejects(p.parseAsync(['node', 'coordinator', 'models', 'import', '--file', 'm.safetensors', '--kind', 'vae']), /--kind must be segmenter or generator/);
  });
});
