// Model configurations read back from the database and the training settings: typed by ml's
// parsers, a malformed one an error naming the row (or settings part) and the field.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { replayGeneratorConfig, segmenterConfig } from '@fedciss/ml';
import { openDatabase, type Database } from '../database/database';
import { DatabaseService } from '../database/database.service';
import { toJsonColumn } from '../database/json-column';
import { StepsRepository } from '../federation/repositories/steps.repository';
import type { StepConfig } from '../federation/step-config';
import { DEFAULT_TRAINING } from '../config/coordinator-config';
import { architectureProblems, federationArchitecture } from '../config/architecture-check';
import { generatorConfigOf, segmenterConfigOf } from './model-versions.service';
import { MlModelFactory } from './ml-model-factory';

const segmenter = segmenterConfig({ width: 8, depth: 2, inputSize: [32, 48] });
const generator = replayGeneratorConfig(segmenter.inputSize);
const stepConfig: StepConfig = { training: DEFAULT_TRAINING, segmenter, generator, numClasses: 3, newClassIds: [1, 2], segmenterRounds: 2, generatorRounds: 1 };

describe('stored model configurations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stored-configs-'));
  let database: Database;
  let db: DatabaseService;
  let steps: StepsRepository;

  before(async () => {
    database = await openDatabase({ dataDir: join(dir, 'db') });
    db = new DatabaseService(database);
    steps = new StepsRepository(db);
  });
  after(async () => {
    await database?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a step written through the repository reads back with ml-typed configurations, equal', async () => {
    await steps.create(db.prisma, { index: 0, status: 'completed', teacherVersionId: null, config: stepConfig });
    const read = await steps.byIndex(0);
    assert.deepEqual(read.config.segmenter, segmenter);
    assert.deepEqual(read.config.generator, generator);
    assert.deepEqual(read.config.training, DEFAULT_TRAINING, 'a step frozen with every setting reads back as it was');
  });

  test('a step frozen before later training settings existed reads back with each as the step trained without it, not today\'s default', async () => {
    const { separatedCe: _s, replayCe: _r, dice: _d, ...lossWeights } = DEFAULT_TRAINING.lossWeights;
    const { seconds: _g, ...generatorTraining } = DEFAULT_TRAINING.generatorTraining;
    const { warmupFraction: _w, replayCheck: _c, replayFraction: _f, replayBelowOldClassShare: _b, endpointFusion: _e, crossSiteEvaluation: _x, evaluateEveryRound: _v, privacy: _p, ...rest } = DEFAULT_TRAINING;
    const legacy = { ...rest, replayFidelityThreshold: 0.5, lossWeights: { ...lossWeights, ce: 1 }, generatorTraining };
    await db.prisma.step.create({ data: { index: 3, status: 'training', config: toJsonColumn({ ...stepConfig, training: legacy }) } });
    const t = (await steps.byIndex(3)).config.training;
    assert.deepEqual(t.lossWeights, { ...DEFAULT_TRAINING.lossWeights, ce: 1, separatedCe: 0, replayCe: 0, dice: 0 }, 'the plain cross-entropy alone, as then');
    assert.equal(t.generatorTraining.seconds, 0, 'generator rounds by epochs');
    assert.equal(t.replayCheck, true, 'turned on by its fidelity threshold');
    assert.deepEqual([t.warmupFraction, t.replayFraction, t.replayBelowOldClassShare, t.endpointFusion], [0, 0, 0, 0]);
    assert.deepEqual([t.crossSiteEvaluation, t.evaluateEveryRound], [false, false]);
    assert.deepEqual(t.privacy, { differentialPrivacy: null, secureAggregation: null });
    const { replayFidelityThreshold: _t, ...withoutThreshold } = legacy;
    await db.prisma.step.create({ data: { index: 4, status: 'training', config: toJsonColumn({ ...stepConfig, training: withoutThreshold }) } });
    const u = (await steps.byIndex(4)).config.training;
    assert.deepEqual([u.replayFidelityThreshold, u.replayCheck], [0, false], 'neither: no replay check');
  });

  test('a step whose stored segmenter or generator is malformed: the error names the step and the field', async () => {
    await db.prisma.step.create({ data: { index: 1, status: 'completed', config: toJsonColumn({ ...stepConfig, segmenter: { ...segmenter, widht: 8 } }) } });
    await assert.rejects(steps.byIndex(1), /^Error: step 1's config\.segmenter: unknown segmenter setting 'widht'$/);
    await db.prisma.step.create({ data: { index: 2, status: 'completed', config: toJsonColumn({ ...stepConfig, generator: { ...generator, baseChannels: '16' } }) } });
    await assert.rejects(steps.byIndex(2), /^Error: step 2's config\.generator: diffusion baseChannels must be an integer, got "16"$/);
  });

  test("a model version's config column: typed by its kind, a malformed one names the version", () => {
    assert.deepEqual(segmenterConfigOf({ id: 'seg-0-a', config: JSON.parse(JSON.stringify(segmenter)) }), segmenter);
    assert.deepEqual(generatorConfigOf({ id: 'gen-0-a', config: JSON.parse(JSON.stringify(generator)) }), generator);
    assert.throws(() => segmenterConfigOf({ id: 'seg-0-b', config: JSON.parse(JSON.stringify({ ...segmenter, norm: 'layer' })) }), /model version seg-0-b's config: segmenter norm must be 'group' or 'batch'/);
    assert.throws(() => generatorConfigOf({ id: 'gen-0-b', config: [] }), /model version gen-0-b's config: the diffusion configuration is not an object/);
  });
});

test('the training settings: overrides on the factory defaults, a wrong value named at start-up', () => {
  const factory = new MlModelFactory();
  const arch = federationArchitecture({ segmenter: { width: 8, depth: 2, inputSize: [32, 48] } }, factory);
  assert.deepEqual(arch.segmenter, segmenter);
  assert.deepEqual(arch.generator, generator);
  assert.deepEqual(federationArchitecture({ generator: { baseChannels: 8 } }, factory).generator, { ...replayGeneratorConfig(factory.defaultSegmenterConfig().inputSize), baseChannels: 8 });
  assert.deepEqual(architectureProblems({ segmenter: { width: '8' } }, factory), ['segmenter: segmenter width must be an integer, got "8"']);
  assert.deepEqual(architectureProblems({ generator: { prediction: 'x0' } }, factory), ['generator: diffusion prediction must be \'eps\' or \'v\', got "x0"']);
});
