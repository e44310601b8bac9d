// What a Task carries from the coordinator's training settings to a site's loss, over the real gRPC
// path: a coordinator started in-process with the real model factory, a site asking for its task,
// the site agent's reading of the task into ml's types, and one local training step whose total
// loss is the weighted sum with the coordinator's FedProx mu and loss weights.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { classCountOf, decodeSafetensors, trainLocalSegmenter } from '@fedciss/ml';
import { shapeScenes } from '@fedciss/ml/testing';
import type { Task } from '@fedciss/proto';
import { AdminAuthService, MlModelFactory, parseTrainingSettings, resolveConfig, startCoordinator, type RunningCoordinator } from '@fedciss/coordinator';
import { openStepTasks, restClient, signIn, TestSiteClient } from '@fedciss/coordinator/testing';
import { localTrainHyperOf, segmenterArchitectureOf } from '@fedciss/site-agent';

const PASSWORD = 'correct horse battery staple';
const MU = 0.05;
const SEGMENTER = { width: 4, depth: 1, inputSize: [16, 16], embedDim: 4, groups: 2, norm: 'group', inChannels: 3 };

describe('the task contract, coordinator to loss', { timeout: 120_000 }, () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'e2e-task-contract-'));
  let coordinator: RunningCoordinator;
  let site: TestSiteClient;
  let task: Task;

  before(async () => {
    const config = resolveConfig({
      env: {},
      flags: { dataDir, insecure: true, autoApprove: true, grpcAddress: '127.0.0.1:0', httpPort: '0', quorum: '1', segmenterRounds: '2', generatorRounds: '0', deadline: '60', tickMs: '100' },
    });
    config.training = parseTrainingSettings(JSON.stringify({
      localEpochs: 3,
      batchSize: 4,
      learningRate: 0.02,
      pseudoLabelThreshold: 0.8,
      lossWeights: { ce: 1, unbiasedCe: 0.5, separatedCe: 0.7, replayCe: 0.6, kd: 3, pod: 0.25, contrastive: 0.2, dice: 0.4, pseudoLabels: 0 },
      aggregation: { strategy: 'fedprox', proximalMu: MU },
      serverDistillSteps: 0,
      replayFraction: 0.3,
      warmupFraction: 0.2,
      segmenter: SEGMENTER,
    }), 'task-contract.json');
    coordinator = await startCoordinator(config, new MlModelFactory(), { logLevels: ['error'] });
    await coordinator.app.get(AdminAuthService).createUser('test', 'admin', PASSWORD, 'admin');
    const token = await signIn(coordinator.httpUrl, 'admin', PASSWORD);
    site = new TestSiteClient(`127.0.0.1:${coordinator.grpcPort}`);
    await site.enroll('Hospital A');
    await site.heartbeat();
    [task] = await openStepTasks(restClient(() => coordinator.httpUrl, () => token), [site], ['liver', 'stomach']);
  });

  after(async () => {
    site?.close();
    await coordinator?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the task carries every setting as its own typed field', () => {
    const hp = task.hyperParameters!;
    assert.equal(hp.fedproxMu, MU, 'FedProx mu of the strategy');
    assert.deepEqual(hp.lossWeights, { ce: 1, unbiasedCe: 0.5, separatedCe: 0.7, replayCe: 0.6, kd: 3, pod: 0.25, contrastive: 0.2, dice: 0.4 });
    assert.equal(hp.pseudoLabels, false);
    assert.deepEqual(hp.segmenterArchitecture, SEGMENTER);
    assert.deepEqual([hp.localEpochs, hp.batchSize, hp.learningRate, hp.pseudoLabelThreshold, hp.roundsInStep], [3, 4, 0.02, 0.8, 2]);
    assert.equal(hp.replayFraction, 0, 'step 0 has nothing to replay: the share is not sent');
    assert.equal(hp.replayBelowOldClassShare, 0, 'nor the old-class share at which a site skips replay');
    assert.equal(hp.replayCheck, false, 'nor the replay check');
    assert.equal(hp.warmupFraction, 0, 'nor the warm-up: step 0 trains from scratch');
  });

  test("the site reads it into ml's types, and mu and the weights reach the loss", async () => {
    const hyper = localTrainHyperOf(task);
    assert.deepEqual(hyper, {
      epochs: 3, batchSize: 4, learningRate: 0.02, fedproxMu: MU, pseudoLabels: false, pseudoLabelThreshold: 0.8,
      lossWeights: { ce: 1, unbiasedCe: 0.5, separatedCe: 0.7, replayCe: 0.6, kd: 3, pod: 0.25, contrastive: 0.2, dice: 0.4 }, schedule: { round: 0, rounds: 2 }, warmupFraction: 0,
    });
    const config = segmenterArchitectureOf(task);
    const weights = decodeSafetensors(await site.download(task.globalModel!.versionId)).tensors;
    const seen: Record<string, number>[] = [];
    await trainLocalSegmenter({
      config, weights, numClasses: classCountOf(weights), seed: 1,
      real: shapeScenes(4, { size: 16, draw: [1, 2], annotate: [1, 2], seed: 3 }),
      hyper: { ...hyper, epochs: 1, stepsPerEpoch: 2 },
      onProgress: (p) => seen.push({ ...p.losses }),
    });
    // Step 0 has no teacher: kd and pod do not run, nor replayCe (nothing to replay); the proximal term
    // does, weighted by the coordinator's mu.
    const l = seen[1];
    assert.deepEqual(Object.keys(l).sort(), ['ce', 'contrastive', 'dice', 'prox', 'separatedCe', 'total', 'unbiasedCe']);
    assert.ok(l.prox > 0, 'the second step has moved away from the global weights');
    assert.ok(Math.abs(l.separatedCe - l.ce) < 1e-6, 'without a teacher the separated cross-entropy is the plain one');
    assert.ok(Math.abs(l.total - (l.ce + 0.5 * l.unbiasedCe + 0.7 * l.separatedCe + 0.2 * l.contrastive + 0.4 * l.dice + MU * l.prox)) < 1e-5, JSON.stringify(l));
  });
});
