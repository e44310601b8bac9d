/**
 * Chunked blob transfer shared by both sides of the contract: splitting a blob into hashed chunks,
 * and reassembling chunks with checks on every offset and hash, into memory or into a file. The
 * same code serves downloads (coordinator -> site) and uploads (site -> coordinator).
 *
 * Integrity costs one SHA-256 pass per side (the receiver's in a worker thread: hash-thread.ts): each chunk carries the running hash of the blob up to
 * its end (`prefixSha256`), so the receiver feeds the bytes once into the whole-blob hash and
 * compares a copy of its state's digest (64 bytes of padding to hash, not the chunk) with the
 * chunk's. A corrupted chunk is still refused at its own offset, and the last chunk's running hash
 * is the whole blob's. (Hashing every chunk on its own and the blob again costs the receiver two
 * passes: with the sender's, three SHA-256 passes of every byte, the largest cost of a transfer
 * on loopback.) Chunks of older senders, with only a per-chunk `sha256`, are still accepted.
 */
import { createHash, type Hash } from 'node:crypto';
import { constants as bufferConstants } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import type { Chunk } from './generated/v1/federation';
import { OffThreadSha256 } from './hash-thread';

/** One message must stay under gRPC's 4 MiB default limit with its envelope (offset, hashes). */
export const MAX_CHUNK_BYTES = 4 * 1024 * 1024 - 64 * 1024;
/** Large chunks: fewer messages, frames and hash digests per byte (measured in bench:scale's transfer section). */
export const DEFAULT_CHUNK_BYTES = MAX_CHUNK_BYTES;
/** How much of a file is hashed at once when a resumed transfer re-reads its prefix. */
const READ_SLICE_BYTES = 8 * 1024 * 1024;

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export class TransferError extends Error {
  override readonly name = 'TransferError';
}

function checkChunking(chunkBytes: number, offset: number, size: number): void {
  if (!Number.isInteger(chunkBytes) || chunkBytes <= 0 || chunkBytes > MAX_CHUNK_BYTES) throw new TransferError(`chunk size ${chunkBytes} is outside 1..${MAX_CHUNK_BYTES}`);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset > size) throw new TransferError(`resume offset ${offset} is outside the blob of ${size} bytes`);
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** The digest of a running hash without ending it. */
function digestSoFar(hash: Hash): string {
  return hash.copy().digest('hex');
}

/**
 * The running SHA-256 of a blob at the end of each of its chunks (what a sender puts in each chunk's
 * `prefixSha256`) and of the whole blob (the header's `sha256`). A sender must hash the whole blob
 * before its first chunk anyway (the header carries the hash): computing the chunks' digests in that
 * same pass lets chunkBlob / chunkFile send without hashing every byte a second time.
 */
export interface ChunkDigests {
  chunkBytes: number;
  sizeBytes: number;
  sha256: string;
  /** prefixSha256[i]: the running hash over bytes 0 .. min(size, (i + 1) * chunkBytes). */
  prefixSha256: string[];
}

/** One pass over `blob`: its hash and its chunks' running hashes. */
export function chunkDigestsOf(blob: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES): ChunkDigests {
  checkChunking(chunkBytes, 0, blob.length);
  const hash = createHash('sha256');
  const prefixSha256: string[] = [];
  for (let at = 0; at < blob.length; at += chunkBytes) prefixSha256.push(digestSoFar(hash.update(blob.subarray(at, at + chunkBytes))));
  return { chunkBytes, sizeBytes: blob.length, sha256: hash.digest('hex'), prefixSha256 };
}

/** One pass over a file, read a chunk at a time: its hash and its chunks' running hashes. */
export async function chunkDigestsOfFile(path: string, chunkBytes = DEFAULT_CHUNK_BYTES): Promise<ChunkDigests> {
  const file = await open(path, 'r');
  try {
    const sizeBytes = (await file.stat()).size;
    checkChunking(chunkBytes, 0, sizeBytes);
    const hash = createHash('sha256');
    const prefixSha256: string[] = [];
    for (let at = 0; at < sizeBytes; at += chunkBytes) {
      await hashFileRange(file, at, Math.min(sizeBytes, at + chunkBytes), hash);
      prefixSha256.push(digestSoFar(hash));
    }
    return { chunkBytes, sizeBytes, sha256: hash.digest('hex'), prefixSha256 };
  } finally {
    await file.close();
  }
}

/** Whether `digests` give the running hashes of the chunks from `offset` on (same sizes, a resume at a chunk boundary). */
function digestsFit(digests: ChunkDigests | undefined, chunkBytes: number, size: number, offset: number): digests is ChunkDigests {
  return digests !== undefined && digests.chunkBytes === chunkBytes && digests.sizeBytes === size && offset % chunkBytes === 0;
}

/**
 * Yields the chunks of `blob` from `offset` on, each carrying its offset and the running SHA-256
 * of the blob up to its end (from `digests` when given, else hashed here: the bytes before
 * `offset` first, not sent). The chunks' data are views of `blob`: no copy.
 */
export function* chunkBlob(blob: Uint8Array, chunkBytes = DEFAULT_CHUNK_BYTES, offset = 0, digests?: ChunkDigests): Generator<Chunk> {
  checkChunking(chunkBytes, offset, blob.length);
  const known = digestsFit(digests, chunkBytes, blob.length, offset) ? digests : undefined;
  const hash = known ? undefined : createHash('sha256').update(blob.subarray(0, offset));
  for (let at = offset; at < blob.length; at += chunkBytes) {
    const data = asBuffer(blob.subarray(at, Math.min(blob.length, at + chunkBytes)));
    yield { offset: at, data, sha256: '', prefixSha256: known ? known.prefixSha256[at / chunkBytes]! : digestSoFar(hash!.update(data)) };
  }
}

/** Feeds bytes `from`..`to` of an open file into `hash`, in slices. */
async function hashFileRange(file: FileHandle, from: number, to: number, hash: Hash): Promise<void> {
  const slice = Buffer.allocUnsafe(Math.min(READ_SLICE_BYTES, Math.max(1, to - from)));
  for (let at = from; at < to; ) {
    const { bytesRead } = await file.read(slice, 0, Math.min(slice.length, to - at), at);
    if (bytesRead === 0) throw new TransferError(`file ended at ${at} bytes, expected ${to}`);
    hash.update(slice.subarray(0, bytesRead));
    at += bytesRead;
  }
}

/** The SHA-256 and size of a file, read in slices (the file may exceed a Buffer's limit). */
export async function sha256OfFile(path: string): Promise<{ sha256: string; sizeBytes: number }> {
  const { sha256, sizeBytes } = await chunkDigestsOfFile(path);
  return { sha256, sizeBytes };
}

/**
 * The chunks of a file from `offset` on, as chunkBlob yields them for a buffer, read one chunk at a
 * time (memory: one chunk, whatever the file's size). Each chunk's data is a fresh buffer.
 */
export async function* chunkFile(path: string, chunkBytes = DEFAULT_CHUNK_BYTES, offset = 0, digests?: ChunkDigests): AsyncGenerator<Chunk> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    checkChunking(chunkBytes, offset, size);
    const known = digestsFit(digests, chunkBytes, size, offset) ? digests : undefined;
    const hash = known ? undefined : createHash('sha256');
    if (hash) await hashFileRange(file, 0, offset, hash);
    for (let at = offset; at < size; ) {
      const data = Buffer.allocUnsafe(Math.min(chunkBytes, size - at));
      const { bytesRead } = await file.read(data, 0, data.length, at);
      if (bytesRead !== data.length) throw new TransferError(`${path} changed while it was being sent (short read at ${at})`);
      yield { offset: at, data, sha256: '', prefixSha256: known ? known.prefixSha256[at / chunkBytes]! : digestSoFar(hash!.update(data)) };
      at += bytesRead;
    }
  } finally {
    await file.close();
  }
}

/**
 * The checks of a blob arriving in chunks whose total size and hash are announced up front: order,
 * sizes, each chunk's hash, and the whole blob's. Holds no bytes (the assemblers below store them).
 * The hashing runs in a worker thread (hash-thread.ts), so the event loop goes on receiving while
 * a chunk is hashed: each check must be awaited before the next. A refused chunk leaves the state
 * as it was, so the sender can resume at `received`.
 */
export class ChunkVerifier {
  private readonly hash: OffThreadSha256;
  private checking = false;
  received = 0;

  constructor(
    readonly totalBytes: number,
    readonly expectedSha256: string,
    readonly maxBytes: number,
  ) {
    if (!Number.isSafeInteger(totalBytes) || totalBytes < 0) throw new TransferError(`announced size ${totalBytes} is not a byte count`);
    if (totalBytes > maxBytes) throw new TransferError(`announced size ${totalBytes} bytes exceeds the limit of ${maxBytes} bytes`);
    if (!/^[0-9a-f]{64}$/.test(expectedSha256)) throw new TransferError(`announced sha256 '${expectedSha256}' is not 64 hex digits`);
    this.hash = new OffThreadSha256(); // after the checks: a refused announcement starts no hash
  }

  /** Counts bytes already held (a resumed transfer) into the running hash. */
  async resumeWith(prefix: Uint8Array): Promise<void> {
    if (this.received + prefix.length > this.totalBytes) throw new TransferError(`resumed prefix of ${this.received + prefix.length} bytes exceeds the announced ${this.totalBytes}`);
    await this.hash.update(prefix);
    this.received += prefix.length;
  }

  /** Counts the first `bytes` of a file already held (a resumed transfer) into the running hash. */
  async resumeFromFile(path: string, bytes: number): Promise<void> {
    if (bytes > this.totalBytes) throw new TransferError(`resumed prefix of ${bytes} bytes exceeds the announced ${this.totalBytes}`);
    await this.hash.updateFromFile(path, this.received, bytes);
    this.received = bytes;
  }

  /**
   * Checks one chunk; rejects with a TransferError naming its offset when it is wrong. Resolves with
   * the chunk's bytes to keep: received bytes handed over (see handOver) move to the hashing thread
   * and back, so `chunk.data` may be empty afterwards.
   */
  async check(chunk: Chunk): Promise<Buffer> {
    if (this.checking) throw new TransferError(`chunk at offset ${chunk.offset} arrived while the previous one was being checked (await each check)`);
    const data = asBuffer(chunk.data);
    if (chunk.offset !== this.received) throw new TransferError(`chunk at offset ${chunk.offset} arrived, expected offset ${this.received}`);
    if (data.length === 0 || data.length > MAX_CHUNK_BYTES) throw new TransferError(`chunk at offset ${chunk.offset} has ${data.length} bytes (allowed 1..${MAX_CHUNK_BYTES})`);
    if (this.received + data.length > this.totalBytes) {
      throw new TransferError(`chunk at offset ${chunk.offset} overruns the announced size of ${this.totalBytes} bytes`);
    }
    this.checking = true;
    try {
      const checked = await this.hash.updateIfMatches(data, chunk.prefixSha256, chunk.sha256);
      if (!checked.ok) throw new TransferError(`chunk at offset ${chunk.offset} failed its sha256 check (corrupted in transit)`);
      this.received += checked.data.length;
      return checked.data;
    } finally {
      this.checking = false;
    }
  }

  get complete(): boolean {
    return this.received === this.totalBytes;
  }

  /** Checks that every byte arrived and that the whole blob has the announced hash. */
  async finish(): Promise<void> {
    if (!this.complete) throw new TransferError(`transfer ended after ${this.received} of ${this.totalBytes} bytes`);
    const actual = await this.hash.digest();
    if (actual !== this.expectedSha256) throw new TransferError(`blob sha256 ${actual} does not match the announced ${this.expectedSha256}`);
  }
}

/** What both assemblers tell of their progress (their verifier's). */
abstract class VerifiedAssembly {
  constructor(protected readonly verifier: ChunkVerifier) {}

  get totalBytes(): number {
    return this.verifier.totalBytes;
  }

  get received(): number {
    return this.verifier.received;
  }

  get complete(): boolean {
    return this.verifier.complete;
  }
}

/** Reassembles a blob in memory (up to a Buffer's limit; larger blobs go to a file: FileBlobAssembler). */
export class BlobAssembler extends VerifiedAssembly {
  private constructor(
    verifier: ChunkVerifier,
    private readonly buffer: Buffer,
  ) {
    super(verifier);
  }

  static async open(totalBytes: number, expectedSha256: string, maxBytes: number, prefix?: Uint8Array): Promise<BlobAssembler> {
    const verifier = new ChunkVerifier(totalBytes, expectedSha256, maxBytes);
    if (totalBytes > bufferConstants.MAX_LENGTH) throw new TransferError(`a blob of ${totalBytes} bytes does not fit in memory (at most ${bufferConstants.MAX_LENGTH}): receive it into a file`);
    const buffer = Buffer.allocUnsafe(totalBytes);
    if (prefix?.length) {
      await verifier.resumeWith(prefix);
      buffer.set(prefix, 0);
    }
    return new BlobAssembler(verifier, buffer);
  }

  async add(chunk: Chunk): Promise<void> {
    const at = this.verifier.received;
    this.buffer.set(await this.verifier.check(chunk), at);
  }

  /** The bytes accepted so far (a view; for persisting a partial transfer). */
  get prefix(): Buffer {
    return this.buffer.subarray(0, this.verifier.received);
  }

  /** Verifies the whole-blob hash and returns the blob. */
  async finish(): Promise<Buffer> {
    await this.verifier.finish();
    return this.buffer;
  }
}

/**
 * Reassembles a blob into a file, appending each checked chunk: memory of one chunk whatever the
 * blob's size. Opening resumes from what the file already holds (up to `keepBytes` when given:
 * bytes a crash may have torn are cut off), re-hashing that prefix once.
 */
export class FileBlobAssembler extends VerifiedAssembly {
  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    verifier: ChunkVerifier,
  ) {
    super(verifier);
  }

  static async open(path: string, totalBytes: number, expectedSha256: string, maxBytes: number, keepBytes = Number.MAX_SAFE_INTEGER): Promise<FileBlobAssembler> {
    const verifier = new ChunkVerifier(totalBytes, expectedSha256, maxBytes);
    const file = await open(path, 'a+', 0o640);
    try {
      const size = (await file.stat()).size;
      const keep = Math.min(size, keepBytes, totalBytes);
      if (keep !== size) await file.truncate(keep);
      await verifier.resumeFromFile(path, keep);
      return new FileBlobAssembler(path, file, verifier);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /** Checks and appends one chunk (not flushed: call sync() where durability matters). */
  async add(chunk: Chunk): Promise<void> {
    const data = await this.verifier.check(chunk);
    try {
      await this.file.write(data);
    } catch (e) {
      // The hash counted bytes the file may not hold: this assembler is done; reopen to resume.
      await this.close();
      throw e;
    }
  }

  /** Flushes the appended bytes to the disk. */
  sync(): Promise<void> {
    return this.file.sync();
  }

  /** Verifies the whole-blob hash, flushes and closes the file. */
  async finish(): Promise<void> {
    try {
      await this.verifier.finish();
      await this.file.sync();
    } finally {
      await this.close();
    }
  }

  async close(): Promise<void> {
    await this.file.close().catch(() => undefined);
  }
}

/**
 * Channel options of both ends of a transfer: messages of one chunk plus its envelope, and an 8 MiB
 * HTTP/2 flow-control window (otherwise 64 KiB, so a 4 MiB chunk waits for window updates many
 * times over). grpc-js applies the window to a client's connections only: a server needs
 * widenServerFlowControl (server-flow-control.ts) as well.
 */
export const TRANSFER_CHANNEL_OPTIONS = {
  'grpc-node.flow_control_window': 8 * 1024 * 1024,
  'grpc.max_receive_message_length': MAX_CHUNK_BYTES + 64 * 1024,
  'grpc.max_send_message_length': MAX_CHUNK_BYTES + 64 * 1024,
} as const;
