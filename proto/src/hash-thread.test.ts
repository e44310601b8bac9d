// Running SHA-256 hashes kept in the hashing thread: the same digests as hashing here, refused
// bytes leave the state as it was, and bytes handed over move there and back without a copy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { handOver, OffThreadSha256 } from './hash-thread';
import { ChunkVerifier, sha256Hex } from './transfer';

const sha = (...parts: Uint8Array[]) => parts.reduce((h, p) => h.update(p), createHash('sha256')).digest('hex');

test('the running hash checks each piece against the hash up to its end and refuses a wrong one without counting it', async () => {
  const [a, b] = [randomBytes(100_000), randomBytes(3_000)];
  const hash = new OffThreadSha256();
  assert.equal((await hash.updateIfMatches(a, sha(a), '')).ok, true);
  const corrupt = Buffer.from(b);
  corrupt[5] ^= 1;
  assert.equal((await hash.updateIfMatches(corrupt, sha(a, b), '')).ok, false);
  // No running hash given: the piece is checked against its own hash (older senders).
  assert.equal((await hash.updateIfMatches(b, '', sha(b))).ok, true);
  await hash.update(a);
  assert.equal(await hash.digest(), sha(a, b, a));
});

test('bytes handed over move to the thread and back (the original view is emptied); others are copied and stay', async () => {
  const framed = randomBytes(256 * 1024); // as grpc-js hands a received message over: a buffer of its own
  const expected = Buffer.from(framed.subarray(16, framed.length - 66));
  const data = handOver(framed.subarray(16, framed.length - 66));
  const hash = new OffThreadSha256();
  const moved = await hash.updateIfMatches(data, sha(expected), '');
  assert.equal(moved.ok, true);
  assert.ok(moved.data.equals(expected));
  assert.equal(data.length, 0, 'the handed-over view was moved, not copied');

  const kept = randomBytes(256 * 1024);
  const view = kept.subarray(1000, 2000);
  const copied = await hash.updateIfMatches(view, sha(expected, view), '');
  assert.equal(copied.ok, true);
  assert.equal(copied.data, view);
  assert.equal(kept.length, 256 * 1024, 'bytes not handed over are left where they are');
});

test('a file prefix is hashed by the thread', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'hash-thread-'));
  try {
    const blob = randomBytes(1_000_000);
    writeFileSync(join(dir, 'f'), blob);
    const hash = new OffThreadSha256();
    await hash.updateFromFile(join(dir, 'f'), 0, 600_000);
    assert.equal(await hash.digest(), sha(blob.subarray(0, 600_000)));
    await assert.rejects(new OffThreadSha256().updateFromFile(join(dir, 'f'), 0, 2_000_000), /ended at 1000000 bytes, expected 2000000/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a verifier takes one chunk at a time: a second check before the first is answered is refused', async () => {
  const blob = randomBytes(2000);
  const v = new ChunkVerifier(blob.length, sha256Hex(blob), 4000);
  const first = v.check({ offset: 0, data: blob.subarray(0, 1000), sha256: '', prefixSha256: sha(blob.subarray(0, 1000)) });
  await assert.rejects(v.check({ offset: 1000, data: blob.subarray(1000), sha256: '', prefixSha256: sha(blob) }), /while the previous one was being checked/);
  await first;
  await v.check({ offset: 1000, data: blob.subarray(1000), sha256: '', prefixSha256: sha(blob) });
  await v.finish();
  assert.equal(v.received, 2000);
});
