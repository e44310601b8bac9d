import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalBlobStore } from './local-blob-store';
import { BlobIntegrityError, BlobNotFoundError } from './blob-store';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** Bytes this process has read so far (files and sockets: Linux's rchar). */
const bytesRead = () => Number(/rchar: (\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
/** Runs `fn` in a fresh temporary folder, removed afterwards. */
async function inTempDir(prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
/** Past the file system's timestamp granularity (a few ms), so that a write moves a file's times. */
const tick = () => new Promise((r) => setTimeout(r, 20));

test('stores blobs by content hash, once, and verifies them on read', () => inTempDir('store-', async (dir) => {
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
}));

test('a process killed between write and rename leaves no partial blob visible', { timeout: 60_000 }, () => inTempDir('store-crash-', async (dir) => {
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
}));

test('a blob to send comes with its chunks running hashes, checked against its address once', () => inTempDir('store-', async (dir) => {
  const store = new LocalBlobStore(dir);
  const bytes = randomBytes(2500);
  const { sha256 } = await store.put(bytes);
  const { path, digests } = await store.getFileToSend(sha256, 1000);
  assert.equal(path, join(dir, 'sha256', sha256.slice(0, 2), sha256));
  assert.deepEqual(digests, { chunkBytes: 1000, sizeBytes: 2500, sha256, prefixSha256: [1000, 2000, 2500].map((end) => sha(bytes.subarray(0, end))) });
  await assert.rejects(store.getFileToSend(sha(randomBytes(5)), 1000), BlobNotFoundError);
  // Damaged before its first sending, or after it: refused.
  const other = await store.put(randomBytes(100));
  writeFileSync(join(dir, 'sha256', other.sha256.slice(0, 2), other.sha256), randomBytes(100));
  await assert.rejects(store.getFileToSend(other.sha256, 1000), /was damaged/);
  assert.deepEqual((await store.getFileToSend(sha256, 1000)).digests, digests);
  await tick();
  writeFileSync(path, randomBytes(2500));
  await assert.rejects(store.getFileToSend(sha256, 1000), /was damaged/);
}));

test('a stored blob is hashed once, not at every open; a change to its file is still caught before it is used', () => inTempDir('store-', async (dir) => {
  const store = new LocalBlobStore(dir);
  const size = 16 * 1024 * 1024;
  const source = join(dir, 'upload');
  writeFileSync(source, randomBytes(size));
  const { sha256 } = await store.putFile(source); // hashed as it is stored
  const path = join(dir, 'sha256', sha256.slice(0, 2), sha256);
  // rchar counts whatever else this process reads meanwhile (once ~9.8 MB more than the blob's
  // reading, as the test before timed out), so the bound is one blob's size, not zero; hashing at
  // every open read 5x it.
  const before = bytesRead();
  for (let i = 0; i < 5; i++) assert.equal(await store.getFile(sha256), path);
  const read = bytesRead() - before;
  assert.ok(read < size, `5 opens read ${read} bytes: less than the blob once (${size}), none hashed it again`);
  await store.getFileToSend(sha256, 1024 * 1024); // its chunks' hashes: one reading

  // One byte changed in place, same size, and the modification time set back: still caught.
  await tick();
  const { atime, mtime } = statSync(path);
  const fd = openSync(path, 'r+');
  writeSync(fd, Buffer.from([0x5a ^ readFileSync(path)[1000]!]), 0, 1, 1000);
  closeSync(fd);
  utimesSync(path, atime, mtime);
  await assert.rejects(store.getFile(sha256), /was damaged/);
  await assert.rejects(store.getFileToSend(sha256, 1024 * 1024), /was damaged/);

  // Replaced by a copy of other bytes: caught too; a new store (a restart) hashes at its first open.
  const other = await store.put(randomBytes(1000));
  const otherPath = join(dir, 'sha256', other.sha256.slice(0, 2), other.sha256);
  await tick();
  writeFileSync(join(dir, 'bad'), randomBytes(1000));
  copyFileSync(join(dir, 'bad'), otherPath);
  await assert.rejects(new LocalBlobStore(dir).getFile(other.sha256), /was damaged/);
  await assert.rejects(store.getFile(other.sha256), /was damaged/);
  await assert.rejects(store.getFile(sha(randomBytes(5))), BlobNotFoundError);
}));

test('a file hashed by its writer (an upload) is moved in unread; a wrong hash shows at the next start\'s first open', () => inTempDir('store-', async (dir) => {
  const store = new LocalBlobStore(dir);
  const size = 16 * 1024 * 1024;
  const bytes = randomBytes(size);
  writeFileSync(join(dir, 'upload'), bytes);
  const before = bytesRead();
  const stored = await store.putHashedFile(join(dir, 'upload'), sha(bytes));
  await store.getFile(stored.sha256);
  const read = bytesRead() - before;
  assert.ok(read < size, `stored and opened reading ${read} bytes, less than the file once (${size})`);
  assert.deepEqual(stored, { sha256: sha(bytes), sizeBytes: size, uri: `sha256:${sha(bytes)}` });

  const lie = sha(randomBytes(8));
  writeFileSync(join(dir, 'lying'), randomBytes(100));
  await store.putHashedFile(join(dir, 'lying'), lie);
  await assert.rejects(new LocalBlobStore(dir).getFile(lie), /was damaged/);
}));
