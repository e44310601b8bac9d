/**
 * An upload in progress, kept on disk so it survives a dropped connection or a coordinator restart.
 * Chunks are checked (offset, size, SHA-256) before they are appended; the file is fsynced after
 * each chunk and its length is the number of bytes held. Bytes past the length the database
 * recorded (a torn write during a crash) are cut off when the upload is resumed.
 */
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync } from 'node:fs';
import { open, rm, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import { MAX_CHUNK_BYTES, sha256Hex, TransferError, type Chunk } from '@fedciss/proto';

export class PartialUpload {
  private constructor(readonly path: string, readonly totalBytes: number, public received: number) {}

  /** Opens (or creates) the partial file, keeping exactly `recordedBytes` bytes. */
  static async resume(path: string, totalBytes: number, recordedBytes: number): Promise<PartialUpload> {
    mkdirSync(dirname(path), { recursive: true });
    const size = await stat(path).then((s) => s.size, () => -1);
    if (size < 0) {
      await (await open(path, 'w', 0o640)).close();
      return new PartialUpload(path, totalBytes, 0);
    }
    const keep = Math.min(size, recordedBytes);
    if (size !== keep) await truncate(path, keep);
    return new PartialUpload(path, totalBytes, keep);
  }

  /** Checks and appends one chunk; throws a TransferError naming the offset when it is wrong. */
  async append(chunk: Chunk): Promise<void> {
    if (chunk.offset !== this.received) throw new TransferError(`chunk at offset ${chunk.offset} arrived, expected offset ${this.received}`);
    const n = chunk.data.length;
    if (n === 0 || n > MAX_CHUNK_BYTES) throw new TransferError(`chunk at offset ${chunk.offset} has ${n} bytes (allowed 1..${MAX_CHUNK_BYTES})`);
    if (this.received + n > this.totalBytes) throw new TransferError(`chunk at offset ${chunk.offset} overruns the announced size of ${this.totalBytes} bytes`);
    if (sha256Hex(chunk.data) !== chunk.sha256) throw new TransferError(`chunk at offset ${chunk.offset} failed its sha256 check (corrupted in transit)`);
    const file = await open(this.path, 'a');
    try {
      await file.write(chunk.data);
      await file.sync();
    } finally {
      await file.close();
    }
    this.received += n;
  }

  get complete(): boolean {
    return this.received === this.totalBytes;
  }

  async sha256(): Promise<string> {
    const hash = createHash('sha256');
    for await (const part of createReadStream(this.path)) hash.update(part as Buffer);
    return hash.digest('hex');
  }

  async remove(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
