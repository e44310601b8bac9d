// Server-side distillation on the platform's real model factory (ml's segmenter and diffusion
// generator, not the test factory's stand-in tensors): a step-1 segmenter with a grown head is
// distilled from the step's teacher on the global generator's images, through the model store.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffusionConfig, segmenterConfig } from '@fedciss/ml';
import { openDatabase, type Database } from '../database/database';
import { DatabaseService } from '../database/database.service';
import { LocalBlobStore } from '../model-store/local-blob-store';
import { MlModelFactory } from '../models/ml-model-factory';
import { ModelVersionsService } from '../models/model-versions.service';
import { DEFAULT_TRAINING } from '../config/coordinator-config';
import { GlobalModels } from './global-models';
import { ServerStateRepository } from './repositories/server-state.repository';
import { ServerDistillation } from './server-distillation.service';
import type { StepConfig } from './step-config';

const seg = { ...segmenterConfig({ width: 4, depth: 1, inputSize: [16, 16], embedDim: 4, groups: 2 }) };
const gen = { ...diffusionConfig({ imageSize: 16, baseChannels: 4, channelMults: [1], attentionResolutions: [], groups: 2 }) };

describe('server-side distillation with the ml model factory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'server-distillation-'));
  const factory = new MlModelFactory();
  let database: Database;
  let models: ModelVersionsService;
  let globals: GlobalModels;
  let distillation: ServerDistillation;
  let teacherId: string;

  before(async () => {
    database = await openDatabase({ dataDir: join(dir, 'db') });
    const db = new DatabaseService(database);
    models = new ModelVersionsService(db, new LocalBlobStore(join(dir, 'models')));
    globals = new GlobalModels(new ServerStateRepository(db));
    distillation = new ServerDistillation(models, globals, factory);
    const teacher = await models.create({ kind: 'segmenter', weights: await factory.createSegmenter({ numClasses: 2, config: seg }, 1), stepIndex: 0, numClasses: 2, config: seg, note: 'teacher' });
    teacherId = teacher.id;
    const generator = await models.create({ kind: 'generator', weights: await factory.createGenerator(gen, 2), stepIndex: 0, numClasses: 0, config: gen, note: 'generator' });
    await globals.set('generator', generator.id, db.prisma);
  });
  after(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const step = (teacherVersionId: string | null, serverDistillSteps: number) => {
    const config: StepConfig = {
      training: { ...DEFAULT_TRAINING, serverDistillSteps, serverDistillation: { images: 2, samplingSteps: 2, batchSize: 2, learningRate: 0.05 } },
      segmenter: seg, generator: gen, numClasses: 3, newClassIds: [2], segmenterRounds: 1, generatorRounds: 1,
    };
    return { index: 1, teacherVersionId, config };
  };

  test('a segmenter round of a step with a teacher is distilled: same tensors, changed weights, a finite loss in the note', { timeout: 120_000 }, async () => {
    const student = await factory.growHead(await models.weights(teacherId), 2, 3);
    const out = await distillation.apply({ kind: 'segmenter', index: 0 }, step(teacherId, 3), student);
    assert.ok(out, 'distilled');
    assert.deepEqual([...out.weights.keys()].sort(), [...student.keys()].sort());
    for (const [name, t] of student) assert.deepEqual(out.weights.get(name)!.shape, t.shape, name);
    const changed = [...student].filter(([name, t]) => t.data.some((v, i) => v !== out.weights.get(name)!.data[i])).length;
    assert.ok(changed > 0, 'distillation changed the student');
    for (const t of out.weights.values()) assert.ok(t.data.every(Number.isFinite));
    const loss = Number(/loss ([^,]+),/.exec(out.note)?.[1]);
    assert.match(out.note, /^server-side distillation, 3 steps, loss /);
    assert.ok(Number.isFinite(loss) && loss >= 0, out.note);
  });

  test('nothing is distilled without a teacher, for a generator round, or with no steps asked', async () => {
    const student = await factory.growHead(await models.weights(teacherId), 2, 3);
    assert.equal(await distillation.apply({ kind: 'segmenter', index: 0 }, step(null, 3), student), null);
    assert.equal(await distillation.apply({ kind: 'generator', index: 0 }, step(teacherId, 3), student), null);
    assert.equal(await distillation.apply({ kind: 'segmenter', index: 0 }, step(teacherId, 0), student), null);
  });
});
