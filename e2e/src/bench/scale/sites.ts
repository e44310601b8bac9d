/**
 * bench:scale's sites section: one coordinator (this process: its CPU time and peak resident
 * memory are this process's, which does little else) on PostgreSQL with mutual TLS, and N
 * simulated sites in a few worker processes (site-worker.ts), each with its own key, certificate
 * and channel. Sites enrol through the coordinator's SitesService (the Enroll RPC limits enrolments
 * per peer address, and every simulated site shares 127.0.0.1), then everything else goes over
 * gRPC: heartbeats, tasks, downloads of the global model (the platform's default segmenter),
 * uploads of full-size updates. Per round: wall time from opening to closing (database
 * timestamps), coordinator CPU seconds and peak RSS; then the database's size and every failure.
 * With `dropFraction`, that share of the sites die in the middle of their upload in one round.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { AdminAuthService, DatabaseService, MlModelFactory, resolveConfig, SerialQueue, SitesService, startCoordinator, type RunningCoordinator } from '@fedciss/coordinator';
import { restClient, signIn, type PostgresServer } from '@fedciss/coordinator/testing';
import { cpuSeconds, peakRssBytes, quantile, resetPeakRss } from './proc-stats';
import type { FromWorker, ToWorker } from './site-worker';

const PASSWORD = 'bench scale operator pass';
const SITES_PER_WORKER = 125;

export interface SitesOptions {
  sites: number;
  rounds: number;
  /** Share of the sites that die mid-upload in `dropRound` (0: none). */
  dropFraction: number;
  dropRound: number;
  workDir: string;
  pkiDir: string;
  keyCache: string;
  pg: PostgresServer;
  /** A round not closed after this long fails the run. */
  roundTimeoutMs: number;
}

export interface SitesFigures {
  sites: number;
  rounds: number;
  roundsCompleted: number;
  roundMs: number[];
  roundP50Ms: number;
  roundP99Ms: number;
  uploadP50Ms: number;
  uploadP99Ms: number;
  coordinatorCpuSecondsPerRound: number;
  coordinatorPeakRssBytes: number;
  databaseBytes: number;
  modelBytes: number;
  failures: number;
  failureExamples: string[];
  dropped?: { sites: number; round: number; roundStatus: string; quorum: number; acceptedReceipts: number; acceptedInRound: number; acceptedLost: number; droppedAccepted: number };
}

interface RoundRow { id: string; index: number; status: string; openedAt: Date; closedAt: Date | null }

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function benchSites(o: SitesOptions): Promise<SitesFigures> {
  const dataDir = join(o.workDir, `coordinator-${o.sites}`);
  mkdirSync(dataDir, { recursive: true });
  const droppers = Array.from({ length: Math.round(o.sites * o.dropFraction) }, (_, i) => Math.floor((i * o.sites) / Math.round(o.sites * o.dropFraction)));
  const quorum = o.sites - droppers.length;
  const config = resolveConfig({
    env: {},
    flags: {
      dataDir, databaseUrl: o.pg.createDatabase(`scale_${o.sites}_${Date.now() % 100000}`), pkiDir: o.pkiDir, grpcAddress: '127.0.0.1:0', enrollAddress: '127.0.0.1:0', httpPort: '0',
      autoApprove: true, openEnrollment: true, quorum: String(quorum), segmenterRounds: String(o.rounds), generatorRounds: '0',
      deadline: String(Math.ceil(o.roundTimeoutMs / 1000)), tickMs: '200', heartbeatTimeout: '30', stragglers: 'drop',
    },
  });
  const coordinator: RunningCoordinator = await startCoordinator(config, new MlModelFactory(), { logLevels: ['error'] });
  const workers: ChildProcess[] = [];
  const failures: string[] = [];
  const uploads: Array<Extract<FromWorker, { type: 'upload' }>> = [];
  const dropped: Array<Extract<FromWorker, { type: 'dropped' }>> = [];
  let stopping = false;
  let enrolments: Promise<void> = Promise.resolve();
  // Every 30 s: the pool's and the serial queue's state (read without the database), so a stall shows what holds it.
  const pool = coordinator.app.get(DatabaseService);
  const queue = coordinator.app.get(SerialQueue);
  const watch = setInterval(() => {
    const c = pool.poolCounts();
    const { length, runningSince } = queue.load();
    const held = c && c.waiting > 0 ? ` held: ${JSON.stringify(pool.heldConnections())}` : '';
    process.stderr.write(`bench:scale sites ${o.sites}: ${new Date().toISOString()} pool ${c ? `total ${c.total} idle ${c.idle} waiting ${c.waiting}` : '-'}, queue ${length} task(s), running one for ${runningSince === null ? '-' : `${((Date.now() - runningSince) / 1000).toFixed(1)} s`}, RSS ${process.memoryUsage.rss()} B${held}\n`);
  }, 30_000);
  watch.unref();
  try {
    const sitesService = coordinator.app.get(SitesService);
    const count = Math.ceil(o.sites / SITES_PER_WORKER);
    let ready = 0;
    for (let w = 0; w < count; w++) {
      const worker = fork(join(__dirname, 'site-worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      workers.push(worker);
      worker.on('exit', (code, signal) => {
        if (!stopping) failures.push(`a site worker exited early (${code ?? signal}): its sites stopped`);
      });
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'csr') {
          // One enrolment at a time, as they would arrive: hundreds at once exhaust the database's connection pool.
          enrolments = enrolments.then(() => sitesService.enroll(`Scale site ${m.index}`, m.csrPem, { executionProviders: ['cpu'], agentVersion: 'bench' }, { address: `bench-${m.index}` })).then(
            (r) => void (worker.connected && worker.send({ type: 'cert', index: m.index, siteId: r.siteId, certificatePem: r.certificatePem, caCertificatePem: r.caCertificatePem } satisfies ToWorker)),
            (e) => void failures.push(`enrol site ${m.index}: ${(e as Error).message}`),
          );
        } else if (m.type === 'ready') ready++;
        else if (m.type === 'upload') (uploads.push(m), m.accepted || failures.push(`site ${m.index} round ${m.roundIndex}: upload not accepted: ${m.reason}`));
        else if (m.type === 'dropped') dropped.push(m);
        else if (m.type === 'error') failures.push(`site ${m.index}: ${m.message}`);
      });
      const indices = Array.from({ length: o.sites }, (_, i) => i).filter((i) => i % count === w);
      worker.send({ type: 'init', indices, workDir: join(o.workDir, `sites-${o.sites}`), keyCache: o.keyCache } satisfies ToWorker);
    }
    while (ready < count) {
      if (failures.length) throw new Error(`sites could not enrol: ${failures.slice(0, 3).join('; ')}`);
      await sleep(200);
    }
    for (const worker of workers) {
      worker.send({ type: 'start', address: `127.0.0.1:${coordinator.grpcPort}`, heartbeatMs: 5_000, pollMs: 2_000, dropRound: o.dropRound, droppers } satisfies ToWorker);
    }
    const db = coordinator.app.get(DatabaseService).prisma;
    // Every site must have been seen before the step opens: a round is for the sites alive then.
    const deadline = Date.now() + 300_000;
    while ((await db.site.count({ where: { lastHeartbeatAt: { not: null } } })) < o.sites) {
      if (Date.now() > deadline) throw new Error('not every site sent a heartbeat within 5 minutes');
      await sleep(500);
    }
    await coordinator.app.get(AdminAuthService).createUser('bench', 'admin', PASSWORD, 'admin');
    const token = await signIn(coordinator.httpUrl, 'admin', PASSWORD);
    await restClient(() => coordinator.httpUrl, () => token)('POST', '/api/roster/classes', { classes: [{ name: 'liver' }, { name: 'stomach' }] });

    const segmenterRounds = () => db.round.findMany({ where: { stepIndex: 0, kind: 'segmenter' }, orderBy: { index: 'asc' } }) as Promise<RoundRow[]>;
    const roundMs: number[] = [];
    const cpuPerRound: number[] = [];
    let peakRss = 0;
    const rows: RoundRow[] = [];
    for (let r = 0; r < o.rounds; r++) {
      let row: RoundRow | undefined;
      const waitUntil = Date.now() + o.roundTimeoutMs + 60_000;
      while (!(row = (await segmenterRounds()).find((x) => x.index === r))) {
        if (Date.now() > waitUntil) throw new Error(`round ${r} did not open`);
        await sleep(100);
      }
      resetPeakRss(process.pid);
      const cpu0 = cpuSeconds(process.pid);
      while (row.status === 'collecting' || row.status === 'aggregating') {
        if (Date.now() > waitUntil) throw new Error(`round ${r} did not close within ${o.roundTimeoutMs} ms`);
        await sleep(200);
        row = (await segmenterRounds()).find((x) => x.index === r)!;
      }
      cpuPerRound.push(cpuSeconds(process.pid) - cpu0);
      peakRss = Math.max(peakRss, peakRssBytes(process.pid));
      rows.push(row);
      roundMs.push(row.closedAt!.getTime() - row.openedAt.getTime());
      if (row.status !== 'completed') failures.push(`round ${r} ${row.status}: ${(row as unknown as { reason?: string }).reason ?? ''}`);
      // Each round as it closes (a run stopped half-way keeps what it measured in its log).
      process.stderr.write(`bench:scale sites ${o.sites}: round ${r} ${row.status} in ${roundMs.at(-1)} ms, coordinator ${cpuPerRound.at(-1)!.toFixed(1)} CPU s, peak RSS ${peakRss} B, ${failures.length} failures\n`);
    }
    const databaseBytes = Number((await db.$queryRaw<Array<{ size: bigint }>>`SELECT pg_database_size(current_database()) AS size`)[0].size);
    const model = await db.modelVersion.findFirst({ where: { kind: 'segmenter' }, orderBy: { createdAt: 'asc' } });
    let drop: SitesFigures['dropped'];
    if (droppers.length) {
      const round = rows[o.dropRound];
      const acceptedRows = await db.siteUpdate.findMany({ where: { roundId: round.id, status: 'accepted' }, select: { siteId: true } });
      const inRound = new Set(acceptedRows.map((u) => u.siteId));
      const receipts = uploads.filter((u) => u.roundId === round.id && u.accepted);
      drop = {
        sites: dropped.filter((d) => d.roundIndex === o.dropRound).length,
        round: o.dropRound,
        roundStatus: round.status,
        quorum,
        acceptedReceipts: receipts.length,
        acceptedInRound: inRound.size,
        acceptedLost: receipts.filter((u) => !inRound.has(u.siteId)).length,
        droppedAccepted: dropped.filter((d) => inRound.has(d.siteId)).length,
      };
    }
    const uploadMs = uploads.map((u) => u.ms);
    return {
      sites: o.sites,
      rounds: o.rounds,
      roundsCompleted: rows.filter((r) => r.status === 'completed').length,
      roundMs: roundMs.map(Math.round),
      roundP50Ms: Math.round(quantile(roundMs, 0.5)),
      roundP99Ms: Math.round(quantile(roundMs, 0.99)),
      uploadP50Ms: Math.round(quantile(uploadMs, 0.5)),
      uploadP99Ms: Math.round(quantile(uploadMs, 0.99)),
      coordinatorCpuSecondsPerRound: Number((cpuPerRound.reduce((a, b) => a + b, 0) / cpuPerRound.length).toFixed(2)),
      coordinatorPeakRssBytes: peakRss,
      databaseBytes,
      modelBytes: Number(model?.sizeBytes ?? 0),
      failures: failures.length,
      failureExamples: failures.slice(0, 5),
      ...(drop ? { dropped: drop } : {}),
    };
  } finally {
    clearInterval(watch);
    stopping = true;
    for (const w of workers) if (w.connected) w.send({ type: 'stop' } satisfies ToWorker);
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
    await sleep(2_000); // calls the sites left in flight finish before the database closes
    await coordinator.close();
    rmSync(join(o.workDir, `sites-${o.sites}`), { recursive: true, force: true });
    rmSync(dataDir, { recursive: true, force: true });
  }
}
