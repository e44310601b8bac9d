/**
 * Moving a model over the federation's gRPC transfer against the same number of bytes over a raw
 * TCP socket on loopback, both ways, in one run. The two ends are two processes (as a coordinator
 * and a site agent are): this process plays the site, a child the coordinator. gRPC runs the
 * platform's transfer code with every integrity check on (running SHA-256 per chunk, whole-blob
 * hash, offsets), plaintext like the raw socket, or both over TLS (what a deployment runs: the
 * cipher's cost, which the plaintext figures leave out, is paid by both).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { connect as tlsConnect, createServer as tlsCreateServer } from 'node:tls';
import { createHash, randomBytes, type Hash } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  chunkBlob, ChunkCodecFederationClient, ChunkCodecFederationService, chunkDigestsOf, ChunkVerifier, DEFAULT_CHUNK_BYTES, growHeapForTransfers, TRANSFER_CHANNEL_OPTIONS, UploadState, widenServerFlowControl, widenWhileReading, withMallocTunables,
  type BlobChunk, type Chunk, type ChunkDigests, type FederationClient, type FederationServer, type UploadMessage,
} from '@fedciss/proto';
import { quantile } from './proc-stats';

const MB = 1024 * 1024;

/** TLS for both transfers: the peer's certificate and key, and the CA that signed it (PEM). */
export interface TransferTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** How the forked ends learn the TLS material (the environment: a few KiB of PEM). */
const TLS_ENV = 'FEDCISS_BENCH_TRANSFER_TLS';
const tlsOfEnv = (): TransferTls | undefined => (process.env[TLS_ENV] ? (JSON.parse(process.env[TLS_ENV]) as TransferTls) : undefined);

interface PeerReady {
  grpcPort: number;
  rawPort: number;
  sha256: string;
}

/** The coordinator's end: serves `bytes` random bytes for download and receives uploads. */
function peer(bytes: number, uploadSha256: string): void {
  const blob = randomBytes(bytes);
  // Hashed once, as the model store hashes a version when it stores it: the header's hash and the
  // chunks' running hashes (see ChunkDigests).
  const digests = chunkDigestsOf(blob);
  const sha256 = digests.sha256;
  const tls = tlsOfEnv();
  const server = new grpc.Server(TRANSFER_CHANNEL_OPTIONS);
  // Only the two transfer calls are served, typed by the generated interface.
  const served = { downloadModel: ChunkCodecFederationService.downloadModel, uploadUpdate: ChunkCodecFederationService.uploadUpdate };
  const handlers: Pick<FederationServer, keyof typeof served> = {
    downloadModel(call) {
      call.write({ header: { format: 'safetensors', totalBytes: blob.length, sha256, chunkBytes: DEFAULT_CHUNK_BYTES, model: undefined } });
      writeAll(call, messagesOf(chunkBlob(blob, DEFAULT_CHUNK_BYTES, 0, digests)), () => call.end());
    },
    uploadUpdate(call, answer) {
      // As the coordinator reads an upload that holds a transfer slot: with the wide window.
      const window = widenWhileReading(call);
      void (async () => {
        let a: ChunkVerifier | undefined;
        try {
          for await (const m of call as AsyncIterable<UploadMessage>) {
            if (m.header) a = new ChunkVerifier(m.header.totalBytes, m.header.sha256, 1 << 30);
            else await a!.check(m.chunk!);
          }
        } finally {
          window.release();
        }
        await a!.finish();
        return a!.received;
      })().then(
        (receivedBytes) => answer(null, { updateId: 'u', state: UploadState.UPLOAD_STATE_ACCEPTED, reason: '', receivedBytes }),
        (e) => answer({ code: grpc.status.DATA_LOSS, details: (e as Error).message }),
      );
    },
  };
  server.addService(served, handlers);
  // Raw socket: 'D' asks for the bytes; 'U' (bytes only) or 'H' (hashed: SHA-256 of what arrives,
  // compared with the blob's) starts an upload answered with one byte at its end ('k', or 'x' when
  // the hash differs).
  const onRawSocket = (socket: Socket) => {
    let got = -1;
    let hash: Hash | undefined;
    socket.on('data', (d: Buffer) => {
      if (got < 0) {
        if (d[0] === 0x44) return void writeAll(socket, piecesOf(blob), () => socket.end());
        if (d[0] === 0x48) hash = createHash('sha256');
        d = d.subarray(1);
        got = 0;
      }
      hash?.update(d);
      got += d.length;
      if (got === bytes) socket.end(!hash || hash.digest('hex') === uploadSha256 ? 'k' : 'x');
    });
  };
  const raw = tls ? tlsCreateServer({ key: tls.keyPem, cert: tls.certPem }, onRawSocket) : createServer(onRawSocket);
  // The parent asks for this process's CPU time after each transfer, and disconnects at the end
  // (a clean exit, so that `node --cpu-prof` writes this process's profile too).
  process.on('disconnect', () => process.exit(0));
  process.on('message', () => {
    const c = process.cpuUsage();
    process.send!({ cpuMs: (c.user + c.system) / 1000 });
  });
  raw.listen(0, '127.0.0.1', () =>
    server.bindAsync('127.0.0.1:0', tls ? grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }]) : grpc.ServerCredentials.createInsecure(), (e, grpcPort) => {
      if (e) throw e;
      widenServerFlowControl(server);
      process.send!({ grpcPort, rawPort: (raw.address() as AddressInfo).port, sha256 } satisfies PeerReady);
    }),
  );
}

/**
 * Writes each item once the stream has taken the one before (waiting for 'drain' when it asks to),
 * then calls `done`: how every sender here writes, gRPC calls and raw sockets alike.
 */
function writeAll<T>(stream: { write(item: T): boolean; once(event: 'drain', listener: () => void): unknown }, items: Iterator<T>, done: () => void): void {
  const pump = (): void => {
    for (let i = items.next(); !i.done; i = items.next()) if (!stream.write(i.value)) return void stream.once('drain', pump);
    done();
  };
  pump();
}

/** A blob's chunks as the transfer calls' messages. */
function* messagesOf(chunks: Iterable<Chunk>): Generator<{ chunk: Chunk }> {
  for (const chunk of chunks) yield { chunk };
}

/**
 * `blob` in pieces of a chunk's size: what the raw references write, as a sender that holds no
 * second copy does. (TLS encrypted a single 64 MiB write at 141 MB/s and 8.8 CPU s/GiB; in pieces,
 * several times faster.)
 */
function* piecesOf(blob: Buffer): Generator<Buffer> {
  for (let at = 0; at < blob.length; at += DEFAULT_CHUNK_BYTES) yield blob.subarray(at, at + DEFAULT_CHUNK_BYTES);
}

/** Opens a raw connection to the peer (plain TCP or TLS) and calls back once it can carry bytes. */
type Dial = (connected: () => void) => Socket;

/** The blob over a raw socket; with `expectedSha256`, hashed as it arrives and checked at its end. */
function rawDownload(dial: Dial, bytes: number, expectedSha256?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = 0;
    const hash = expectedSha256 ? createHash('sha256') : undefined;
    const c = dial(() => c.write('D'));
    c.on('data', (d: Buffer) => {
      hash?.update(d);
      got += d.length;
    });
    c.on('end', () => {
      if (got !== bytes) reject(new Error(`raw download got ${got} of ${bytes} bytes`));
      else if (hash && hash.digest('hex') !== expectedSha256) reject(new Error('raw download: sha256 mismatch'));
      else resolve(performance.now() - t0);
    });
    c.on('error', reject);
  });
}

/** The blob over a raw socket; `hashed`: the receiving end hashes it and checks it against the blob's hash. */
function rawUpload(dial: Dial, blob: Buffer, hashed: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = dial(() => (c.write(hashed ? 'H' : 'U'), writeAll(c, piecesOf(blob), () => undefined)));
    c.on('data', (d: Buffer) => {
      c.destroy();
      if (d[0] === 0x6b) resolve(performance.now() - t0);
      else reject(new Error('raw upload: sha256 mismatch'));
    });
    c.on('error', reject);
  });
}

async function grpcDownload(client: FederationClient, expectedSha: string): Promise<number> {
  const t0 = performance.now();
  let a: ChunkVerifier | undefined;
  for await (const m of client.downloadModel({ versionId: 'v', offset: 0 }) as AsyncIterable<BlobChunk>) {
    if (m.header) a = new ChunkVerifier(m.header.totalBytes, expectedSha, 1 << 30);
    else await a!.check(m.chunk!);
  }
  await a!.finish();
  return performance.now() - t0;
}

function grpcUpload(client: FederationClient, blob: Buffer, digests: ChunkDigests): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const call = client.uploadUpdate((e) => (e ? reject(e) : resolve(performance.now() - t0)));
    call.write({ header: { idempotencyKey: 'k', roundId: 'r', baseVersionId: 'v', kind: 'segmenter', samples: undefined, totalBytes: blob.length, sha256: digests.sha256, trainMetrics: {}, resumeOffset: 0 } });
    writeAll(call, messagesOf(chunkBlob(blob, DEFAULT_CHUNK_BYTES, 0, digests)), () => call.end());
  });
}

const median = (xs: number[]) => quantile(xs, 0.5);

const KINDS = ['rawDown', 'rawDownHashed', 'down', 'rawUp', 'rawUpHashed', 'up', 'sha256'] as const;
type Kind = (typeof KINDS)[number];

export interface TransferFigures {
  /** Both transfers over TLS (else plaintext both). */
  tls: boolean;
  sizeMB: number;
  repeats: number;
  chunkBytes: number;
  /** The raw socket moving bytes only (the reference the goal names). */
  rawSocketMBps: number;
  rawDownloadMBps: number;
  rawUploadMBps: number;
  /** The raw socket with the receiving end hashing what arrives and checking the blob's hash: the integrity work gRPC's receivers do. */
  rawHashedDownloadMBps: number;
  rawHashedUploadMBps: number;
  grpcDownloadMBps: number;
  grpcUploadMBps: number;
  /**
   * One thread hashing the blob (SHA-256, in memory, this process). A receiver checks every byte
   * with ONE running hash, which no second core can share: no transfer with the checks on moves
   * bytes faster than this, whatever else it does.
   */
  sha256MBps: number;
  downloadRatio: number;
  uploadRatio: number;
  downloadRatioToHashedRaw: number;
  uploadRatioToHashedRaw: number;
  /**
   * CPU seconds per GiB moved, of each process (the site's: this one; the coordinator's: the peer)
   * and both together: independent of what else the machine runs.
   */
  cpuSecondsPerGiB: Record<Kind, { site: number; coordinator: number; both: number }>;
  note: string;
}

/**
 * The transfer figures, measured by two fresh processes (forked from this file: the site end, which
 * forks the coordinator end; both with the allocator settings the platform's programs start with):
 * not by the caller's process, whose heap (bench:scale loads the whole coordinator) made every
 * garbage collection, and so every transfer, cost about twice the CPU.
 */
export function benchTransfer(sizeMb = 64, repeats = 5, tls?: TransferTls): Promise<TransferFigures> {
  return new Promise((resolve, reject) => {
    const env = withMallocTunables({ ...process.env, [TLS_ENV]: tls ? JSON.stringify(tls) : '' });
    const site = fork(__filename, ['--site', String(sizeMb), String(repeats)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
    site.once('message', (m) => resolve(m as TransferFigures));
    site.once('exit', (code) => reject(new Error(`the transfer bench's site end exited with ${code} before reporting`)));
  });
}

/** Medians of `repeats` interleaved runs of each of the six transfers and of hashing the blob (after one warm-up of each), this process as the site. */
async function measureTransfer(sizeMb: number, repeats: number): Promise<TransferFigures> {
  const bytes = sizeMb * MB;
  const blob = randomBytes(bytes);
  // Hashed once before the runs, as the site agent hashes an update before announcing it.
  const digests = chunkDigestsOf(blob);
  const child: ChildProcess = fork(__filename, ['--peer', String(bytes), digests.sha256], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: withMallocTunables() });
  try {
    const ready = await new Promise<PeerReady>((resolve, reject) => {
      child.once('message', (m) => resolve(m as PeerReady));
      child.once('exit', (code) => reject(new Error(`transfer peer exited with ${code}`)));
    });
    const tls = tlsOfEnv();
    const credentials = tls ? grpc.credentials.createSsl(Buffer.from(tls.caPem)) : grpc.credentials.createInsecure();
    const client = new ChunkCodecFederationClient(`127.0.0.1:${ready.grpcPort}`, credentials, TRANSFER_CHANNEL_OPTIONS);
    const dial: Dial = tls
      ? (connected) => tlsConnect({ port: ready.rawPort, host: '127.0.0.1', ca: tls.caPem }, connected)
      : (connected) => connect(ready.rawPort, '127.0.0.1', connected);
    const runs: Record<Kind, () => Promise<number>> = {
      rawDown: () => rawDownload(dial, bytes),
      rawDownHashed: () => rawDownload(dial, bytes, ready.sha256),
      down: () => grpcDownload(client, ready.sha256),
      rawUp: () => rawUpload(dial, blob, false),
      rawUpHashed: () => rawUpload(dial, blob, true),
      up: () => grpcUpload(client, blob, digests),
      sha256: async () => {
        const t0 = performance.now();
        createHash('sha256').update(blob).digest();
        return performance.now() - t0;
      },
    };
    const peerCpuMs = () => new Promise<number>((resolve) => (child.once('message', (m) => resolve((m as { cpuMs: number }).cpuMs)), child.send('cpu')));
    const perKind = <T>(make: () => T) => Object.fromEntries(KINDS.map((k) => [k, make()])) as Record<Kind, T>;
    const times = perKind(() => [] as number[]);
    const cpu = perKind(() => ({ site: [] as number[], coordinator: [] as number[], both: [] as number[] }));
    try {
      for (let i = 0; i <= repeats; i++) {
        for (const k of KINDS) {
          const [own, theirs] = [process.cpuUsage(), await peerCpuMs()];
          const ms = await runs[k]();
          const mine = process.cpuUsage(own);
          const site = (mine.user + mine.system) / 1000;
          const coordinator = (await peerCpuMs()) - theirs;
          if (i === 0) continue; // the first round warms up
          times[k].push(ms);
          cpu[k].site.push(site);
          cpu[k].coordinator.push(coordinator);
          cpu[k].both.push(site + coordinator);
        }
      }
    } finally {
      client.close();
    }
    const mbps = (ms: number) => Number((sizeMb / (ms / 1000)).toFixed(1));
    const rate = Object.fromEntries(KINDS.map((k) => [k, mbps(median(times[k]))])) as Record<Kind, number>;
    const ratio = (a: number, b: number) => Number((a / b).toFixed(2));
    const perGiB = (ms: number[]) => Number(((median(ms) / 1000) * (1024 / sizeMb)).toFixed(2));
    return {
      tls: tls !== undefined,
      sizeMB: sizeMb,
      repeats,
      chunkBytes: DEFAULT_CHUNK_BYTES,
      rawSocketMBps: mbps(median([...times.rawDown, ...times.rawUp])),
      rawDownloadMBps: rate.rawDown,
      rawUploadMBps: rate.rawUp,
      rawHashedDownloadMBps: rate.rawDownHashed,
      rawHashedUploadMBps: rate.rawUpHashed,
      grpcDownloadMBps: rate.down,
      grpcUploadMBps: rate.up,
      sha256MBps: rate.sha256,
      downloadRatio: ratio(rate.down, rate.rawDown),
      uploadRatio: ratio(rate.up, rate.rawUp),
      downloadRatioToHashedRaw: ratio(rate.down, rate.rawDownHashed),
      uploadRatioToHashedRaw: ratio(rate.up, rate.rawUpHashed),
      cpuSecondsPerGiB: Object.fromEntries(KINDS.map((k) => [k, { site: perGiB(cpu[k].site), coordinator: perGiB(cpu[k].coordinator), both: perGiB(cpu[k].both) }])) as TransferFigures['cpuSecondsPerGiB'],
      note:
        `two processes on loopback, ${tls ? 'TLS both (server-authenticated: the cipher a mutual-TLS federation pays)' : 'plaintext both'}, started with the platform's allocator settings (GLIBC_TUNABLES), ` +
        'the gRPC server with its widened HTTP/2 windows (the wide stream window while it reads an upload, as the coordinator gives one holding a transfer slot). gRPC: the platform transfer code (hand-written chunk codec), ' +
        'the receiver checking every chunk\'s running SHA-256 and the whole-blob hash, the sender taking the running hashes from the pass that hashed the blob ' +
        'before the runs (as the store and the agent do before announcing a blob). raw: bytes only; rawHashed: the receiver also hashes and checks. MB = MiB',
    };
  } finally {
    if (child.connected) child.disconnect();
    else child.kill();
  }
}

if (require.main === module) {
  growHeapForTransfers(); // as the coordinator and the site agent do when they start
  if (process.argv[2] === '--peer') peer(Number(process.argv[3]), process.argv[4]!);
  else if (process.argv[2] === '--site') {
    measureTransfer(Number(process.argv[3]), Number(process.argv[4])).then(
      (r) => process.send!(r, () => process.exit(0)),
      (e) => (process.stderr.write(`transfer bench: ${(e as Error)?.stack ?? e}\n`), process.exit(1)),
    );
  }
  else void benchTransfer().then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
}
