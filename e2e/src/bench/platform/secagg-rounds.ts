/**
 * Round overhead of secure aggregation through the real coordinator (embedded database, model
 * store, gRPC), without learning: n in-process sites "train" by shifting the global model (the
 * platform's default segmenter), then either upload it (plain FedAvg: the reference, same run) or
 * go through the secure stages (keys, shares, masked upload, reveal). A round's wall time, from
 * its opening to the next round being open. Sites poll for tasks every 300 ms (as an agent polls;
 * the per-site rate limit allows 4 calls a second), so each extra stage costs about one poll. All
 * sites share this process's cores: their masking, which hospitals do in parallel, is serialised
 * here, so at 50 sites the secure round time is an upper bound.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind } from '@fedciss/proto';
import { resolveConfig, startCoordinator, MlModelFactory, AdminAuthService } from '@fedciss/coordinator';
import { TestSiteClient, SecureTestSite, shiftedModel, restClient, signIn } from '@fedciss/coordinator/testing';

const PASSWORD = 'benchmark operator pass';
const POLL_MS = 300;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a coordinator, lets `join` enrol the sites, opens step 0 and times `round` for each round. */
async function federation(sites: number, rounds: number, secure: { threshold: number; neighbours: number } | null, join_: (address: string) => Promise<void>, round: (r: number) => Promise<void>) {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-secagg-rounds-'));
  const config = resolveConfig({
    env: {},
    flags: { dataDir, insecure: true, autoApprove: true, grpcAddress: '127.0.0.1:0', httpPort: '0', quorum: String(sites), segmenterRounds: String(rounds), generatorRounds: '0', deadline: '900', tickMs: '50', heartbeatTimeout: '600' },
  });
  config.training = { ...config.training, serverDistillSteps: 0, privacy: { differentialPrivacy: null, secureAggregation: secure && { ...secure, clipNorm: 100, sampleWeightCap: 1000 } } };
  const coordinator = await startCoordinator(config, new MlModelFactory(), { logLevels: ['error'] });
  try {
    await coordinator.app.get(AdminAuthService).createUser('bench', 'admin', PASSWORD, 'admin');
    await join_(`127.0.0.1:${coordinator.grpcPort}`);
    const token = await signIn(coordinator.httpUrl, 'admin', PASSWORD);
    await restClient(() => coordinator.httpUrl, () => token)('POST', '/api/roster/classes', { classes: [{ name: 'liver' }, { name: 'stomach' }] });
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      await round(r);
      times.push(performance.now() - t0);
    }
    return times;
  } finally {
    await coordinator.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function plainRounds(n: number, rounds: number): Promise<number[]> {
  let clients: TestSiteClient[] = [];
  try {
    const join_ = async (address: string) => {
      clients = Array.from({ length: n }, () => new TestSiteClient(address));
      for (const [i, c] of clients.entries()) await enrol(c, `Bench ${i}`);
    };
    return await federation(n, rounds, null, join_, async (r) => {
      await Promise.all(clients.map(async (c, i) => {
        let task = await c.getTask();
        while (task.kind !== TaskKind.TASK_KIND_TRAIN_SEGMENTER || task.roundIndex !== r) (await sleep(POLL_MS), await c.heartbeat(), (task = await c.getTask()));
        const { tensors, metadata } = decodeSafetensors(await c.download(task.globalModel!.versionId));
        await c.upload({ idempotencyKey: `plain-${r}-${c.siteId}`, roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} }, encodeSafetensors(shiftedModel(tensors, 0.001 * (i + 1)), metadata), { chunkBytes: 1024 * 1024 });
      }));
      await nextRound(clients[0], r);
    });
  } finally {
    clients.forEach((c) => c.close());
  }
}

async function secureRounds(n: number, rounds: number, neighbours: number): Promise<number[]> {
  let sites: SecureTestSite[] = [];
  const k = Math.min(neighbours, n - 1);
  const threshold = Math.max(2, Math.ceil((k + 1) / 2));
  try {
    const join_ = async (address: string) => {
      sites = Array.from({ length: n }, (_, i) => new SecureTestSite(new TestSiteClient(address), `s${i}`, 0.001 * (i + 1), 10, POLL_MS));
      for (const s of sites) await enrol(s.client, `Bench ${s.name}`);
    };
    return await federation(n, rounds, { threshold, neighbours: k }, join_, async (r) => {
      const roundId = (await Promise.all(sites.map((s) => s.advertise())))[0];
      await Promise.all(sites.map((s) => s.share(roundId)));
      await Promise.all(sites.map((s) => s.upload(roundId)));
      await Promise.all(sites.map((s) => s.reveal(roundId)));
      await nextRound(sites[0].client, r);
    });
  } finally {
    sites.forEach((s) => s.client.close());
  }
}

/** Enrols one site, waiting out the per-address enrolment rate limit (30 a minute) that 50 sites hit. */
async function enrol(c: TestSiteClient, name: string): Promise<void> {
  for (;;) {
    try {
      await c.enroll(name);
      await c.heartbeat();
      return;
    } catch (e) {
      if ((e as { code?: number }).code !== 8) throw e; // RESOURCE_EXHAUSTED
      await sleep(1000);
    }
  }
}

/** The round is over when the next one is open (or the evaluation round). */
async function nextRound(c: TestSiteClient, r: number): Promise<void> {
  for (;;) {
    const t = await c.getTask();
    if ((t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t.roundIndex === r + 1) || t.kind === TaskKind.TASK_KIND_EVALUATE) return;
    await sleep(POLL_MS);
  }
}

const median = (v: number[]) => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length / 2;
  return Math.round(Number.isInteger(m) ? (s[m - 1] + s[m]) / 2 : s[Math.floor(m)]);
};

export async function benchSecureRounds(siteCounts = [3, 10, 50], rounds = 2) {
  const out = [];
  for (const n of siteCounts) {
    const plain = await plainRounds(n, rounds);
    const k = n <= 10 ? n - 1 : 2 * Math.ceil(Math.log2(n));
    const secure = await secureRounds(n, rounds, k);
    out.push({ sites: n, neighbours: Math.min(k, n - 1), plainRoundMs: plain.map(Math.round), secureRoundMs: secure.map(Math.round), medianPlainMs: median(plain), medianSecureMs: median(secure) });
  }
  return { pollMs: POLL_MS, rounds, results: out };
}
