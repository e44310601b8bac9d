/**
 * Moving a model over the federation's gRPC transfer (1 MiB chunks, a SHA-256 per chunk and per
 * blob, both directions) against the same bytes over a raw TCP socket on loopback, in one run.
 * Prints one JSON document.
 */
import { createServer, connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { BlobAssembler, chunkBlob, FederationClient, FederationService, sha256Hex, UploadState, type BlobChunk, type FederationServer, type UploadMessage } from '@fedciss/proto';

const MB = 1024 * 1024;

async function rawSocket(blob: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => {
      let got = 0;
      socket.on('data', (d) => {
        got += d.length;
        if (got === blob.length) socket.end('ok');
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      const t0 = performance.now();
      const c = connect(port, '127.0.0.1', () => c.end(blob));
      c.on('data', () => {
        const ms = performance.now() - t0;
        c.destroy();
        server.close();
        resolve(ms);
      });
      c.on('error', reject);
    });
  });
}

async function grpcBoth(blob: Buffer): Promise<{ downloadMs: number; uploadMs: number }> {
  const sha = sha256Hex(blob);
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 8 * MB });
  // Only the two transfer calls are served: the service definition and its handlers, typed by the generated interface.
  const served = { downloadModel: FederationService.downloadModel, uploadUpdate: FederationService.uploadUpdate };
  const handlers: Pick<FederationServer, keyof typeof served> = {
    downloadModel(call) {
      call.write({ header: { format: 'safetensors', totalBytes: blob.length, sha256: sha, chunkBytes: MB, model: undefined } });
      for (const chunk of chunkBlob(blob)) call.write({ chunk });
      call.end();
    },
    uploadUpdate(call, cb) {
      let a: BlobAssembler | undefined;
      call.on('data', (m: UploadMessage) => (m.header ? (a = new BlobAssembler(m.header.totalBytes, m.header.sha256, 1 << 30)) : a!.add(m.chunk!)));
      call.on('end', () => {
        a!.finish();
        cb(null, { updateId: 'x', state: UploadState.UPLOAD_STATE_ACCEPTED, reason: '', receivedBytes: blob.length });
      });
    },
  };
  server.addService(served, handlers);
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  const client = new FederationClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': 8 * MB });
  try {
    let t0 = performance.now();
    let a: BlobAssembler | undefined;
    for await (const m of client.downloadModel({ versionId: 'v', offset: 0 }) as AsyncIterable<BlobChunk>) {
      if (m.header) a = new BlobAssembler(m.header.totalBytes, m.header.sha256, 1 << 30);
      else a!.add(m.chunk!);
    }
    a!.finish();
    const downloadMs = performance.now() - t0;
    t0 = performance.now();
    await new Promise<void>((resolve, reject) => {
      const call = client.uploadUpdate((e) => (e ? reject(e) : resolve()));
      call.write({ header: { idempotencyKey: 'k', roundId: 'r', baseVersionId: 'v', kind: 'segmenter', samples: undefined, totalBytes: blob.length, sha256: sha, trainMetrics: {}, resumeOffset: 0 } });
      for (const chunk of chunkBlob(blob)) call.write({ chunk });
      call.end();
    });
    return { downloadMs, uploadMs: performance.now() - t0 };
  } finally {
    client.close();
    server.forceShutdown();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchTransfer(sizeMb = 50, repeats = 5) {
  const blob = randomBytes(sizeMb * MB);
  const raw: number[] = [];
  const down: number[] = [];
  const up: number[] = [];
  await grpcBoth(blob); // warm-up
  for (let i = 0; i < repeats; i++) {
    raw.push(await rawSocket(blob));
    const g = await grpcBoth(blob);
    down.push(g.downloadMs);
    up.push(g.uploadMs);
  }
  const mbps = (ms: number) => Number((sizeMb / (ms / 1000)).toFixed(1));
  return {
    sizeMB: sizeMb,
    repeats,
    rawSocketMBps: mbps(median(raw)),
    grpcDownloadMBps: mbps(median(down)),
    grpcUploadMBps: mbps(median(up)),
    note: 'gRPC figures include SHA-256 of every 1 MiB chunk and of the whole blob on the receiving side; the raw socket moves bytes only',
  };
}

if (require.main === module) void benchTransfer().then((r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'));
