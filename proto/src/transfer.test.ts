// A 50 MB model crosses a real grpc-js connection on loopback in both directions, in chunks, with
// the receiver verifying every chunk hash and the whole-blob hash.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  FederationClient, FederationService, type BlobChunk, type UploadMessage, type UploadReceipt, UploadState,
} from './generated/v1/federation';
import { BlobAssembler, chunkBlob, sha256Hex, TransferError } from './transfer';

const MB = 1024 * 1024;
const model = randomBytes(50 * MB);
const modelSha = sha256Hex(model);
let uploaded: Buffer | undefined;
let server: grpc.Server;
let client: FederationClient;

before(async () => {
  server = new grpc.Server();
  server.addService(FederationService, {
    downloadModel(call: grpc.ServerWritableStream<{ versionId: string; offset: number }, BlobChunk>) {
      call.write({ header: { format: 'safetensors', totalBytes: model.length, sha256: modelSha, chunkBytes: MB, model: undefined } });
      for (const chunk of chunkBlob(model, MB, call.request.offset)) call.write({ chunk });
      call.end();
    },
    uploadUpdate(call: grpc.ServerReadableStream<UploadMessage, UploadReceipt>, callback: grpc.sendUnaryData<UploadReceipt>) {
      let assembler: BlobAssembler | undefined;
      let failed = false;
      call.on('data', (msg: UploadMessage) => {
        if (failed) return;
        try {
          if (msg.header) assembler = new BlobAssembler(msg.header.totalBytes, msg.header.sha256, 64 * MB);
          else if (msg.chunk && assembler) assembler.add(msg.chunk);
          else throw new TransferError('a chunk arrived before the header');
        } catch (e) {
          failed = true;
          callback({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
        }
      });
      call.on('end', () => {
        if (failed) return;
        try {
          uploaded = assembler!.finish();
          callback(null, { updateId: 'u1', state: UploadState.UPLOAD_STATE_ACCEPTED, reason: '', receivedBytes: uploaded.length });
        } catch (e) {
          callback({ code: grpc.status.DATA_LOSS, details: (e as Error).message });
        }
      });
    },
  } as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new FederationClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(() => {
  client.close();
  server.forceShutdown();
});

function upload(messages: UploadMessage[]): Promise<UploadReceipt> {
  return new Promise((resolve, reject) => {
    const call = client.uploadUpdate({ deadline: Date.now() + 60_000 }, (err, receipt) => (err ? reject(err) : resolve(receipt!)));
    for (const m of messages) call.write(m);
    call.end();
  });
}

const header = (blob: Buffer) => ({
  header: {
    idempotencyKey: 'k', roundId: 'r', baseVersionId: 'v', kind: 'segmenter', samples: undefined,
    totalBytes: blob.length, sha256: sha256Hex(blob), trainMetrics: {}, resumeOffset: 0,
  },
});

test('a 50 MB model downloads in 1 MiB chunks and its hash verifies', { timeout: 120_000 }, async () => {
  const stream = client.downloadModel({ versionId: 'v1', offset: 0 }, { deadline: Date.now() + 60_000 });
  let assembler: BlobAssembler | undefined;
  let chunks = 0;
  for await (const msg of stream as AsyncIterable<BlobChunk>) {
    if (msg.header) assembler = new BlobAssembler(msg.header.totalBytes, msg.header.sha256, 64 * MB);
    else if (msg.chunk) {
      assembler!.add(msg.chunk);
      chunks++;
    }
  }
  assert.equal(chunks, 50);
  assert.ok(assembler!.finish().equals(model));
});

test('a download resumed at an offset sends only the rest', { timeout: 120_000 }, async () => {
  const stream = client.downloadModel({ versionId: 'v1', offset: 48 * MB }, { deadline: Date.now() + 60_000 });
  let assembler: BlobAssembler | undefined;
  for await (const msg of stream as AsyncIterable<BlobChunk>) {
    if (msg.header) assembler = new BlobAssembler(msg.header.totalBytes, msg.header.sha256, 64 * MB, model.subarray(0, 48 * MB));
    else if (msg.chunk) assembler!.add(msg.chunk);
  }
  assert.ok(assembler!.finish().equals(model));
});

test('a 50 MB update uploads in chunks and the coordinator side verifies it', { timeout: 120_000 }, async () => {
  const receipt = await upload([header(model), ...[...chunkBlob(model)].map((chunk) => ({ chunk }))]);
  assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED);
  assert.equal(receipt.receivedBytes, model.length);
  assert.ok(uploaded!.equals(model));
});

test('a chunk whose bytes do not match its hash is refused with a clear error', { timeout: 60_000 }, async () => {
  const blob = randomBytes(3 * MB);
  const chunks = [...chunkBlob(blob)].map((chunk) => ({ chunk }));
  const corrupt = Buffer.from(chunks[1].chunk.data);
  corrupt[100] ^= 0xff;
  chunks[1] = { chunk: { ...chunks[1].chunk, data: corrupt } };
  await assert.rejects(upload([header(blob), ...chunks]), (e: grpc.ServiceError) =>
    e.code === grpc.status.INVALID_ARGUMENT && /offset 1048576 failed its sha256 check/.test(e.details));
});

test('a blob whose whole hash differs from the announced one is refused', () => {
  const blob = randomBytes(1000);
  const a = new BlobAssembler(blob.length, sha256Hex(randomBytes(10)), MB);
  for (const chunk of chunkBlob(blob, 300)) a.add(chunk);
  assert.throws(() => a.finish(), /does not match the announced/);
  assert.throws(() => new BlobAssembler(10 * MB, sha256Hex(blob), MB), /exceeds the limit/);
  const b = new BlobAssembler(blob.length, sha256Hex(blob), MB);
  assert.throws(() => b.add({ offset: 300, data: blob.subarray(300, 600), sha256: sha256Hex(blob.subarray(300, 600)) }), /expected offset 0/);
});
