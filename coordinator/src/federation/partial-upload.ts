/**
 * An upload in progress, kept on disk so it survives a dropped connection or a coordinator restart:
 * proto's FileBlobAssembler (offset, size and running SHA-256 checked before a chunk is appended),
 * fsynced after each chunk, so the file's length is the number of bytes held. Bytes past the
 * length the database recorded (a torn write during a crash) are cut off when the upload is
 * resumed. Memory: one chunk, whatever the update's size.
 */
import { mkdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { FileBlobAssembler, type Chunk } from '@fedciss/proto';

/** Opens (or creates) the partial file, keeping at most `recordedBytes` bytes (re-hashed once). */
export function openPartialUpload(path: string, totalBytes: number, recordedBytes: number, sha256: string): Promise<FileBlobAssembler> {
  mkdirSync(dirname(path), { recursive: true });
  return FileBlobAssembler.open(path, totalBytes, sha256, totalBytes, recordedBytes);
}

/** Checks and appends one chunk, durably; throws a TransferError naming the offset when it is wrong. */
export async function appendDurably(partial: FileBlobAssembler, chunk: Chunk): Promise<void> {
  await partial.add(chunk);
  await partial.sync();
}

export async function removePartialUpload(partial: FileBlobAssembler): Promise<void> {
  await partial.close();
  await rm(partial.path, { force: true });
}
