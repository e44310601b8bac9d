/**
 * A child process hosting many simulated sites for bench:scale. Each site is the site agent's own
 * pieces without the training: its key (RSA, from a key cache: generating hundreds of keys would
 * dominate the run), a CSR the coordinator signs, its own mutual-TLS channel (the agent's
 * CoordinatorClient), heartbeats, task polling, and for each training round a download of the
 * global model, "training" (every weight shifted), and an upload of a full-size update. Sites
 * chosen as droppers die in the middle of their upload in one round: they stop sending, close
 * their channel and never call again.
 */
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind, UploadState } from '@fedciss/proto';
import { CoordinatorClient, grpcChannelCredentials, identityPaths, initSiteIdentity, OutboundAudit, storeSiteCertificate } from '@fedciss/site-agent';

export type ToWorker =
  | { type: 'init'; indices: number[]; workDir: string; keyCache: string }
  | { type: 'cert'; index: number; siteId: string; certificatePem: string; caCertificatePem: string }
  | { type: 'start'; address: string; heartbeatMs: number; pollMs: number; dropRound: number; droppers: number[] }
  | { type: 'stop' };

export type FromWorker =
  | { type: 'csr'; index: number; csrPem: string }
  | { type: 'ready' }
  | { type: 'upload'; index: number; siteId: string; roundIndex: number; roundId: string; ms: number; accepted: boolean; reason: string }
  | { type: 'dropped'; index: number; siteId: string; roundIndex: number; sentBytes: number }
  | { type: 'error'; index: number; message: string };

interface Site {
  index: number;
  dir: string;
  siteId?: string;
  client?: CoordinatorClient;
  done: Set<string>;
  dead: boolean;
  /** The next GetTask, after the coordinator's retryAfterMs (or pollMs), as the agent's run loop waits. */
  nextPoll?: NodeJS.Timeout;
}

const send = (m: FromWorker) => process.send!(m);
const sites = new Map<number, Site>();
const timers: NodeJS.Timeout[] = [];

function init(m: Extract<ToWorker, { type: 'init' }>): void {
  for (const index of m.indices) {
    const dir = join(m.workDir, `site-${index}`);
    mkdirSync(dir, { recursive: true });
    const cached = join(m.keyCache, `site-${String(index).padStart(4, '0')}.key.pem`);
    if (existsSync(cached)) copyFileSync(cached, identityPaths(dir).key);
    const { csrPem, createdKey } = initSiteIdentity(dir);
    if (createdKey) copyFileSync(identityPaths(dir).key, cached); // for the next run
    sites.set(index, { index, dir, done: new Set(), dead: false });
    send({ type: 'csr', index, csrPem });
  }
}

function certified(m: Extract<ToWorker, { type: 'cert' }>): void {
  const site = sites.get(m.index)!;
  storeSiteCertificate(site.dir, m.certificatePem, m.caCertificatePem);
  site.siteId = m.siteId;
  if ([...sites.values()].every((s) => s.siteId)) send({ type: 'ready' });
}

/** One training round of one site: download, shift, upload (or die half-way when a dropper). */
async function train(site: Site, roundId: string, roundIndex: number, versionId: string, sha256: string, sizeBytes: number, drop: boolean): Promise<void> {
  const client = site.client!;
  const cache = join(site.dir, 'cache');
  const t0 = performance.now();
  const blob = await client.download({ versionId, sha256, sizeBytes, kind: 'segmenter' }, cache);
  rmSync(cache, { recursive: true, force: true }); // every round, every site downloads for real
  const { tensors, metadata } = decodeSafetensors(blob);
  const shift = 1e-4 * (1 + (site.index % 7));
  for (const t of tensors.values()) for (let k = 0; k < t.data.length; k++) t.data[k] += shift;
  const update = encodeSafetensors(tensors, metadata);
  const header = { roundId, baseVersionId: versionId, kind: 'segmenter', samples: { realImages: 10 + (site.index % 5), replayImages: 0, labelledPixels: 0 }, trainMetrics: {} };
  if (drop) {
    let sent = 0;
    await client.upload(header, update, site.siteId!, undefined, {
      chunkBytes: 64 * 1024,
      onChunkSent: (n) => {
        sent += n;
        if (sent >= update.length / 2) throw new Error('the site died in the middle of its upload');
      },
    }).catch(() => undefined);
    site.dead = true;
    client.close();
    send({ type: 'dropped', index: site.index, siteId: site.siteId!, roundIndex, sentBytes: sent });
    return;
  }
  const receipt = await client.upload(header, update, site.siteId!);
  send({ type: 'upload', index: site.index, siteId: site.siteId!, roundIndex, roundId, ms: performance.now() - t0, accepted: receipt.state === UploadState.UPLOAD_STATE_ACCEPTED, reason: receipt.reason });
}

function start(m: Extract<ToWorker, { type: 'start' }>): void {
  const droppers = new Set(m.droppers);
  for (const site of sites.values()) {
    site.client = new CoordinatorClient(
      { address: m.address, credentials: grpcChannelCredentials(site.dir), deadlineMs: 60_000, transferDeadlineMs: 600_000 },
      new OutboundAudit(join(site.dir, 'outbound.jsonl')),
      { initialMs: 250, maxMs: 5_000 },
    );
    // A site that died on purpose has calls cut short by its own closing: not failures.
    const fail = (e: unknown) => void (site.dead || send({ type: 'error', index: site.index, message: (e as Error)?.message ?? String(e) }));
    // Spread over the interval, so hundreds of sites do not call in the same millisecond.
    const jitter = Math.random();
    const heartbeat = () => void (site.dead ? undefined : site.client!.heartbeat('idle').catch(fail));
    const poll = async () => {
      if (site.dead) return;
      let waitMs = m.pollMs;
      try {
        const task = await site.client!.getTask();
        if (task.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && !site.done.has(task.roundId)) {
          site.done.add(task.roundId);
          const g = task.globalModel!;
          await train(site, task.roundId, task.roundIndex, g.versionId, g.sha256, g.sizeBytes, droppers.has(site.index) && task.roundIndex === m.dropRound);
        } else if (task.retryAfterMs > 0) waitMs = task.retryAfterMs;
      } catch (e) {
        fail(e);
      }
      if (!site.dead) site.nextPoll = setTimeout(() => void poll(), waitMs);
    };
    heartbeat();
    timers.push(setTimeout(() => timers.push(setInterval(heartbeat, m.heartbeatMs)), jitter * m.heartbeatMs));
    site.nextPoll = setTimeout(() => void poll(), jitter * m.pollMs);
  }
}

process.on('message', (m: ToWorker) => {
  try {
    if (m.type === 'init') init(m);
    else if (m.type === 'cert') certified(m);
    else if (m.type === 'start') start(m);
    else if (m.type === 'stop') {
      for (const t of timers) clearInterval(t);
      for (const s of sites.values()) {
        clearTimeout(s.nextPoll);
        if (!s.dead) s.client?.close();
      }
      process.exit(0);
    }
  } catch (e) {
    send({ type: 'error', index: -1, message: (e as Error)?.stack ?? String(e) });
  }
});
