/**
 * The ends of bench:scale's models section, each its own process (so each has its own peak RSS):
 * `coordinator` is the NestJS coordinator (startCoordinator, PostgreSQL, mutual TLS) running one
 * real training round of a model of the given size: the sites' updates validated by slices,
 * aggregated by slices (median) into a new version, handed out by the step's evaluation round;
 * `agent` is N sites with the site agent's identity and CoordinatorClient (enrol, heartbeats, tasks,
 * downloadToFile, upload from a file). `robust` aggregates many updates by slices, alone.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import type { DiffusionConfig, NamedTensors, SegmenterConfig } from '@fedciss/ml';
import { growHeapForTransfers, TaskKind, UploadState, type Task } from '@fedciss/proto';
import {
  AdminAuthService, aggregateBySlices, CA_CERT_FILE, initCertificateAuthority, MlModelFactory, resolveAggregationOptions, resolveConfig, SafetensorsFileReader, SafetensorsFileWriter, startCoordinator,
  type ModelFactory, type SlicedUpdate,
} from '@fedciss/coordinator';
import { restClient, signIn } from '@fedciss/coordinator/testing';
import { CoordinatorClient, enrollmentChannelCredentials, grpcChannelCredentials, initSiteIdentity, OutboundAudit, storeSiteCertificate, trustCaCertificate } from '@fedciss/site-agent';

export type ToEnd =
  | { type: 'create' }
  | { type: 'aggregate' }
  | { type: 'enroll'; address: string; enrollAddress: string; caCertificatePem: string; sites: number }
  | { type: 'round' }
  | { type: 'fetch'; version: Version; expectShift: number }
  | { type: 'gcs' };

export interface Version {
  versionId: string;
  sha256: string;
  sizeBytes: number;
}

export type FromEnd =
  | { type: 'listening'; port: number; enrollPort: number; caCertificatePem: string }
  | { type: 'enrolled' }
  | { type: 'created'; version: Version; ms: number }
  | { type: 'aggregated'; version: Version; ms: number; note: string }
  | { type: 'uploaded'; updates: number; downloadMs: number; uploadMs: number[] }
  | { type: 'fetched'; ms: number; checkedValues: number }
  | { type: 'robust'; figures: Record<string, unknown> }
  | { type: 'gcs'; majors: number; pauseMs: number }
  | { type: 'failed'; message: string };

const send = (m: FromEnd) => process.send!(m);
/** Values per tensor row and rows per tensor: 64 Mi values (256 MiB) at most per tensor. */
const ROW = 1024;
const MAX_ROWS_PER_TENSOR = 64 * 1024;

/** Tensor shapes of a model of about `megabytes` MiB of F32 values. */
export function modelShapes(megabytes: number): Map<string, number[]> {
  let rows = Math.max(1, Math.round((megabytes * 1024 * 1024) / 4 / ROW));
  const shapes = new Map<string, number[]>();
  for (let i = 0; rows > 0; i++) {
    const r = Math.min(rows, MAX_ROWS_PER_TENSOR);
    shapes.set(`layer${String(i).padStart(2, '0')}.weight`, [r, ROW]);
    rows -= r;
  }
  return shapes;
}

/** The global model's value at flat position `k` of a tensor: cheap to compute, not constant. */
const globalValue = (k: number) => ((k * 7919) % 1000) / 1000 - 0.5;

/** Writes a model file tensor by tensor in slices of 4 Mi values: globalValue + shift. */
async function writeModel(path: string, shapes: Map<string, number[]>, shift: number, from?: SafetensorsFileReader): Promise<void> {
  const out = await SafetensorsFileWriter.create(path, shapes, { kind: 'segmenter' });
  const slice = new Float32Array(1024 * 1024);
  try {
    for (const [name, shape] of shapes) {
      const count = shape[0] * shape[1];
      for (let at = 0; at < count; at += slice.length) {
        const part = slice.subarray(0, Math.min(slice.length, count - at));
        if (from) await from.read(name, at, part);
        else for (let k = 0; k < part.length; k++) part[k] = globalValue(at + k);
        if (shift) for (let k = 0; k < part.length; k++) part[k] += shift;
        await out.write(name, at, part);
      }
    }
  } finally {
    await out.close();
  }
}

/**
 * A model factory whose segmenter is `megabytes` MiB of F32 tensors of modelShapes (values
 * globalValue), the rest the platform's. The initial model is built in memory (what
 * StepsService does for every factory), once: the store writes it tensor by tensor to a file.
 * The one place a round's model is still whole in memory.
 */
class ShapesModelFactory implements ModelFactory {
  private readonly platform = new MlModelFactory();

  constructor(private readonly megabytes: number) {}

  defaultSegmenterConfig(): SegmenterConfig {
    return this.platform.defaultSegmenterConfig();
  }

  defaultGeneratorConfig(segmenter?: SegmenterConfig): DiffusionConfig {
    return this.platform.defaultGeneratorConfig(segmenter);
  }

  async createSegmenter(): Promise<NamedTensors> {
    const tensors: NamedTensors = new Map();
    for (const [name, shape] of modelShapes(this.megabytes)) {
      const data = new Float32Array(shape[0] * shape[1]);
      for (let k = 0; k < data.length; k++) data[k] = globalValue(k);
      tensors.set(name, { shape, data });
    }
    return tensors;
  }

  async createGenerator(): Promise<NamedTensors> {
    return new Map([['denoiser.weight', { shape: [4], data: new Float32Array(4) }]]);
  }

  growHead(): never {
    throw new Error('bench:scale models trains one step: no head to grow');
  }

  distill(): never {
    throw new Error('bench:scale models does not distill');
  }

  predictOnGenerated(): never {
    throw new Error('bench:scale models draws no overlays');
  }

  exportOnnx(): never {
    throw new Error('bench:scale models exports nothing');
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const PASSWORD = 'bench scale models operator';

/**
 * The NestJS coordinator (PostgreSQL, mutual TLS as deployed) with one training round of
 * `sites` sites aggregated by the median, then the step's evaluation round: what a model of this
 * size meets in a real round (validation, aggregation, storing the version, download).
 */
async function coordinatorEnd(dir: string, sites: number, megabytes: number, databaseUrl: string): Promise<void> {
  const config = resolveConfig({
    env: {},
    flags: { dataDir: join(dir, 'data'), databaseUrl, autoApprove: true, openEnrollment: true, grpcAddress: '127.0.0.1:0', enrollAddress: '127.0.0.1:0', httpPort: '0', quorum: String(sites), segmenterRounds: '1', generatorRounds: '0', deadline: '3600', tickMs: '500', heartbeatTimeout: '600' },
  });
  config.training = { ...config.training, aggregation: { strategy: 'median' }, crossSiteEvaluation: false };
  initCertificateAuthority(config.pkiDir, { commonName: 'bench:scale models CA', keyBits: 2048 });
  const coordinator = await startCoordinator(config, new ShapesModelFactory(megabytes), { logLevels: ['error', 'warn'] });
  await coordinator.app.get(AdminAuthService).createUser('bench', 'admin', PASSWORD, 'admin');
  const token = await signIn(coordinator.httpUrl, 'admin', PASSWORD);
  const api = restClient(() => coordinator.httpUrl, () => token);
  send({ type: 'listening', port: coordinator.grpcPort, enrollPort: coordinator.enrollPort!, caCertificatePem: readFileSync(join(config.pkiDir, CA_CERT_FILE), 'utf8') });
  process.on('message', (m: ToEnd) => {
    void (async () => {
      const t0 = performance.now();
      if (m.type === 'create') {
        const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] });
        if (opened.status !== 201) throw new Error(`opening the roster: ${JSON.stringify(opened.body)}`);
        const initial = (await api('GET', '/api/models')).body.find((v: { kind: string }) => v.kind === 'segmenter');
        // The factory's tensors are garbage now; collected, they leave the round's peak to the round.
        await releaseModelMemory(megabytes);
        send({ type: 'created', version: { versionId: initial.id, sha256: initial.sha256, sizeBytes: initial.sizeBytes }, ms: performance.now() - t0 });
      } else if (m.type === 'aggregate') {
        // Sent once every update is accepted: the round aggregates on its own; this waits for it.
        for (;;) {
          const round = (await api('GET', '/api/rounds?step=0')).body.find((r: { kind: string }) => r.kind === 'segmenter');
          if (round?.status === 'failed') throw new Error(`the round failed: ${round.reason}`);
          if (round?.status === 'completed') {
            const v = (await api('GET', '/api/models')).body.find((x: { id: string }) => x.id === round.resultVersionId);
            send({ type: 'aggregated', version: { versionId: v.id, sha256: v.sha256, sizeBytes: v.sizeBytes }, ms: performance.now() - t0, note: v.note });
            return;
          }
          await sleep(250);
        }
      }
    })().catch((e) => send({ type: 'failed', message: (e as Error)?.stack ?? String(e) }));
  });
}

/**
 * Collects garbage until less than half a model of `megabytes` MiB is held in array buffers: V8
 * frees large backing stores on a background thread after gc(), so a 2.5 GB run that reset its
 * peak right after gc() still saw 2.6 GB resident. Gives up after 60 s (the peak then says so).
 */
async function releaseModelMemory(megabytes: number): Promise<void> {
  const until = performance.now() + 60_000;
  do {
    global.gc!();
    await sleep(100);
  } while (process.memoryUsage().arrayBuffers > (megabytes * 1024 * 1024) / 2 && performance.now() < until);
}

/**
 * A site of the agent end, enrolled as a site agent enrols (its own key and CSR, the Enroll call on
 * the enrolment port over TLS that verifies the coordinator; the coordinator approves every site),
 * then the site agent's client over mutual TLS with the certificate it got.
 */
async function enrolledSite(m: Extract<ToEnd, { type: 'enroll' }>, dir: string, name: string): Promise<{ client: CoordinatorClient; siteId: string }> {
  const identity = join(dir, name);
  const audit = new OutboundAudit(join(dir, `${name}.jsonl`));
  const backoff = { initialMs: 200, maxMs: 2_000 };
  trustCaCertificate(identity, m.caCertificatePem);
  const { csrPem } = initSiteIdentity(identity);
  const enrolling = new CoordinatorClient({ address: m.enrollAddress, credentials: enrollmentChannelCredentials(identity) }, audit, backoff);
  try {
    const r = await enrolling.enroll(name, csrPem, ['cpu']);
    storeSiteCertificate(identity, r.certificatePem, r.caCertificatePem);
    return { client: new CoordinatorClient({ address: m.address, credentials: grpcChannelCredentials(identity), transferDeadlineMs: 3_600_000 }, audit, backoff), siteId: r.siteId };
  } finally {
    enrolling.close();
  }
}

/** Asks for tasks until one of `kind` comes. */
async function taskOf(client: CoordinatorClient, kind: TaskKind): Promise<Task> {
  for (;;) {
    const t = await client.getTask();
    if (t.kind === kind) return t;
    await sleep(500);
  }
}

function agentEnd(dir: string): void {
  const sites: Array<{ client: CoordinatorClient; siteId: string }> = [];
  // Alive for the whole run: a 2.5 GB upload takes longer than a heartbeat's timeout.
  const beat = setInterval(() => sites.forEach((s) => void s.client.heartbeat('idle').catch(() => undefined)), 3_000);
  process.on('disconnect', () => clearInterval(beat));
  process.on('message', (m: ToEnd) => {
    void (async () => {
      if (m.type === 'enroll') {
        // Every site alive before the roster opens: the round is opened for the sites alive then.
        for (let s = 0; s < m.sites; s++) sites.push(await enrolledSite(m, dir, `site-${s}`));
        await Promise.all(sites.map((s) => s.client.heartbeat('idle')));
        send({ type: 'enrolled' });
      } else if (m.type === 'round') {
        const tasks = await Promise.all(sites.map((s) => taskOf(s.client, TaskKind.TASK_KIND_TRAIN_SEGMENTER)));
        const ref = tasks[0].globalModel!;
        const t0 = performance.now();
        const global = await sites[0].client.downloadToFile(ref, join(dir, 'cache'));
        const downloadMs = performance.now() - t0;
        const reader = await SafetensorsFileReader.open(global);
        const uploadMs: number[] = [];
        try {
          for (const [s, site] of sites.entries()) {
            const path = join(dir, `update-${s}.safetensors`);
            await writeModel(path, reader.shapes as Map<string, number[]>, 1e-3 * (s + 1), reader);
            const t1 = performance.now();
            const header = { roundId: tasks[s].roundId, baseVersionId: ref.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} };
            const receipt = await site.client.upload(header, { path }, site.siteId);
            uploadMs.push(performance.now() - t1);
            if (receipt.state !== UploadState.UPLOAD_STATE_ACCEPTED) throw new Error(`update ${s} not accepted: ${receipt.reason}`);
            rmSync(path);
          }
        } finally {
          await reader.close();
          rmSync(join(dir, 'cache'), { recursive: true, force: true });
        }
        send({ type: 'uploaded', updates: sites.length, downloadMs, uploadMs });
      } else if (m.type === 'fetch') {
        // The step's evaluation round hands the aggregate to every site: fetch it as a site does.
        const ref = (await taskOf(sites[0].client, TaskKind.TASK_KIND_EVALUATE)).globalModel!;
        if (ref.versionId !== m.version.versionId) throw new Error(`the evaluation round evaluates ${ref.versionId}, not the aggregate ${m.version.versionId}`);
        const t0 = performance.now();
        const path = await sites[0].client.downloadToFile(ref, join(dir, 'cache'));
        const ms = performance.now() - t0;
        const checkedValues = await spotCheck(path, m.expectShift);
        rmSync(join(dir, 'cache'), { recursive: true, force: true });
        send({ type: 'fetched', ms, checkedValues });
        clearInterval(beat);
        sites.forEach((s) => s.client.close());
      }
    })().catch((e) => send({ type: 'failed', message: (e as Error)?.stack ?? String(e) }));
  });
}

/** Spot-checks a model file against globalValue + `shift` (start, middle, end of each tensor); returns the values checked. */
async function spotCheck(path: string, shift: number): Promise<number> {
  const r = await SafetensorsFileReader.open(path);
  let checked = 0;
  try {
    const probe = new Float32Array(4096);
    for (const [name, shape] of r.shapes) {
      const count = shape[0] * shape[1];
      for (const at of [0, Math.floor(count / 2), count - probe.length].filter((a) => a >= 0)) {
        const part = probe.subarray(0, Math.min(probe.length, count - at));
        await r.read(name, at, part);
        for (let k = 0; k < part.length; k++) {
          const want = Math.fround(globalValue(at + k) + shift);
          if (Math.abs(part[k] - want) > 1e-6) throw new Error(`aggregate ${name}[${at + k}] = ${part[k]}, expected ${want}`);
        }
        checked += part.length;
      }
    }
  } finally {
    await r.close();
  }
  return checked;
}

/**
 * Robust aggregation in bounded memory: `sites` updates of `megabytes` each written as files, then
 * their median and their 10 % trimmed mean by slices (a `budgetBytes` scratch), timed, each result
 * spot-checked against the value it must have, with this process's peak RSS next to the model's
 * size (in memory, these statistics hold every update: sites x the model).
 */
async function robustEnd(dir: string, sites: number, megabytes: number, budgetBytes: number): Promise<void> {
  const baseline = process.memoryUsage().rss;
  const shapes = modelShapes(megabytes);
  const globalPath = join(dir, 'global.safetensors');
  await writeModel(globalPath, shapes, 0);
  const global = await SafetensorsFileReader.open(globalPath);
  const paths: string[] = [];
  const shift = (s: number) => 1e-3 * (s - sites / 2);
  for (let s = 0; s < sites; s++) {
    paths.push(join(dir, `update-${s}.safetensors`));
    await writeModel(paths[s], shapes, shift(s), global);
  }
  // The shifts are evenly spaced, so the median and every symmetric trimmed mean of them is their
  // centre: each aggregate must be the global model shifted by that much.
  const centre = (shift(0) + shift(sites - 1)) / 2;
  const readers = await Promise.all(paths.map((p) => SafetensorsFileReader.open(p)));
  const updates: SlicedUpdate[] = readers.map((r, k) => ({ siteId: `s${k}`, sampleCount: 1, kind: 'weights', tensors: r }));
  const modelBytes = [...shapes.values()].reduce((n, s) => n + s[0] * s[1] * 4, 0);
  const figures: Record<string, unknown> = { sites, ok: true, modelBytes, budgetBytes };
  for (const strategy of ['median', 'trimmed-mean'] as const) {
    const out = join(dir, `${strategy}.safetensors`);
    const sink = await SafetensorsFileWriter.create(out, shapes);
    const t0 = performance.now();
    const r = await aggregateBySlices(resolveAggregationOptions({ strategy, ...(strategy === 'trimmed-mean' ? { trimFraction: 0.1 } : {}) }), global, updates, sink, budgetBytes);
    await sink.close();
    figures[strategy === 'median' ? 'medianMs' : 'trimmedMeanMs'] = Math.round(performance.now() - t0);
    figures.scratchBytes = r.scratchBytes;
    figures[strategy === 'median' ? 'medianCheckedValues' : 'trimmedMeanCheckedValues'] = await spotCheck(out, centre);
    rmSync(out);
  }
  await Promise.all([global, ...readers].map((r) => r.close()));
  const peak = process.resourceUsage().maxRSS * 1024;
  // Above the process's own start (Node, the modules): what the aggregation's data took.
  send({ type: 'robust', figures: { ...figures, baselineRssBytes: baseline, peakRssBytes: peak, peakAboveBaselineOverModel: Number(((peak - baseline) / modelBytes).toFixed(2)) } });
}

/**
 * Counts this process's full (mark-compact) collections and their final pauses since it started,
 * and answers the parent's 'gcs' query with them (incremental marking steps are not in the pauses).
 */
function answerGcQueries(): void {
  let majors = 0;
  let pauseMs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if ((e as { detail?: { kind?: number } }).detail?.kind !== perfConstants.NODE_PERFORMANCE_GC_MAJOR) continue;
      majors++;
      pauseMs += e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('message', (m: ToEnd) => {
    if (m.type === 'gcs') send({ type: 'gcs', majors, pauseMs: Math.round(pauseMs) });
  });
}

if (require.main === module) {
  const [role, dir, ...rest] = process.argv.slice(2);
  mkdirSync(dir, { recursive: true });
  // As the coordinator and the site agent do when they start.
  growHeapForTransfers();
  answerGcQueries();
  if (role === 'coordinator') void coordinatorEnd(dir, Number(rest[0]), Number(rest[1]), rest[2]).catch((e) => send({ type: 'failed', message: (e as Error)?.stack ?? String(e) }));
  else if (role === 'agent') agentEnd(dir);
  else void robustEnd(dir, Number(rest[0]), Number(rest[1]), Number(rest[2])).catch((e) => send({ type: 'failed', message: (e as Error)?.stack ?? String(e) }));
}
