// The coordinator with in-test gRPC clients as sites, for what protects a site's data: the
// memorisation gate (a site withholds its generator; the round goes on without it, the console is
// told) and differential privacy (the spend per site is recorded and a round that would cross the
// budget is refused).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { TaskKind, UploadState, type Task } from '@fedciss/proto';
import { resolveConfig, type CoordinatorConfig } from '../config/coordinator-config';
import { startCoordinator, type RunningCoordinator } from '../main';
import { TensorModelFactory } from '../testing/tensor-model-factory';
import { TestSiteClient } from '../testing/site-client';
import { AdminAuthService } from '../auth/admin-auth.service';
import { until } from '../testing/until';
import { restClient, signIn } from '../testing/rest-client';

const PASSWORD = 'correct horse battery staple';

function shifted(weights: NamedTensors, by: number): NamedTensors {
  return new Map([...weights].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v) => v + by) }]));
}

describe('privacy of what leaves a site', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-privacy-'));
  let config: CoordinatorConfig;
  let coordinator: RunningCoordinator;
  let token = '';
  let a: TestSiteClient;
  let b: TestSiteClient;
  const api = restClient(() => coordinator.httpUrl, () => token);

  const taskOf = (site: TestSiteClient, kind: TaskKind) =>
    until(`a ${TaskKind[kind]} task for ${site.siteId}`, async () => {
      const t = await site.getTask();
      return t.kind === kind && t;
    });
  const uploadShifted = async (site: TestSiteClient, task: Task, kind: string, by: number) => {
    const base = decodeSafetensors(await site.download(task.globalModel!.versionId)).tensors;
    const receipt = await site.upload(
      { idempotencyKey: `key-${site.siteId}-${task.roundId}`, roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind, samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} },
      encodeSafetensors(shifted(base, by)),
    );
    assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
    return base;
  };

  before(async () => {
    config = resolveConfig({
      env: {},
      flags: { dataDir, insecure: true, autoApprove: true, grpcAddress: '127.0.0.1:0', httpPort: '0', quorum: '1', segmenterRounds: '1', generatorRounds: '1', deadline: '60', tickMs: '100' },
    });
    coordinator = await startCoordinator(config, new TensorModelFactory(), { logLevels: ['error'] });
    config.grpcAddress = `127.0.0.1:${coordinator.grpcPort}`;
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

  test('memorisation gate: a withheld generator is recorded, the round aggregates the others at once, the console is told', { timeout: 60_000 }, async () => {
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    for (const site of [a, b]) await uploadShifted(site, await taskOf(site, TaskKind.TASK_KIND_TRAIN_SEGMENTER), 'segmenter', 0.1);

    const genA = await taskOf(a, TaskKind.TASK_KIND_TRAIN_GENERATOR);
    const genB = await taskOf(b, TaskKind.TASK_KIND_TRAIN_GENERATOR);
    assert.equal(genA.roundId, genB.roundId);
    const base = await uploadShifted(a, genA, 'generator', 0.25);
    const ack = await b.reportWithheld({ roundId: genB.roundId, kind: 'generator', reason: 'memorisation gate: 2 of 8 generated samples lie within the threshold', metrics: { privacyFlagged: 2, privacyMinDistance: 0.001 } });
    assert.equal(ack.ok, true, ack.message);
    // The round closes now (b is alive, yet nothing is pending) with a's update only.
    const round = await until('the generator round to complete', async () => {
      const r = (await api('GET', '/api/rounds?step=0')).body.find((x: { kind: string }) => x.kind === 'generator');
      return r?.status === 'completed' && r;
    }, 10_000);
    assert.deepEqual(round.accepted, [a.siteId]);
    assert.deepEqual(round.withheld, [{ siteId: b.siteId, reason: 'memorisation gate: 2 of 8 generated samples lie within the threshold' }]);
    const result = decodeSafetensors(await a.download(round.resultVersionId)).tensors;
    assert.ok(Math.abs(result.get('denoiser.weight')!.data[0] - (base.get('denoiser.weight')!.data[0] + 0.25)) < 1e-6, 'the aggregate is a\'s update alone');
    // The console's overview lists it among the recent events (the audit log).
    const overview = (await api('GET', '/api/overview')).body;
    const entry = overview.events.find((e: { action: string }) => e.action === 'update.withheld');
    assert.ok(entry, 'update.withheld in the console\'s events');
    assert.equal(entry.actor, `site:${b.siteId}`);
    assert.deepEqual(entry.details.metrics, { privacyFlagged: 2, privacyMinDistance: 0.001 });
    // A second report for a closed round changes nothing.
    assert.equal((await b.reportWithheld({ roundId: genB.roundId, kind: 'generator', reason: 'again', metrics: {} })).ok, false);
    await assert.rejects(b.reportWithheld({ roundId: 'no-such-round', kind: 'generator', reason: 'x', metrics: {} }), /round 'no-such-round' does not exist/);
  });
});
