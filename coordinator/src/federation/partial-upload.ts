/**
 * An upload in progress, kept on disk so it survives a dropped connection or a coordinator restart.
 * Chunks are checked (offset, size, running SHA-256: proto's FileBlobAssembler) before they are
 * appended; the file is fsynced after each chunk and its length is the number of bytes held. Bytes
 * past the length the database recorded (a torn write during a crash) are cut off when the upload
 * is resumed. Memory: one chunk, whatever the update's size.
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileBlobAssembler, type Chunk } from '@fedciss/proto';

export class PartialUpload {
  private constructor(private readonly assembler: FileBlobAssembler) {}

  /** Opens (or creates) the partial file, keeping at most `recordedBytes` bytes (re-hashed once). */
  static async resume(path: string, totalBytes: number, recordedBytes: number, sha256: string): Promise<PartialUpload> {
    mkdirSync(dirname(path), { recursive: true });
    return new PartialUpload(await FileBlobAssembler.open(path, totalBytes, sha256, totalBytes, recordedBytes));
  }

  get path(): string {
    return this.assembler.path;
  }

  get received(): number {
    return this.assembler.received;
  }

  get complete(): boolean {
    return this.assembler.complete;
  }

  /** Checks and appends one chunk, durably; throws a TransferError naming the offset when it is wrong. */
  async append(chunk: Chunk): Promise<void> {
    await this.assembler.add(chunk);
    await this.assembler.sync();
  }

  /** Checks the whole upload's hash against the announced one (TransferError when it differs) and closes the file. */
  finish(): Promise<void> {
    return this.assembler.finish();
  }

  close(): Promise<void> {
    return this.assembler.close();
  }

  async remove(): Promise<void> {
    await this.close();
    await rm(this.path, { force: true });
  }
}
