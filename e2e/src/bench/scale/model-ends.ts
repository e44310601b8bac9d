/**
 * The two ends of bench:scale's models section, each its own process (so each has its own peak
 * RSS): `coordinator` serves DownloadModel, GetUploadStatus and UploadUpdate with the coordinator's
 * file-backed pieces (FileBlobAssembler into a partial file, resumable; LocalBlobStore.putFile;
 * streaming downloads from the store's file) and aggregates by slices (aggregateBySlices over
 * SafetensorsFileReader, into a SafetensorsFileWriter); `agent` is the site agent's
 * CoordinatorClient (downloadToFile, upload from a file). No database and no NestJS: the rounds
 * and validation of the coordinator service do not run here (see the README's note).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  ChunkCodecFederationService, chunkFile, DEFAULT_CHUNK_BYTES, FileBlobAssembler, TRANSFER_CHANNEL_OPTIONS, UploadState,
  type FederationServer, type UploadMessage,
} from '@fedciss/proto';
import { aggregateBySlices, LocalBlobStore, resolveAggregationOptions, SafetensorsFileReader, SafetensorsFileWriter, type SlicedUpdate } from '@fedciss/coordinator';
import { CoordinatorClient, OutboundAudit } from '@fedciss/site-agent';

export type ToEnd =
  | { type: 'create'; megabytes: number }
  | { type: 'aggregate'; budgetBytes: number }
  | { type: 'round'; address: string; version: Version; sites: number }
  | { type: 'fetch'; address: string; version: Version; expectShift: number };

export interface Version {
  versionId: string;
  sha256: string;
  sizeBytes: number;
}

export type FromEnd =
  | { type: 'listening'; port: number }
  | { type: 'created'; version: Version; ms: number }
  | { type: 'aggregated'; version: Version; ms: number; scratchBytes: number }
  | { type: 'uploaded'; updates: number; downloadMs: number; uploadMs: number }
  | { type: 'fetched'; ms: number; checkedValues: number }
  | { type: 'robust'; figures: Record<string, unknown> }
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

function coordinatorEnd(dir: string): void {
  const store = new LocalBlobStore(join(dir, 'store'));
  const versions = new Map<string, Version>();
  const uploads = new Map<string, { state: UploadState; received: number; sha256: string }>();
  mkdirSync(join(dir, 'uploads'), { recursive: true });
  const server = new grpc.Server(TRANSFER_CHANNEL_OPTIONS);
  const served = { getUploadStatus: ChunkCodecFederationService.getUploadStatus, downloadModel: ChunkCodecFederationService.downloadModel, uploadUpdate: ChunkCodecFederationService.uploadUpdate };
  const handlers: Pick<FederationServer, keyof typeof served> = {
    getUploadStatus(call, done) {
      const u = uploads.get(call.request.idempotencyKey);
      done(null, u ? { state: u.state, receivedBytes: u.received, reason: '' } : { state: UploadState.UPLOAD_STATE_UNSPECIFIED, receivedBytes: 0, reason: 'no upload with this key' });
    },
    downloadModel(call) {
      void (async () => {
        const v = versions.get(call.request.versionId);
        if (!v) return call.emit('error', { code: grpc.status.NOT_FOUND, details: `no version ${call.request.versionId}` });
        const { path, digests } = await store.getFileToSend(v.sha256, DEFAULT_CHUNK_BYTES);
        call.write({ header: { format: 'safetensors', totalBytes: v.sizeBytes, sha256: v.sha256, chunkBytes: DEFAULT_CHUNK_BYTES, model: { ...v, kind: 'segmenter' } } });
        for await (const chunk of chunkFile(path, DEFAULT_CHUNK_BYTES, call.request.offset, digests)) {
          if (!call.write({ chunk })) await new Promise((r) => call.once('drain', r));
        }
        call.end();
      })().catch((e) => call.emit('error', { code: grpc.status.INTERNAL, details: (e as Error).message }));
    },
    uploadUpdate(call, done) {
      void (async () => {
        let assembler: FileBlobAssembler | undefined;
        let key = '';
        for await (const m of call as AsyncIterable<UploadMessage>) {
          if (m.header) {
            key = m.header.idempotencyKey;
            uploads.set(key, { state: UploadState.UPLOAD_STATE_PARTIAL, received: 0, sha256: m.header.sha256 });
            assembler = await FileBlobAssembler.open(join(dir, 'uploads', `${m.header.sha256}.part`), m.header.totalBytes, m.header.sha256, m.header.totalBytes);
          } else {
            await assembler!.add(m.chunk!);
            uploads.get(key)!.received = assembler!.received;
          }
        }
        await assembler!.finish();
        const stored = await store.putFile(assembler!.path, uploads.get(key)!.sha256);
        uploads.set(key, { state: UploadState.UPLOAD_STATE_ACCEPTED, received: stored.sizeBytes, sha256: stored.sha256 });
        done(null, { updateId: key, state: UploadState.UPLOAD_STATE_ACCEPTED, reason: '', receivedBytes: stored.sizeBytes });
      })().catch((e) => done({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message }));
    },
  };
  server.addService(served, handlers);
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, port) => (e ? send({ type: 'failed', message: e.message }) : send({ type: 'listening', port })));

  let shapes = new Map<string, number[]>();
  process.on('message', (m: ToEnd) => {
    void (async () => {
      const t0 = performance.now();
      if (m.type === 'create') {
        shapes = modelShapes(m.megabytes);
        const path = join(dir, 'global.tmp');
        await writeModel(path, shapes, 0);
        const stored = await store.putFile(path);
        const version = { versionId: 'v0', sha256: stored.sha256, sizeBytes: stored.sizeBytes };
        versions.set('v0', version);
        send({ type: 'created', version, ms: performance.now() - t0 });
      } else if (m.type === 'aggregate') {
        const global = await SafetensorsFileReader.open(await store.getFile(versions.get('v0')!.sha256));
        const accepted = [...uploads.entries()].filter(([, u]) => u.state === UploadState.UPLOAD_STATE_ACCEPTED);
        const readers = await Promise.all(accepted.map(async ([, u]) => SafetensorsFileReader.open(await store.getFile(u.sha256))));
        const path = join(dir, 'aggregate.tmp');
        const sink = await SafetensorsFileWriter.create(path, global.shapes, global.metadata);
        const updates: SlicedUpdate[] = readers.map((r, k) => ({ siteId: accepted[k][0], sampleCount: 10, kind: 'weights', tensors: r }));
        const result = await aggregateBySlices(resolveAggregationOptions({ strategy: 'median' }), global, updates, sink, m.budgetBytes);
        await sink.close();
        await Promise.all([global, ...readers].map((r) => r.close()));
        const stored = await store.putFile(path);
        const version = { versionId: 'v1', sha256: stored.sha256, sizeBytes: stored.sizeBytes };
        versions.set('v1', version);
        send({ type: 'aggregated', version, ms: performance.now() - t0, scratchBytes: result.scratchBytes });
      }
    })().catch((e) => send({ type: 'failed', message: (e as Error)?.stack ?? String(e) }));
  });
}

function agentEnd(dir: string): void {
  process.on('message', (m: ToEnd) => {
    void (async () => {
      if (m.type !== 'round' && m.type !== 'fetch') return;
      const client = new CoordinatorClient({ address: m.address, credentials: grpc.credentials.createInsecure(), transferDeadlineMs: 3_600_000 }, new OutboundAudit(join(dir, 'outbound.jsonl')), { initialMs: 200, maxMs: 2_000 });
      try {
        const ref = { ...m.version, kind: 'segmenter' };
        const t0 = performance.now();
        const global = await client.downloadToFile(ref, join(dir, 'cache'));
        const downloadMs = performance.now() - t0;
        if (m.type === 'fetch') {
          // Spot-check the aggregate against the expected median shift, in slices.
          const r = await SafetensorsFileReader.open(global);
          let checked = 0;
          try {
            const probe = new Float32Array(4096);
            for (const [name, shape] of r.shapes) {
              const count = shape[0] * shape[1];
              for (const at of [0, Math.floor(count / 2), count - probe.length].filter((a) => a >= 0)) {
                const part = probe.subarray(0, Math.min(probe.length, count - at));
                await r.read(name, at, part);
                for (let k = 0; k < part.length; k++) {
                  const want = Math.fround(globalValue(at + k) + m.expectShift);
                  if (Math.abs(part[k] - want) > 1e-6) throw new Error(`aggregate ${name}[${at + k}] = ${part[k]}, expected ${want}`);
                }
                checked += part.length;
              }
            }
          } finally {
            await r.close();
          }
          rmSync(join(dir, 'cache'), { recursive: true, force: true });
          send({ type: 'fetched', ms: downloadMs, checkedValues: checked });
          return;
        }
        const reader = await SafetensorsFileReader.open(global);
        let uploaded = 0;
        let uploadMs = 0;
        try {
          for (let s = 0; s < m.sites; s++) {
            const path = join(dir, `update-${s}.safetensors`);
            await writeModel(path, reader.shapes as Map<string, number[]>, 1e-3 * (s + 1), reader);
            const t1 = performance.now();
            const receipt = await client.upload({ roundId: 'r0', baseVersionId: m.version.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} }, { path }, `site-${s}`);
            uploadMs += performance.now() - t1;
            if (receipt.state !== UploadState.UPLOAD_STATE_ACCEPTED) throw new Error(`update ${s} not accepted: ${receipt.reason}`);
            uploaded++;
            rmSync(path);
          }
        } finally {
          await reader.close();
          rmSync(join(dir, 'cache'), { recursive: true, force: true });
        }
        send({ type: 'uploaded', updates: uploaded, downloadMs, uploadMs });
      } finally {
        client.close();
      }
    })().catch((e) => send({ type: 'failed', message: (e as Error)?.stack ?? String(e) }));
  });
}

/**
 * Robust aggregation in bounded memory: `sites` updates of `megabytes` each written as files, then
 * their median and their 10 % trimmed mean by slices (a `budgetBytes` scratch), timed, with this
 * process's peak RSS next to the model's size (in memory, these statistics hold every update:
 * sites x the model).
 */
async function robustEnd(dir: string, sites: number, megabytes: number, budgetBytes: number): Promise<void> {
  const baseline = process.memoryUsage().rss;
  const shapes = modelShapes(megabytes);
  const globalPath = join(dir, 'global.safetensors');
  await writeModel(globalPath, shapes, 0);
  const global = await SafetensorsFileReader.open(globalPath);
  const paths: string[] = [];
  for (let s = 0; s < sites; s++) {
    paths.push(join(dir, `update-${s}.safetensors`));
    await writeModel(paths[s], shapes, 1e-3 * (s - sites / 2), global);
  }
  const readers = await Promise.all(paths.map((p) => SafetensorsFileReader.open(p)));
  const updates: SlicedUpdate[] = readers.map((r, k) => ({ siteId: `s${k}`, sampleCount: 1, kind: 'weights', tensors: r }));
  const modelBytes = [...shapes.values()].reduce((n, s) => n + s[0] * s[1] * 4, 0);
  const figures: Record<string, unknown> = { sites, modelBytes, budgetBytes };
  for (const strategy of ['median', 'trimmed-mean'] as const) {
    const out = join(dir, `${strategy}.safetensors`);
    const sink = await SafetensorsFileWriter.create(out, shapes);
    const t0 = performance.now();
    const r = await aggregateBySlices(resolveAggregationOptions({ strategy, ...(strategy === 'trimmed-mean' ? { trimFraction: 0.1 } : {}) }), global, updates, sink, budgetBytes);
    await sink.close();
    figures[strategy === 'median' ? 'medianMs' : 'trimmedMeanMs'] = Math.round(performance.now() - t0);
    figures.scratchBytes = r.scratchBytes;
    rmSync(out);
  }
  await Promise.all([global, ...readers].map((r) => r.close()));
  const peak = process.resourceUsage().maxRSS * 1024;
  // Above the process's own start (Node, the modules): what the aggregation's data took.
  send({ type: 'robust', figures: { ...figures, baselineRssBytes: baseline, peakRssBytes: peak, peakAboveBaselineOverModel: Number(((peak - baseline) / modelBytes).toFixed(2)) } });
}

if (require.main === module) {
  const [role, dir, ...rest] = process.argv.slice(2);
  mkdirSync(dir, { recursive: true });
  if (role === 'coordinator') coordinatorEnd(dir);
  else if (role === 'agent') agentEnd(dir);
  else void robustEnd(dir, Number(rest[0]), Number(rest[1]), Number(rest[2])).catch((e) => send({ type: 'failed', message: (e as Error)?.stack ?? String(e) }));
}
