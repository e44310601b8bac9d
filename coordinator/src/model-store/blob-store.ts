/**
 * Where model and generator versions (and accepted site updates) keep their bytes. Blobs are
 * content-addressed: the key is the SHA-256 of the bytes, so a version can never change under its
 * id and the same bytes are stored once. Other backends (object storage) implement the same
 * interface.
 */
import type { ChunkDigests } from '@fedciss/proto';

export interface StoredBlob {
  sha256: string;
  sizeBytes: number;
  /** Location to record in the database, e.g. `sha256:<hex>`. */
  uri: string;
}

export interface BlobStore {
  /** Stores the bytes; when `expectedSha256` is given and differs, nothing is stored. */
  put(bytes: Uint8Array, expectedSha256?: string): Promise<StoredBlob>;
  /** The bytes of a blob, verified against its address. */
  get(sha256: string): Promise<Buffer>;
  /**
   * Stores a file's bytes (of any size: hashed and moved, never read whole). The file is consumed:
   * moved into the store, or removed when the store already holds its bytes.
   */
  putFile(path: string, expectedSha256?: string): Promise<StoredBlob>;
  /**
   * putFile for a file whose bytes the caller hashed, to `sha256`, as it wrote them (an upload,
   * checked chunk by chunk and whole as it arrived): moved in without reading it again. The caller
   * answers for the hash until the store is opened again (a restart hashes the blob at its first open).
   */
  putHashedFile(path: string, sha256: string): Promise<StoredBlob>;
  /**
   * A fresh path, on the store's file system, for a file to write and then hand to putFile (moved,
   * not copied). One left behind by a crash is removed when the store opens.
   */
  scratchPath(): string;
  /**
   * A local file holding the blob, verified against its address (read it; never write it). May be
   * verified once and trusted while the file is unchanged: hashing a large blob at every open made
   * a round read it many times over.
   */
  getFile(sha256: string): Promise<string>;
  /**
   * getFile for sending the blob in chunks of `chunkBytes`, with the running hash at each chunk's
   * end (for chunkFile). Verified as getFile is, and the hashes remembered with the verification: a
   * receiver checks every chunk against them anyway.
   */
  getFileToSend(sha256: string, chunkBytes: number): Promise<{ path: string; digests: ChunkDigests }>;
  has(sha256: string): Promise<boolean>;
  size(sha256: string): Promise<number>;
}

export class BlobNotFoundError extends Error {
  override readonly name = 'BlobNotFoundError';
  constructor(readonly sha256: string) {
    super(`blob ${sha256} is not in the model store`);
  }
}

export class BlobIntegrityError extends Error {
  override readonly name = 'BlobIntegrityError';
}

export function blobUri(sha256: string): string {
  return `sha256:${sha256}`;
}
