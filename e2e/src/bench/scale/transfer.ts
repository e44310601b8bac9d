/**
 * Moving a model over the federation's gRPC transfer against the same number of bytes over a raw
 * TCP socket on loopback, both ways, in one run. The two ends are two processes (as a coordinator
 * and a site agent are): this process plays the site, a child the coordinator. gRPC runs the
 * platform's transfer code with every integrity check on (running SHA-256 per chunk, whole-blob
 * hash, offsets), plaintext like the raw socket (mutual TLS would cost both the same cipher).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { connect, createServer, type AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  BlobAssembler, chunkBlob, DEFAULT_CHUNK_BYTES, FederationClient, FederationService, sha256Hex, TRANSFER_CHANNEL_OPTIONS, UploadState,
  type BlobChunk, type FederationServer, type UploadMessage,
} from '@fedciss/proto';
import { quantile } from './proc-stats';

const MB = 1024 * 1024;

interface PeerReady {
  grpcPort: number;
  rawPort: number;
  sha256: string;
}

/** The coordinator's end: serves `bytes` random bytes for download and receives uploads. */
function peer(bytes: number): void {
  const blob = randomBytes(bytes);
  const sha256 = sha256Hex(blob);
  const server = new grpc.Server(TRANSFER_CHANNEL_OPTIONS);
  // Only the two transfer calls are served, typed by the generated interface.
  const served = { downloadModel: FederationService.downloadModel, uploadUpdate: FederationService.uploadUpdate };
  const handlers: Pick<FederationServer, keyof typeof served> = {
    downloadModel(call) {
      call.write({ header: { format: 'safetensors', totalBytes: blob.length, sha256, chunkBytes: DEFAULT_CHUNK_BYTES, model: undefined } });
      const chunks = chunkBlob(blob);
      const pump = (): void => {
        for (let c = chunks.next(); !c.done; c = chunks.next()) if (!call.write({ chunk: c.value })) return void call.once('drain', pump);
        call.end();
      };
      pump();
    },
    uploadUpdate(call, answer) {
      let a: BlobAssembler | undefined;
      call.on('data', (m: UploadMessage) => (m.header ? (a = new BlobAssembler(m.header.totalBytes, m.header.sha256, 1 << 30)) : a!.add(m.chunk!)));
      call.on('end', () => {
        try {
          a!.finish();
          answer(null, { updateId: 'u', state: UploadState.UPLOAD_STATE_ACCEPTED, reason: '', receivedBytes: a!.received });
        } catch (e) {
          answer({ code: grpc.status.DATA_LOSS, details: (e as Error).message });
        }
      });
    },
  };
  server.addService(served, handlers);
  // Raw socket: 'D' asks for the bytes; anything else starts an upload answered with one byte at its end.
  const raw = createServer((socket) => {
    let got = -1;
    socket.on('data', (d: Buffer) => {
      if (got < 0 && d[0] === 0x44) return void socket.end(blob);
      got += d.length;
      if (got === bytes) socket.end('k');
    });
  });
  // The parent asks for this process's CPU time after each transfer.
  process.on('message', () => {
    const c = process.cpuUsage();
    process.send!({ cpuMs: (c.user + c.system) / 1000 });
  });
  raw.listen(0, '127.0.0.1', () =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, grpcPort) => {
      if (e) throw e;
      process.send!({ grpcPort, rawPort: (raw.address() as AddressInfo).port, sha256 } satisfies PeerReady);
    }),
  );
}

function rawDownload(port: number, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let got = 0;
    const c = connect(port, '127.0.0.1', () => c.write('D'));
    c.on('data', (d) => (got += d.length));
    c.on('end', () => (got === bytes ? resolve(performance.now() - t0) : reject(new Error(`raw download got ${got} of ${bytes} bytes`))));
    c.on('error', reject);
  });
}

function rawUpload(port: number, blob: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const c = connect(port, '127.0.0.1', () => (c.write('U'), c.write(blob)));
    c.on('data', () => {
      c.destroy();
      resolve(performance.now() - t0);
    });
    c.on('error', reject);
  });
}

async function grpcDownload(client: FederationClient, expectedSha: string): Promise<number> {
  const t0 = performance.now();
  let a: BlobAssembler | undefined;
  for await (const m of client.downloadModel({ versionId: 'v', offset: 0 }) as AsyncIterable<BlobChunk>) {
    if (m.header) a = new BlobAssembler(m.header.totalBytes, expectedSha, 1 << 30);
    else a!.add(m.chunk!);
  }
  a!.finish();
  return performance.now() - t0;
}

function grpcUpload(client: FederationClient, blob: Buffer, sha256: string): Promise<number> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const call = client.uploadUpdate((e) => (e ? reject(e) : resolve(performance.now() - t0)));
    call.write({ header: { idempotencyKey: 'k', roundId: 'r', baseVersionId: 'v', kind: 'segmenter', samples: undefined, totalBytes: blob.length, sha256, trainMetrics: {}, resumeOffset: 0 } });
    const chunks = chunkBlob(blob);
    const pump = (): void => {
      for (let c = chunks.next(); !c.done; c = chunks.next()) if (!call.write({ chunk: c.value })) return void call.once('drain', pump);
      call.end();
    };
    pump();
  });
}

const median = (xs: number[]) => quantile(xs, 0.5);

export interface TransferFigures {
  sizeMB: number;
  repeats: number;
  chunkBytes: number;
  rawSocketMBps: number;
  rawDownloadMBps: number;
  rawUploadMBps: number;
  grpcDownloadMBps: number;
  grpcUploadMBps: number;
  downloadRatio: number;
  uploadRatio: number;
  /** CPU time of both processes together per GiB moved: independent of what else the machine runs. */
  cpuSecondsPerGiB: { rawDown: number; down: number; rawUp: number; up: number };
  note: string;
}

/** Medians of `repeats` interleaved runs of each of the four transfers (after one warm-up of each). */
export async function benchTransfer(sizeMb = 64, repeats = 5): Promise<TransferFigures> {
  const bytes = sizeMb * MB;
  const child: ChildProcess = fork(__filename, ['--peer', String(bytes)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ready = await new Promise<PeerReady>((resolve, reject) => {
      child.once('message', (m) => resolve(m as PeerReady));
      child.once('exit', (code) => reject(new Error(`transfer peer exited with ${code}`)));
    });
    const client = new FederationClient(`127.0.0.1:${ready.grpcPort}`, grpc.credentials.createInsecure(), TRANSFER_CHANNEL_OPTIONS);
    const blob = randomBytes(bytes);
    const sha = sha256Hex(blob);
    const kinds = ['rawDown', 'down', 'rawUp', 'up'] as const;
    const runs: Record<(typeof kinds)[number], () => Promise<number>> = {
      rawDown: () => rawDownload(ready.rawPort, bytes),
      down: () => grpcDownload(client, ready.sha256),
      rawUp: () => rawUpload(ready.rawPort, blob),
      up: () => grpcUpload(client, blob, sha),
    };
    const peerCpuMs = () => new Promise<number>((resolve) => (child.once('message', (m) => resolve((m as { cpuMs: number }).cpuMs)), child.send('cpu')));
    const times = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<(typeof kinds)[number], number[]>;
    const cpu = Object.fromEntries(kinds.map((k) => [k, [] as number[]])) as Record<(typeof kinds)[number], number[]>;
    try {
      for (let i = 0; i <= repeats; i++) {
        for (const k of kinds) {
          const [own, theirs] = [process.cpuUsage(), await peerCpuMs()];
          const ms = await runs[k]();
          const mine = process.cpuUsage(own);
          const cpuMs = (mine.user + mine.system) / 1000 + (await peerCpuMs()) - theirs;
          if (i > 0) (times[k].push(ms), cpu[k].push(cpuMs)); // the first round warms up
        }
      }
    } finally {
      client.close();
    }
    const mbps = (ms: number) => Number((sizeMb / (ms / 1000)).toFixed(1));
    const [rawDownloadMBps, rawUploadMBps, grpcDownloadMBps, grpcUploadMBps] = [times.rawDown, times.rawUp, times.down, times.up].map((t) => mbps(median(t)));
    const rawSocketMBps = mbps(median([...times.rawDown, ...times.rawUp]));
    return {
      sizeMB: sizeMb,
      repeats,
      chunkBytes: DEFAULT_CHUNK_BYTES,
      rawSocketMBps,
      rawDownloadMBps,
      rawUploadMBps,
      grpcDownloadMBps,
      grpcUploadMBps,
      downloadRatio: Number((grpcDownloadMBps / rawDownloadMBps).toFixed(2)),
      uploadRatio: Number((grpcUploadMBps / rawUploadMBps).toFixed(2)),
      cpuSecondsPerGiB: Object.fromEntries(kinds.map((k) => [k, Number(((median(cpu[k]) / 1000) * (1024 / sizeMb)).toFixed(2))])) as TransferFigures['cpuSecondsPerGiB'],
      note: 'two processes on loopback; gRPC with a running SHA-256 checked per chunk and the whole-blob hash on the receiving side, the sender hashing as it sends; the raw socket moves bytes only; MB = MiB',
    };
  } finally {
    child.kill();
  }
}

if (require.main === module) {
  if (process.argv[2] === '--peer') peer(Number(process.argv[3]));
  else void benchTransfer().then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
}
