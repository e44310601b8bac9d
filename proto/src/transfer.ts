/**
 * Chunked blob transfer shared by both sides of the contract: splitting a blob into hashed chunks,
 * and reassembling chunks with checks on every offset and hash. Pure functions over buffers, so the
 * same code serves downloads (coordinator -> site) and uploads (site -> coordinator).
 */
import { createHash } from 'node:crypto';
import type { Chunk } from './generated/v1/federation';

/** gRPC's default message limit is 4 MiB; 1 MiB chunks leave room and keep memory small. */
export const DEFAULT_CHUNK_BYTES = 1024 * 1024;
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024 - 64 * 1024;

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class TransferError extends Error {
  override readonly name = 'TransferError';
}

/** Yields the chunks of `blob` from `offset` on, each carrying its offset and SHA-256. */
export function* chunkBlob(blob: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES, offset = 0): Generator<Chunk> {
  if (chunkBytes <= 0 || chunkBytes > MAX_CHUNK_BYTES) throw new TransferError(`chunk size ${chunkBytes} is outside 1..${MAX_CHUNK_BYTES}`);
  if (offset < 0 || offset > blob.length) throw new TransferError(`resume offset ${offset} is outside the blob of ${blob.length} bytes`);
  for (let at = offset; at < blob.length; at += chunkBytes) {
    const data = blob.subarray(at, Math.min(blob.length, at + chunkBytes));
    yield { offset: at, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength), sha256: sha256Hex(data) };
  }
}

/**
 * Reassembles a blob whose total size and hash are announced up front. Chunks must arrive in order
 * (gRPC streams are ordered); a chunk whose hash does not match is refused with a TransferError, and
 * the bytes already accepted stay valid, so the sender can resume at `received`.
 */
export class BlobAssembler {
  private readonly buffer: Buffer;
  private readonly hash = createHash('sha256');
  private hashedUpTo = 0;
  received: number;

  constructor(
    readonly totalBytes: number,
    readonly expectedSha256: string,
    readonly maxBytes: number,
    prefix?: Uint8Array,
  ) {
    if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) throw new TransferError(`announced size ${totalBytes} is not a byte count`);
    if (totalBytes > maxBytes) throw new TransferError(`announced size ${totalBytes} bytes exceeds the limit of ${maxBytes} bytes`);
    if (!/^[0-9a-f]{64}$/.test(expectedSha256)) throw new TransferError(`announced sha256 '${expectedSha256}' is not 64 hex digits`);
    this.buffer = Buffer.alloc(totalBytes);
    this.received = 0;
    if (prefix?.length) {
      if (prefix.length > totalBytes) throw new TransferError(`resumed prefix of ${prefix.length} bytes exceeds the announced ${totalBytes}`);
      this.buffer.set(prefix, 0);
      this.received = prefix.length;
    }
  }

  add(chunk: Chunk): void {
    const data = chunk.data;
    if (chunk.offset !== this.received) {
      throw new TransferError(`chunk at offset ${chunk.offset} arrived, expected offset ${this.received}`);
    }
    if (data.length === 0 || data.length > MAX_CHUNK_BYTES) throw new TransferError(`chunk at offset ${chunk.offset} has ${data.length} bytes (allowed 1..${MAX_CHUNK_BYTES})`);
    if (this.received + data.length > this.totalBytes) {
      throw new TransferError(`chunk at offset ${chunk.offset} overruns the announced size of ${this.totalBytes} bytes`);
    }
    if (sha256Hex(data) !== chunk.sha256) {
      throw new TransferError(`chunk at offset ${chunk.offset} failed its sha256 check (corrupted in transit)`);
    }
    this.buffer.set(data, this.received);
    this.received += data.length;
  }

  get complete(): boolean {
    return this.received === this.totalBytes;
  }

  /** The bytes accepted so far (a view; for persisting a partial upload). */
  get prefix(): Buffer {
    return this.buffer.subarray(0, this.received);
  }

  /** Verifies the whole-blob hash and returns the blob. */
  finish(): Buffer {
    if (!this.complete) throw new TransferError(`transfer ended after ${this.received} of ${this.totalBytes} bytes`);
    this.hash.update(this.buffer.subarray(this.hashedUpTo));
    this.hashedUpTo = this.totalBytes;
    const actual = this.hash.digest('hex');
    if (actual !== this.expectedSha256) {
      throw new TransferError(`blob sha256 ${actual} does not match the announced ${this.expectedSha256}`);
    }
    return this.buffer;
  }
}
