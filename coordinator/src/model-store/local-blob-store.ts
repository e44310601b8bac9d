/**
 * A content-addressed blob store on the local disk. A blob is written to a temporary file in the
 * same file system, fsynced, then renamed into place (and the folder fsynced), so a crash at any
 * moment leaves either no blob or the whole blob: never a partial one under a real address.
 * Leftover temporary files from a crash are removed when the store opens.
 *
 * A blob's file is hashed when it is stored, or at its first open after the store opens, and then
 * trusted while it is the same file unchanged (see FileState): re-hashing it at every open made a
 * 2.5 GB round read ~19x the model from disk. A change made through the file system after that
 * (a write, truncation, replacement, chmod) is still caught at the next open, before the blob is
 * validated, aggregated or sent; one below it (the disk's own bit rot) at the next start, and by
 * the sites, which check every chunk they download against the hashes taken when it was verified.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { copyFile, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { chunkDigestsOfFile, sha256OfFile, type ChunkDigests } from '@fedciss/proto';
import { BlobIntegrityError, BlobNotFoundError, blobUri, type BlobStore, type StoredBlob } from './blob-store';

const SHA256 = /^[0-9a-f]{64}$/;
/** Blobs whose chunks' running hashes are remembered (a few dozen bytes per 4 MiB of blob each). */
const REMEMBERED_DIGESTS = 64;
/** Blobs whose verification is remembered (~200 bytes each): a few rounds' updates of hundreds of sites. */
const REMEMBERED_VERIFICATIONS = 4096;

export interface LocalBlobStoreOptions {
  /** Test seam: called after the temporary file is durable and before it is renamed into place. */
  beforeRename?: (tempPath: string) => Promise<void>;
}

export class LocalBlobStore implements BlobStore {
  private readonly tmpDir: string;
  private readonly blobDir: string;
  /**
   * getFileToSend's hashes by `sha256:chunkBytes`, oldest first: every site downloads the same
   * version each round, and hashing it (twice: the check, then the chunks) for each of them made
   * the coordinator's CPU per round grow with sites x model size.
   */
  private readonly digests = new Map<string, ChunkDigests>();
  /** The FileState of each blob's file when its bytes were last found to match its address, oldest first. */
  private readonly verified = new Map<string, FileState>();

  constructor(readonly root: string, private readonly options: LocalBlobStoreOptions = {}) {
    this.tmpDir = join(root, 'tmp');
    this.blobDir = join(root, 'sha256');
    mkdirSync(this.tmpDir, { recursive: true });
    mkdirSync(this.blobDir, { recursive: true });
    // Anything in tmp/ belongs to a write that never finished.
    for (const f of readdirSync(this.tmpDir)) rmSync(join(this.tmpDir, f), { force: true });
  }

  private pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new BlobIntegrityError(`'${sha256}' is not a SHA-256 hex digest`);
    return join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  async put(bytes: Uint8Array, expectedSha256?: string): Promise<StoredBlob> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (expectedSha256 !== undefined && expectedSha256 !== sha256) {
      throw new BlobIntegrityError(`blob hashes to ${sha256}, not the expected ${expectedSha256}`);
    }
    const stored = { sha256, sizeBytes: bytes.length, uri: blobUri(sha256) };
    if (await this.has(sha256)) return stored;
    const finalPath = this.pathOf(sha256);
    const shardDir = join(this.blobDir, sha256.slice(0, 2));
    mkdirSync(shardDir, { recursive: true });
    const tempPath = join(this.tmpDir, `${sha256}.${randomBytes(6).toString('hex')}`);
    const file = await open(tempPath, 'wx', 0o640);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await this.options.beforeRename?.(tempPath);
    await rename(tempPath, finalPath);
    await fsyncDir(shardDir);
    remember(this.verified, sha256, await fileState(finalPath), REMEMBERED_VERIFICATIONS);
    return stored;
  }

  async putFile(path: string, expectedSha256?: string): Promise<StoredBlob> {
    const { sha256, sizeBytes } = await sha256OfFile(path);
    if (expectedSha256 !== undefined && expectedSha256 !== sha256) {
      throw new BlobIntegrityError(`file ${path} hashes to ${sha256}, not the expected ${expectedSha256}`);
    }
    return this.moveIn(path, sha256, sizeBytes);
  }

  async putHashedFile(path: string, sha256: string): Promise<StoredBlob> {
    return this.moveIn(path, sha256, (await stat(path)).size);
  }

  /** Moves a file whose bytes hash to `sha256` into the store (putFile's second half). */
  private async moveIn(path: string, sha256: string, sizeBytes: number): Promise<StoredBlob> {
    const stored = { sha256, sizeBytes, uri: blobUri(sha256) };
    if (await this.has(sha256)) {
      await rm(path, { force: true });
      return stored;
    }
    const shardDir = join(this.blobDir, sha256.slice(0, 2));
    mkdirSync(shardDir, { recursive: true });
    // Through tmp/ as put() does; a rename when the file is on the store's file system, else a copy.
    const tempPath = join(this.tmpDir, `${sha256}.${randomBytes(6).toString('hex')}`);
    await rename(path, tempPath).catch(async (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EXDEV') throw e;
      await copyFile(path, tempPath);
      await rm(path, { force: true });
    });
    const file = await open(tempPath, 'r');
    try {
      await file.sync();
    } finally {
      await file.close();
    }
    await this.options.beforeRename?.(tempPath);
    await rename(tempPath, this.pathOf(sha256));
    await fsyncDir(shardDir);
    // Hashed as the file it still is (moved, or copied by the kernel and fsynced).
    remember(this.verified, sha256, await fileState(this.pathOf(sha256)), REMEMBERED_VERIFICATIONS);
    return stored;
  }

  scratchPath(): string {
    return join(this.tmpDir, `scratch-${randomBytes(8).toString('hex')}`);
  }

  async getFile(sha256: string): Promise<string> {
    const path = this.pathOf(sha256);
    const state = await this.stateOf(sha256);
    if (this.verified.get(sha256) !== state) {
      damagedUnless(sha256, (await sha256OfFile(path)).sha256);
      remember(this.verified, sha256, state, REMEMBERED_VERIFICATIONS);
    }
    return path;
  }

  async getFileToSend(sha256: string, chunkBytes: number): Promise<{ path: string; digests: ChunkDigests }> {
    const path = this.pathOf(sha256);
    const state = await this.stateOf(sha256);
    const key = `${sha256}:${chunkBytes}`;
    let digests = this.digests.get(key);
    if (!digests || this.verified.get(sha256) !== state) {
      digests = await chunkDigestsOfFile(path, chunkBytes);
      damagedUnless(sha256, digests.sha256);
      remember(this.verified, sha256, state, REMEMBERED_VERIFICATIONS);
      remember(this.digests, key, digests, REMEMBERED_DIGESTS);
    }
    return { path, digests };
  }

  /** The blob's FileState, taken before it is hashed: a change while it is hashed shows at the next open. */
  private async stateOf(sha256: string): Promise<FileState> {
    try {
      return await fileState(this.pathOf(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(sha256);
      throw e;
    }
  }

  async get(sha256: string): Promise<Buffer> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(sha256));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new BlobNotFoundError(sha256);
      throw e;
    }
    damagedUnless(sha256, createHash('sha256').update(bytes).digest('hex'));
    return bytes;
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await stat(this.pathOf(sha256));
      return true;
    } catch {
      return false;
    }
  }

  async size(sha256: string): Promise<number> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch {
      throw new BlobNotFoundError(sha256);
    }
  }
}

/**
 * What identifies a file's bytes without reading them: device, inode, size, and the modification
 * and status-change times in nanoseconds. Any write, truncation, replacement, chmod or utimes moves
 * the status-change time (which no caller can set back), so an equal state means the same file,
 * unchanged through the file system.
 */
type FileState = string;

async function fileState(path: string): Promise<FileState> {
  const s = await stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}

/** Sets `key` as the newest entry of `map`, dropping the oldest past `limit`. */
function remember<T>(map: Map<string, T>, key: string, value: T, limit: number): void {
  map.delete(key);
  map.set(key, value);
  if (map.size > limit) map.delete(map.keys().next().value!);
}

function damagedUnless(sha256: string, actual: string): void {
  if (actual !== sha256) throw new BlobIntegrityError(`blob ${sha256} on disk hashes to ${actual}: the file was damaged`);
}

async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
