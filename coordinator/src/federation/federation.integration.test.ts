// The coordinator with in-test gRPC clients as sites: a whole step (training round, aggregation,
// evaluation round), a restart in the middle of a round, resumable and corrupted uploads, a
// rejected update, and a site that tries to act as another.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind, UploadState, type Task } from '@fedciss/proto';
import { resolveConfig, type CoordinatorConfig } from '../config/coordinator-config';
import { startCoordinator, type RunningCoordinator } from '../main';
import { TensorModelFactory } from '../testing/tensor-model-factory';
import { TestSiteClient } from '../testing/site-client';
import { AdminAuthService } from '../auth/admin-auth.service';
import { until } from '../testing/until';
import { restClient, signIn } from '../testing/rest-client';
import { shifted } from '../testing/aggregation';

const PASSWORD = 'correct horse battery staple';



describe('coordinator federation over gRPC', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-it-'));
  let config: CoordinatorConfig;
  let coordinator: RunningCoordinator;
  let token = '';
  let a: TestSiteClient;
  let b: TestSiteClient;

  const start = async () => {
    coordinator = await startCoordinator(config, new TensorModelFactory(), { logLevels: ['error'] });
    // The gRPC port must stay the same across a restart for the clients: bind the one we got first.
    config.grpcAddress = `127.0.0.1:${coordinator.grpcPort}`;
  };
  const api = restClient(() => coordinator.httpUrl, () => token);
  const train = async (site: TestSiteClient, by: number, samples: number, key: string): Promise<Task> => {
    const task = await until('a training task', async () => {
      const t = await site.getTask();
      return t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t;
    });
    const base = decodeSafetensors(await site.download(task.globalModel!.versionId)).tensors;
    const receipt = await site.upload(
      { idempotencyKey: key, roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: samples, replayImages: 0, labelledPixels: 0 }, trainMetrics: { loss: 0.5 } },
      encodeSafetensors(shifted(base, by)),
    );
    assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
    return task;
  };

  before(async () => {
    config = resolveConfig({
      env: {},
      flags: { dataDir, insecure: true, autoApprove: true, grpcAddress: '127.0.0.1:0', httpPort: '0', quorum: '2', segmenterRounds: '1', generatorRounds: '0', deadline: '60', tickMs: '100' },
    });
    // Each site's local model is also evaluated at every site (the report's cross-site matrix).
    config.training = { ...config.training, crossSiteEvaluation: true };
    await start();
    await coordinator.app.get(AdminAuthService).createUser('test', 'admin', PASSWORD, 'admin');
    token = await signIn(coordinator.httpUrl, 'admin', PASSWORD);
    a = new TestSiteClient(config.grpcAddress);
    b = new TestSiteClient(config.grpcAddress);
    await a.enroll('Hospital A');
    await b.enroll('Hospital B');
    await a.heartbeat();
    await b.heartbeat();
  });

  after(async () => {
    a?.close();
    b?.close();
    await coordinator?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('admin API refuses bad input with messages that name the field', async () => {
    const bad = await api('POST', '/api/roster/classes', { classes: [{ name: 'Liver!', color: 'red' }] });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body.message), /name must be lower-case/);
    assert.match(JSON.stringify(bad.body.message), /color must look like #rrggbb/);
    const anonymous = await fetch(`${coordinator.httpUrl}/api/roster`);
    assert.equal(anonymous.status, 401);
  });

  test('step 0: two sites train, the round aggregates by samples, evaluation completes the step', { timeout: 60_000 }, async () => {
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }, { name: 'colon' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    assert.equal(opened.body.step, 0);
    assert.deepEqual(opened.body.classes.map((c: { id: number }) => c.id), [1, 2]);

    const task = await train(a, 0.1, 10, 'key-a-step0-round0');
    assert.deepEqual(task.roster.map((c) => c.name), ['background', 'liver', 'colon']);
    // A second upload of the same update (same key) gets the same answer and changes nothing.
    const base = decodeSafetensors(await a.download(task.globalModel!.versionId)).tensors;
    const again = await a.upload(
      { idempotencyKey: 'key-a-step0-round0', roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} },
      encodeSafetensors(shifted(base, 0.1)),
    );
    assert.equal(again.state, UploadState.UPLOAD_STATE_ACCEPTED);
    await train(b, 0.4, 30, 'key-b-step0-round0');

    const round = await until('the round to complete', async () => {
      const r = (await api('GET', '/api/rounds?step=0')).body.find((x: { kind: string }) => x.kind === 'segmenter');
      return r?.status === 'completed' && r;
    });
    // FedAvg weighted by samples: (10 * 0.1 + 30 * 0.4) / 40 = 0.325 added to every weight.
    const result = decodeSafetensors(await a.download(round.resultVersionId)).tensors;
    for (const [name, t] of result) {
      const b0 = base.get(name)!;
      t.data.forEach((v, i) => assert.ok(Math.abs(v - (b0.data[i] + 0.325)) < 1e-6, `${name}[${i}]`));
    }

    const localModels = new Map<string, string>();
    for (const site of [a, b]) {
      const evalTask = await until('an evaluation task', async () => {
        const t = await site.getTask();
        return t.kind === TaskKind.TASK_KIND_EVALUATE && t;
      });
      assert.equal(evalTask.globalModel!.versionId, round.resultVersionId);
      assert.equal(evalTask.crossSiteModels.length, 2, 'both sites\' local models are to be evaluated');
      // Which local model is whose: the versions registered for the evaluation round say so in their notes.
      for (const m of (await api('GET', '/api/models')).body as Array<{ id: string; note: string }>) {
        const owner = /^local model of (\S+)/.exec(m.note)?.[1];
        if (owner) localModels.set(owner, m.id);
      }
      for (const local of evalTask.crossSiteModels) {
        // Hand-made counts: a site's own model scores liver IoU 0.9 at home and 0.5 elsewhere.
        const own = local.versionId === localModels.get(site.siteId);
        await site.reportEvaluation({
          modelVersionId: local.versionId, roundId: evalTask.roundId, images: 4, split: 'test', evaluatedSiteModel: local.versionId,
          classes: [{ classId: 1, truePositive: own ? 9 : 1, falsePositive: 1, falseNegative: 0 }],
        });
      }
      await site.reportEvaluation({
        modelVersionId: evalTask.globalModel!.versionId, roundId: evalTask.roundId, images: 4, split: 'test', evaluatedSiteModel: '',
        classes: [{ classId: 1, truePositive: 80, falsePositive: 10, falseNegative: 10 }, { classId: 2, truePositive: 50, falsePositive: 25, falseNegative: 25 }],
      });
    }
    await until('step 0 to complete', async () => (await api('GET', '/api/steps')).body[0]?.status === 'completed');
    const done = await a.getTask();
    assert.equal(done.kind, TaskKind.TASK_KIND_DONE);
    // The federated report pools both sites' pixel counts: liver 160 / (160 + 20 + 20), colon 100 / 200.
    const report = (await api('GET', '/api/reports')).body.steps[0];
    assert.equal(report.modelVersionId, round.resultVersionId);
    assert.equal(report.perClassIoU[1], 0.8);
    assert.equal(report.perClassIoU[2], 0.5);
    assert.equal(report.mIoU.new, 0.65);
    assert.equal(report.images, 8);
    const cell = (model: string, at: string) => report.crossSite.find((c: { modelSite: string; evaluatedAt: string }) => c.modelSite === model && c.evaluatedAt === at).mIoU.all;
    assert.equal(report.crossSite.length, 4);
    assert.equal(cell(a.siteId, a.siteId), 0.9);
    assert.equal(cell(a.siteId, b.siteId), 0.5);
    assert.equal(cell(b.siteId, b.siteId), 0.9);
    // Overlays are drawn on generated images; this federation trains no generator, and says so.
    const overlays = await api('GET', `/api/reports/overlays/${round.resultVersionId}`);
    assert.equal(overlays.status, 404);
    assert.match(overlays.body.message, /no generator has been trained yet/);
    const html = await fetch(`${coordinator.httpUrl}/api/reports/report.html`, { headers: { authorization: `Bearer ${token}` } });
    assert.match(await html.text(), /<h2>mIoU per step<\/h2>[\s\S]*<td>0<\/td><td>–<\/td><td>65\.0<\/td>/);
  });

  test('a corrupted chunk is refused, the upload resumes, and a site cannot use another site\'s key', { timeout: 60_000 }, async () => {
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'ureter' }] });
    assert.equal(opened.body.step, 1);
    const task = await until('a training task', async () => {
      const t = await a.getTask();
      return t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t;
    });
    assert.equal(task.hyperParameters!.replayFraction, 0.25, "a step after the first carries the settings' replay share (the default)");
    assert.equal(task.hyperParameters!.replayBelowOldClassShare, 0.04, "and the old-class share at which a site skips replay (the default)");
    assert.equal(task.hyperParameters!.replayCheck, true, 'and the replay check (the default)');
    assert.equal(task.hyperParameters!.replayFidelityThreshold, 0, 'with no absolute fidelity threshold (the default): the noise floor decides');
    assert.equal(task.hyperParameters!.warmupFraction, 0.1, "and the learning rate's warm-up (the default)");
    const base = decodeSafetensors(await a.download(task.globalModel!.versionId)).tensors;
    assert.deepEqual(base.get('head.weight')!.shape, [4, 4], 'the head grew to 4 classes');
    const blob = encodeSafetensors(shifted(base, 0.2));
    const header = { idempotencyKey: 'key-a-step1', roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 5, replayImages: 5, labelledPixels: 0 }, trainMetrics: {} };
    await assert.rejects(a.upload(header, blob, { chunkBytes: 100, corruptChunk: 2 }), (e: grpc.ServiceError) => e.code === grpc.status.INVALID_ARGUMENT && /offset 200 failed its sha256 check/.test(e.details));
    const status = await a.uploadStatus('key-a-step1');
    assert.equal(status.state, UploadState.UPLOAD_STATE_PARTIAL);
    assert.equal(status.receivedBytes, 200, 'the two good chunks before the corrupt one are kept');
    await assert.rejects(b.uploadStatus('key-a-step1'), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED);

    // The coordinator restarts in the middle of the round; the upload resumes where it stopped.
    await coordinator.close();
    await start();
    const resumed = await a.upload(header, blob, { chunkBytes: 100, offset: 200 });
    assert.equal(resumed.state, UploadState.UPLOAD_STATE_ACCEPTED, resumed.reason);

    // A NaN update is rejected with its reason and the round goes on.
    const bTask = await until('b\'s task', async () => {
      const t = await b.getTask();
      return t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t;
    });
    const poisoned = shifted(base, 0);
    poisoned.get('body.weight')!.data[3] = NaN;
    const rejected = await b.upload({ ...header, idempotencyKey: 'key-b-step1-nan', samples: { realImages: 5, replayImages: 0, labelledPixels: 0 } }, encodeSafetensors(poisoned));
    assert.equal(rejected.state, UploadState.UPLOAD_STATE_REJECTED);
    assert.match(rejected.reason, /tensor 'body\.weight' has a non-finite value \(NaN\) at flat index 3/);
    await train(b, 0.4, 10, 'key-b-step1-good');
    assert.equal(bTask.roundId, task.roundId);

    const round = await until('the step 1 round to complete', async () => {
      const r = (await api('GET', '/api/rounds?step=1')).body.find((x: { kind: string }) => x.kind === 'segmenter');
      return r?.status === 'completed' && r;
    });
    assert.deepEqual([...round.accepted].sort(), [a.siteId, b.siteId].sort());
    const updates = (await api('GET', `/api/sites/${b.siteId}/updates`)).body;
    assert.ok(updates.some((u: { status: string; rejectionReason: string }) => u.status === 'rejected' && /non-finite/.test(u.rejectionReason)));
    const result = decodeSafetensors(await a.download(round.resultVersionId)).tensors;
    // Equal samples (10 and 10): the mean of +0.2 and +0.4.
    assert.ok(Math.abs(result.get('body.weight')!.data[0] - (base.get('body.weight')!.data[0] + 0.3)) < 1e-6);
  });
});
