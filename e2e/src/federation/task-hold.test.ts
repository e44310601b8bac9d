// GetTask as a long poll across the seam: the site agent's CoordinatorClient asks the coordinator to
// hold its call (GetTaskRequest.hold_ms), and a real coordinator answers with the next round's task
// the moment the round opens, where a site polling every 2 s began every round up to 2 s late. A
// caller that does not ask (the in-test client) still gets its WAIT at once.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind, UploadState, type Task } from '@fedciss/proto';
import { openStepTasks, shiftedModel, useTestFederation } from '@fedciss/coordinator/testing';
import { CoordinatorClient, OutboundAudit } from '@fedciss/site-agent';

describe('GetTask held between rounds', { timeout: 120_000 }, () => {
  const federation = useTestFederation({
    name: 'e2e-task-hold',
    flags: { quorum: '2', segmenterRounds: '2', generatorRounds: '0', deadline: '60' },
    siteNames: ['Hospital A', 'Hospital B'],
  });
  const { sites } = federation;
  let agent: CoordinatorClient;

  before(() => {
    agent = new CoordinatorClient(
      { address: `127.0.0.1:${federation.coordinator.grpcPort}`, credentials: grpc.credentials.createInsecure(), insecureSiteId: sites[0].siteId, deadlineMs: 15_000 },
      new OutboundAudit(join(federation.dataDir, 'site-a', 'outbound.jsonl')),
    );
  });

  after(() => agent?.close());

  test('the agent\'s call is answered when the next round opens, not at its next poll', async () => {
    const tasks = await openStepTasks(federation.api, sites, ['liver']);
    const baseId = tasks[0].globalModel!.versionId;
    const base = decodeSafetensors(await sites[0].download(baseId)).tensors;
    const upload = async (k: number) => {
      const header = { idempotencyKey: `task-hold-${k}`, roundId: tasks[k].roundId, baseVersionId: baseId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} };
      const receipt = await sites[k].upload(header, encodeSafetensors(shiftedModel(base, 0.01 * (k + 1))));
      assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
    };
    await upload(0);

    // Hospital A's contribution is in: the in-test client (no hold asked) hears WAIT at once...
    const plain = await sites[0].getTask();
    assert.equal(plain.kind, TaskKind.TASK_KIND_WAIT);
    assert.ok(plain.retryAfterMs >= 2000, `a plain poll is told to come back later (${plain.retryAfterMs} ms)`);
    // ...and the agent's client is held while Hospital B trains.
    let answered: Task | undefined;
    const held = agent.getTask().then((t) => (answered = t));
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(answered, undefined, 'held while the round is still collecting');

    // An agent asked to stop gives its held call up at once.
    const stop = new AbortController();
    const given = agent.getTask(stop.signal);
    await new Promise((r) => setTimeout(r, 200));
    const stopped = Date.now();
    stop.abort();
    await assert.rejects(given, (e: grpc.ServiceError) => e.code === grpc.status.CANCELLED);
    assert.ok(Date.now() - stopped < 1_000, 'not held to its end');

    const lastUpload = Date.now();
    await upload(1);
    await held;
    const latency = Date.now() - lastUpload;
    assert.equal(answered!.kind, TaskKind.TASK_KIND_TRAIN_SEGMENTER, `${TaskKind[answered!.kind]}: ${answered!.message}`);
    assert.equal(answered!.roundIndex, 1, 'the next round\'s task');
    assert.notEqual(answered!.roundId, tasks[0].roundId);
    // The hold would have run 14 s; the round's aggregation and opening take well under a second here.
    assert.ok(latency < 5_000, `answered ${latency} ms after the round's last upload`);
  });
});
