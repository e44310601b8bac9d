import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBlobStore } from './local-blob-store';
import { BlobIntegrityError, BlobNotFoundError } from './blob-store';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('stores blobs by content hash, once, and verifies them on read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-'));
  try {
    const store = new LocalBlobStore(dir);
    const bytes = randomBytes(1000);
    const a = await store.put(bytes);
    assert.equal(a.sha256, sha(bytes));
    assert.equal(a.uri, `sha256:${sha(bytes)}`);
    assert.deepEqual(await store.put(bytes), a);
    assert.ok((await store.get(a.sha256)).equals(bytes));
    assert.equal(await store.size(a.sha256), 1000);
    await assert.rejects(store.put(randomBytes(10), a.sha256), BlobIntegrityError);
    await assert.rejects(store.get(sha(randomBytes(5))), BlobNotFoundError);
    // A blob damaged on disk is noticed, not served.
    writeFileSync(join(dir, 'sha256', a.sha256.slice(0, 2), a.sha256), randomBytes(1000));
    await assert.rejects(store.get(a.sha256), /was damaged/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a process killed between write and rename leaves no partial blob visible', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-crash-'));
  try {
    const bytes = randomBytes(8 * 1024 * 1024);
    const digest = sha(bytes);
    // A child process writes the blob and stops just before the rename; we SIGKILL it there.
    const script = `
      const { LocalBlobStore } = require(${JSON.stringify(join(__dirname, 'local-blob-store.js'))});
      const store = new LocalBlobStore(${JSON.stringify(dir)}, { beforeRename: () => { process.stdout.write('READY'); return new Promise(() => {}); } });
      let data = Buffer.alloc(0);
      process.stdin.on('data', (d) => { data = Buffer.concat([data, d]); });
      process.stdin.on('end', () => store.put(data));
    `;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    child.stdin.end(bytes);
    await new Promise<void>((resolve) => child.stdout.on('data', (d) => String(d).includes('READY') && resolve()));
    assert.equal(readdirSync(join(dir, 'tmp')).length, 1, 'the temporary file exists at the moment of the crash');
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));

    const reopened = new LocalBlobStore(dir);
    assert.equal(await reopened.has(digest), false);
    await assert.rejects(reopened.get(digest), BlobNotFoundError);
    assert.equal(readdirSync(join(dir, 'tmp')).length, 0, 'leftovers are cleaned when the store opens');
    // The write can simply be done again.
    await reopened.put(bytes);
    assert.ok((await reopened.get(digest)).equals(bytes));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a blob to send comes with its chunks running hashes, checked against its address once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'store-'));
  try {
    const store = new LocalBlobStore(dir);
    const bytes = randomBytes(2500);
    const { sha256 } = await store.put(bytes);
    const { path, digests } = await store.getFileToSend(sha256, 1000);
    assert.equal(path, join(dir, 'sha256', sha256.slice(0, 2), sha256));
    assert.deepEqual(digests, { chunkBytes: 1000, sizeBytes: 2500, sha256, prefixSha256: [1000, 2000, 2500].map((end) => sha(bytes.subarray(0, end))) });
    await assert.rejects(store.getFileToSend(sha(randomBytes(5)), 1000), BlobNotFoundError);
    // Damaged before its first sending: refused. Once checked, remembered (receivers check every chunk).
    const other = await store.put(randomBytes(100));
    writeFileSync(join(dir, 'sha256', other.sha256.slice(0, 2), other.sha256), randomBytes(100));
    await assert.rejects(store.getFileToSend(other.sha256, 1000), /was damaged/);
    writeFileSync(path, randomBytes(2500));
    assert.deepEqual((await store.getFileToSend(sha256, 1000)).digests, digests);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
