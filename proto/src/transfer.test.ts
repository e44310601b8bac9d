// A 50 MB model crosses a real grpc-js connection on loopback in both directions, in chunks, with
// the receiver verifying every chunk hash and the whole-blob hash. The server runs the generated
// codec, the client the hand-written chunk codec: the two interoperate.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import {
  FederationClient, FederationService, type BlobChunk, type UploadMessage, type UploadReceipt, UploadState,
} from './generated/v1/federation';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobAssembler, chunkBlob, chunkDigestsOf, chunkDigestsOfFile, chunkFile, FileBlobAssembler, sha256Hex, sha256OfFile, TransferError } from './transfer';
import { ChunkCodecFederationClient } from './chunk-codec';

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
      void (async () => {
        for await (const msg of call as AsyncIterable<UploadMessage>) {
          try {
            if (msg.header) assembler = await BlobAssembler.open(msg.header.totalBytes, msg.header.sha256, 64 * MB);
            else if (msg.chunk && assembler) await assembler.add(msg.chunk);
            else throw new TransferError('a chunk arrived before the header');
          } catch (e) {
            callback({ code: grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
            return;
          }
        }
        try {
          uploaded = await assembler!.finish();
          callback(null, { updateId: 'u1', state: UploadState.UPLOAD_STATE_ACCEPTED, reason: '', receivedBytes: uploaded.length });
        } catch (e) {
          callback({ code: grpc.status.DATA_LOSS, details: (e as Error).message });
        }
      })();
    },
  } as unknown as grpc.UntypedServiceImplementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  client = new ChunkCodecFederationClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
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
    if (msg.header) assembler = await BlobAssembler.open(msg.header.totalBytes, msg.header.sha256, 64 * MB);
    else if (msg.chunk) {
      await assembler!.add(msg.chunk);
      chunks++;
    }
  }
  assert.equal(chunks, 50);
  assert.ok((await assembler!.finish()).equals(model));
});

test('a download resumed at an offset sends only the rest', { timeout: 120_000 }, async () => {
  const stream = client.downloadModel({ versionId: 'v1', offset: 48 * MB }, { deadline: Date.now() + 60_000 });
  let assembler: BlobAssembler | undefined;
  for await (const msg of stream as AsyncIterable<BlobChunk>) {
    if (msg.header) assembler = await BlobAssembler.open(msg.header.totalBytes, msg.header.sha256, 64 * MB, model.subarray(0, 48 * MB));
    else if (msg.chunk) await assembler!.add(msg.chunk);
  }
  assert.ok((await assembler!.finish()).equals(model));
});

test('a 50 MB update uploads in chunks and the coordinator side verifies it', { timeout: 120_000 }, async () => {
  const receipt = await upload([header(model), ...[...chunkBlob(model)].map((chunk) => ({ chunk }))]);
  assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED);
  assert.equal(receipt.receivedBytes, model.length);
  assert.ok(uploaded!.equals(model));
});

test('a chunk whose bytes do not match its hash is refused with a clear error', { timeout: 60_000 }, async () => {
  const blob = randomBytes(3 * MB);
  const chunks = [...chunkBlob(blob, MB)].map((chunk) => ({ chunk }));
  const corrupt = Buffer.from(chunks[1].chunk.data);
  corrupt[100] ^= 0xff;
  chunks[1] = { chunk: { ...chunks[1].chunk, data: corrupt } };
  await assert.rejects(upload([header(blob), ...chunks]), (e: grpc.ServiceError) =>
    e.code === grpc.status.INVALID_ARGUMENT && /offset 1048576 failed its sha256 check/.test(e.details));
});

test('a blob whose whole hash differs from the announced one is refused', async () => {
  const blob = randomBytes(1000);
  const a = await BlobAssembler.open(blob.length, sha256Hex(randomBytes(10)), MB);
  for (const chunk of chunkBlob(blob, 300)) await a.add(chunk);
  await assert.rejects(a.finish(), /does not match the announced/);
  await assert.rejects(BlobAssembler.open(10 * MB, sha256Hex(blob), MB), /exceeds the limit/);
  const b = await BlobAssembler.open(blob.length, sha256Hex(blob), MB);
  await assert.rejects(b.add({ offset: 300, data: blob.subarray(300, 600), sha256: sha256Hex(blob.subarray(300, 600)), prefixSha256: '' }), /expected offset 0/);
});

test("each chunk carries the running hash of the blob up to its end, computed independently here", () => {
  const blob = randomBytes(2500);
  const chunks = [...chunkBlob(blob, 1000, 0)];
  assert.deepEqual(chunks.map((c) => [c.offset, c.data.length]), [[0, 1000], [1000, 1000], [2000, 500]]);
  for (const c of chunks) assert.equal(c.prefixSha256, sha256Hex(blob.subarray(0, c.offset + c.data.length)));
  assert.equal(chunks[2].prefixSha256, sha256Hex(blob));
  // Resumed at 1000: the prefix is hashed, not sent.
  assert.deepEqual([...chunkBlob(blob, 1000, 1000)].map((c) => c.prefixSha256), chunks.slice(1).map((c) => c.prefixSha256));
});

test("chunks of an older sender (a sha256 per chunk, no running hash) are still checked and accepted", async () => {
  const blob = randomBytes(2500);
  const a = await BlobAssembler.open(blob.length, sha256Hex(blob), MB);
  for (let at = 0; at < blob.length; at += 1000) {
    const data = blob.subarray(at, at + 1000);
    await a.add({ offset: at, data, sha256: sha256Hex(data), prefixSha256: '' });
  }
  assert.ok((await a.finish()).equals(blob));
  const b = await BlobAssembler.open(blob.length, sha256Hex(blob), MB);
  await assert.rejects(b.add({ offset: 0, data: blob.subarray(0, 1000), sha256: sha256Hex(blob.subarray(1, 1001)), prefixSha256: '' }), /offset 0 failed its sha256 check/);
});

test("a file is sent in the same chunks as its bytes in memory, and received into a file that resumes after a torn write", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'transfer-'));
  try {
    const blob = randomBytes(5 * MB + 123);
    const source = join(dir, 'model.bin');
    writeFileSync(source, blob);
    assert.deepEqual(await sha256OfFile(source), { sha256: sha256Hex(blob), sizeBytes: blob.length });
    const fromFile: Array<{ offset: number; prefixSha256: string }> = [];
    for await (const c of chunkFile(source, MB, 2 * MB)) fromFile.push({ offset: c.offset, prefixSha256: c.prefixSha256 });
    assert.deepEqual(fromFile, [...chunkBlob(blob, MB, 2 * MB)].map((c) => ({ offset: c.offset, prefixSha256: c.prefixSha256 })));

    const target = join(dir, 'received.part');
    const first = await FileBlobAssembler.open(target, blob.length, sha256Hex(blob), 8 * MB);
    const chunks = [...chunkBlob(blob, MB)];
    for (const c of chunks.slice(0, 3)) await first.add(c);
    const corrupt = Buffer.from(chunks[3].data);
    corrupt[7] ^= 1;
    await assert.rejects(first.add({ ...chunks[3], data: corrupt }), /offset 3145728 failed its sha256 check/);
    assert.equal(first.received, 3 * MB);
    await first.close();
    // A crash after the database recorded 2 MiB and while a third was half written: resume at 2 MiB.
    truncateSync(target, 2 * MB + 1000);
    const resumed = await FileBlobAssembler.open(target, blob.length, sha256Hex(blob), 8 * MB, 2 * MB);
    assert.equal(resumed.received, 2 * MB);
    await assert.rejects(resumed.add(chunks[3]), /arrived, expected offset 2097152/);
    for (const c of chunks.slice(2)) await resumed.add(c);
    await resumed.finish();
    assert.ok(readFileSync(target).equals(blob));

    const wrong = await FileBlobAssembler.open(join(dir, 'wrong.part'), blob.length, sha256Hex(randomBytes(8)), 8 * MB);
    for (const c of chunks) await wrong.add({ ...c, prefixSha256: '', sha256: sha256Hex(c.data) });
    await assert.rejects(wrong.finish(), /does not match the announced/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('running hashes computed in the pass that hashes the blob give the chunks chunkBlob and chunkFile would hash themselves', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'transfer-'));
  try {
    const blob = randomBytes(3 * MB + 5);
    const source = join(dir, 'model.bin');
    writeFileSync(source, blob);
    const digests = chunkDigestsOf(blob, MB);
    assert.deepEqual(await chunkDigestsOfFile(source, MB), digests);
    assert.equal(digests.sha256, sha256Hex(blob));
    assert.deepEqual(digests.prefixSha256, [MB, 2 * MB, 3 * MB, 3 * MB + 5].map((end) => sha256Hex(blob.subarray(0, end))));
    const fields = (cs: Array<{ offset: number; data: Buffer; prefixSha256: string }>) => cs.map((c) => [c.offset, c.data.length, c.prefixSha256]);
    const fileChunks = async (offset: number, d?: typeof digests) => {
      const out = [];
      for await (const c of chunkFile(source, MB, offset, d)) out.push(c);
      return fields(out);
    };
    for (const offset of [0, 2 * MB, 1000]) {
      // At a chunk boundary the given hashes are used; elsewhere (1000) the chunks are hashed: same chunks.
      const reference = fields([...chunkBlob(blob, MB, offset)]);
      assert.deepEqual(fields([...chunkBlob(blob, MB, offset, digests)]), reference);
      assert.deepEqual(await fileChunks(offset, digests), reference);
    }
    // Hashes of another chunk size or another blob are not used.
    const other = chunkDigestsOf(randomBytes(3 * MB + 5), MB);
    assert.deepEqual(fields([...chunkBlob(blob, MB, 0, chunkDigestsOf(blob, MB / 2))]), fields([...chunkBlob(blob, MB)]));
    assert.notDeepEqual(fields([...chunkBlob(blob, MB, 0, other)]), fields([...chunkBlob(blob, MB)]), 'same sizes: the caller vouches for the hashes');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
