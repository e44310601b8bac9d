// A standby coordinator takes over: two coordinator processes on one PostgreSQL database and one
// data folder (model store, uploads), the leader holding the lease in the database. Three sites
// (the agent's own CoordinatorClient, given both addresses; their "training" shifts the weights)
// take part in a round; the leader is SIGKILLed after two updates were accepted and before the
// third. The standby must take the lease within 30 s, the third site must find it by itself, and
// the round must complete there with all three updates, the two from before the kill included.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind, UploadState } from '@fedciss/proto';
import { freePort, restClient, signIn, startPostgresServer, TestSiteClient, until, type PostgresServer } from '@fedciss/coordinator/testing';
import { CoordinatorClient, OutboundAudit } from '@fedciss/site-agent';
import { silentHost } from '@fedciss/site-agent/testing';
import { ChildProgram, COORDINATOR_BIN } from '../harness/child';
import { TINY_TRAINING } from '../harness/tiny';

interface RoundView { id: string; step: number; kind: string; index: number; status: string; accepted: string[] }

const PASSWORD = 'failover-operator-pass-1';
const LEASE_SECONDS = 6;
const RENEW_SECONDS = 2;

describe('a standby coordinator takes over a round', { timeout: 170_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'e2e-failover-'));
  const dataDir = join(workDir, 'coordinator');
  let pg: PostgresServer;
  let databaseUrl: string;
  const coordinators: Array<{ program: ChildProgram; grpc: string; http: string }> = [];

  async function startCoordinator(name: string): Promise<(typeof coordinators)[number]> {
    const [grpcPort, httpPort] = [await freePort(), await freePort()];
    const program = new ChildProgram({
      name,
      args: [COORDINATOR_BIN, 'serve', '--data-dir', dataDir, '--grpc-address', `127.0.0.1:${grpcPort}`, '--http-port', String(httpPort),
        '--training-file', join(dataDir, 'training.json'), '--admin-password-env', 'FEDCISS_ADMIN_PASSWORD', '--insecure', '--auto-approve',
        '--quorum', '3', '--segmenter-rounds', '1', '--generator-rounds', '0', '--deadline', '150', '--tick-ms', '200', '--heartbeat-timeout', '120',
        '--lease-seconds', String(LEASE_SECONDS), '--lease-renew-seconds', String(RENEW_SECONDS)],
      logFile: join(workDir, `${name}.log`),
      env: { DATABASE_URL: databaseUrl, FEDCISS_ADMIN_PASSWORD: PASSWORD, FEDCISS_LOG_FORMAT: 'json' },
    });
    await program.waitFor(/coordinator ready/, 90_000);
    const c = { program, grpc: `127.0.0.1:${grpcPort}`, http: `http://127.0.0.1:${httpPort}` };
    coordinators.push(c);
    return c;
  }

  const api = async <T>(httpUrl: string, method: string, path: string, body?: unknown) => {
    const token = await signIn(httpUrl, 'admin', PASSWORD);
    return restClient(() => httpUrl, () => token)<T>(method, path, body);
  };

  before(async () => {
    pg = await startPostgresServer();
    databaseUrl = pg.createDatabase('failover');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(join(dataDir, 'training.json'), JSON.stringify(TINY_TRAINING));
  });

  after(async () => {
    for (const c of coordinators) await c.program.kill('SIGKILL');
    pg?.stop();
    if (process.env.FEDCISS_KEEP_E2E !== '1') rmSync(workDir, { recursive: true, force: true });
  });

  test('the leader dies mid-round; the standby leads within 30 s, the sites follow, nothing accepted is lost', async () => {
    const leader = await startCoordinator('coordinator-a');
    await leader.program.waitFor(/leader: this coordinator now runs the federation/, 30_000);
    const standby = await startCoordinator('coordinator-b');
    await standby.program.waitFor(/standby: another coordinator holds the leader lease/, 30_000);

    // The standby refuses what would change the federation, with a status that says why.
    const probe = new TestSiteClient(standby.grpc);
    await assert.rejects(probe.heartbeat(), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE && /standby/.test(e.details));
    probe.close();
    assert.equal((await fetch(`${standby.http}/api/auth/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })).status, 503);

    // Three sites, each with the agent's client and both coordinator addresses.
    const sites: Array<{ id: string; client: CoordinatorClient; cache: string }> = [];
    for (let i = 0; i < 3; i++) {
      const enrol = new TestSiteClient(leader.grpc);
      const { siteId } = await enrol.enroll(`Failover ${i}`);
      enrol.close();
      const client = new CoordinatorClient(
        { address: leader.grpc, standbyAddresses: [standby.grpc], credentials: grpc.credentials.createInsecure(), insecureSiteId: siteId, deadlineMs: 5_000 },
        new OutboundAudit(join(workDir, `site-${i}`, 'outbound.jsonl')),
        { initialMs: 200, maxMs: 1_000 },
      );
      await client.heartbeat('idle');
      sites.push({ id: siteId, client, cache: join(workDir, `site-${i}`, 'cache') });
    }
    await api(leader.http, 'POST', '/api/roster/classes', { classes: [{ name: 'liver' }, { name: 'stomach' }] });

    /** One site's part in the first segmenter round: download, "train", upload. */
    const takePart = async (site: (typeof sites)[number], shift: number) => {
      const task = await until(`a training task for ${site.id}`, async () => {
        await site.client.heartbeat('idle');
        const t = await site.client.getTask();
        return t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t;
      }, 60_000, 200);
      const { tensors, metadata } = decodeSafetensors(await site.client.download(task.globalModel!, site.cache));
      for (const t of tensors.values()) t.data.forEach((v, k) => (t.data[k] = v + shift));
      const receipt = await site.client.upload(
        { roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} },
        encodeSafetensors(tensors, metadata), site.id,
      );
      assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
      return task.roundId;
    };
    const [roundId] = await Promise.all([takePart(sites[0], 0.001), takePart(sites[1], 0.002)]);
    const before = (await api<RoundView[]>(leader.http, 'GET', '/api/rounds?step=0')).body.find((r) => r.id === roundId)!;
    assert.equal(before.status, 'collecting');
    assert.deepEqual([...before.accepted].sort(), [sites[0].id, sites[1].id].sort());

    await leader.program.kill('SIGKILL');
    const killedAt = Date.now();
    await standby.program.waitFor(/leader: this coordinator now runs the federation/, 30_000);
    const takeoverMs = Date.now() - killedAt;
    assert.ok(takeoverMs < 30_000, `the standby took over after ${takeoverMs} ms`);

    // The third site still has the dead leader first in its list: it must find the new one itself.
    assert.equal(await takePart(sites[2], 0.003), roundId);
    assert.equal(sites[2].client.address, standby.grpc);
    const done = await until('the round to complete on the new leader', async () => {
      const r = (await api<RoundView[]>(standby.http, 'GET', '/api/rounds?step=0')).body.find((x) => x.id === roundId);
      return r?.status === 'completed' && r;
    }, 60_000, 250);
    assert.deepEqual([...done.accepted].sort(), sites.map((s) => s.id).sort(), 'the updates accepted by the dead leader still count');
    const models = (await api<Array<{ id: string; roundId: string | null }>>(standby.http, 'GET', '/api/models')).body;
    assert.ok(models.some((m) => m.roundId === roundId), 'the round produced its model version on the new leader');
    for (const s of sites) s.client.close();

    // A leader's host gone silent: it takes connections and answers nothing, so no refusal says to
    // move on, and the channel waits for a connection as long as a call lets it. A site with it
    // first must try the next address after one deadline (before, it retried the silent host until
    // it gave up).
    const silent = await silentHost();
    try {
      const enrol = new TestSiteClient(standby.grpc);
      const { siteId } = await enrol.enroll('Failover silent host');
      enrol.close();
      const deadlineMs = 2_000;
      const client = new CoordinatorClient(
        { address: silent.address, standbyAddresses: [standby.grpc], credentials: grpc.credentials.createInsecure(), insecureSiteId: siteId, deadlineMs },
        new OutboundAudit(join(workDir, 'site-silent', 'outbound.jsonl')),
        { initialMs: 200, maxMs: 1_000, giveUpAfterMs: 4 * deadlineMs },
      );
      const t0 = Date.now();
      await client.heartbeat('idle');
      const ms = Date.now() - t0;
      assert.equal(client.address, standby.grpc);
      assert.ok(silent.connections() > 0, 'the silent host was tried first');
      assert.ok(ms < 2 * deadlineMs, `the site reached the live coordinator ${ms} ms after its first call`);
      client.close();
    } finally {
      silent.close();
    }
    process.stderr.write(`failover: the standby took over ${takeoverMs} ms after the leader was killed (lease ${LEASE_SECONDS} s, renewed every ${RENEW_SECONDS} s)\n`);
  });
});
