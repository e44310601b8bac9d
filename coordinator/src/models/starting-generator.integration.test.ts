// A generator pretrained elsewhere, imported before the first step (`coordinator models import
// --kind generator` into an empty federation): step 0 trains on from it, with its architecture,
// instead of from a fresh generator. The import and the coordinator are the real ones, on one data
// folder, as an operator runs them.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiffusionWeights, diffusionConfig, encodeSafetensors } from '@fedciss/ml';
import { resolveConfig, type CoordinatorConfig } from '../config/coordinator-config';
import { openDatabase } from '../database/database';
import { DatabaseService } from '../database/database.service';
import { startCoordinator, type RunningCoordinator } from '../main';
import { AdminAuthService } from '../auth/admin-auth.service';
import { restClient, signIn } from '../testing/rest-client';
import { GlobalModels } from '../federation/global-models';
import { ModelImporter } from './model-import';
import { MlModelFactory } from './ml-model-factory';

const PASSWORD = 'correct horse battery staple';
// Smaller than any default, so that step 0 can only have it from the import.
const pretrained = diffusionConfig({ imageSize: 8, imageWidth: 12, baseChannels: 4, channelMults: [1, 2], attentionResolutions: [], groups: 2, prediction: 'v' });

describe('a generator imported before the first step', () => {
  const dir = mkdtempSync(join(tmpdir(), 'starting-generator-'));
  let config: CoordinatorConfig;
  let coordinator: RunningCoordinator | undefined;
  let imported = '';

  before(async () => {
    config = resolveConfig({ env: {}, flags: { dataDir: dir, insecure: true, grpcAddress: '127.0.0.1:0', httpPort: '0', segmenterRounds: '1', generatorRounds: '1' } });
    const file = join(dir, 'pretrained.safetensors');
    writeFileSync(file, encodeSafetensors(createDiffusionWeights(pretrained, 5), { kind: 'generator', config: JSON.stringify(pretrained) }));
    const database = await openDatabase({ dataDir: join(dir, 'db') });
    try {
      const importer = ModelImporter.open(new DatabaseService(database), join(dir, 'models'));
      const request = { file, kind: 'generator' as const, rounds: config.rounds };
      // The training settings' generator (the default, for the default segmenter) is another architecture: refused, nothing written.
      await assert.rejects(importer.import({ ...request, training: config.training }), /differs from the generator the training settings give a new federation \(imageSize: 8 in the file, \d+ configured.*set training\.generator/);
      const r = await importer.import({ ...request, training: { ...config.training, generator: { ...pretrained } } });
      assert.deepEqual([r.kind, r.step, r.createdStep0], ['generator', 0, false]);
      imported = r.versionId;
    } finally {
      await database.close();
    }
  });

  after(async () => {
    await coordinator?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('step 0 opens with it as the global generator and its architecture, even where the settings say otherwise', { timeout: 60_000 }, async () => {
    // Started with the default training settings: the imported generator's stored architecture wins.
    coordinator = await startCoordinator(config, new MlModelFactory(), { logLevels: ['error'] });
    await coordinator.app.get(AdminAuthService).createUser('test', 'admin', PASSWORD, 'admin');
    const token = await signIn(coordinator.httpUrl, 'admin', PASSWORD);
    const api = restClient(() => coordinator!.httpUrl, () => token);
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    assert.equal(await coordinator.app.get(GlobalModels).current('generator'), imported, 'no fresh generator was made');
    const db = coordinator.app.get(DatabaseService);
    const step = await db.prisma.step.findUniqueOrThrow({ where: { index: 0 } });
    assert.deepEqual((step.config as { generator: unknown }).generator, pretrained);
    assert.equal(await db.prisma.modelVersion.count({ where: { kind: 'generator' } }), 1);
    const audit = await db.prisma.auditEntry.findFirstOrThrow({ where: { action: 'model.import' } });
    assert.equal(audit.target, imported);
  });
});
