/**
 * An upload in progress, kept on disk so it survives a dropped connection or a coordinator restart:
 * proto's FileBlobAssembler (offset, size and running SHA-256 checked before a chunk is appended).
 * At each checkpoint the file is fsynced and then its length recorded (in the database), so the
 * recorded length never exceeds the bytes on disk; bytes past it (unsynced, or torn by a crash) are
 * cut off when the upload is resumed, and the site sends them again. Memory: one chunk, whatever
 * the update's size.
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

/**
 * How often an upload's progress is made durable and recorded. An fsync per 4 MiB chunk cost 2-4 s
 * per GiB on the bench machine's disk, more than the transfer itself (~1 s per GiB); checkpoints
 * at least every second or every 64 MiB cost a few fsyncs a second at most, and a coordinator crash
 * costs the site re-sending at most a second's or 64 MiB's worth.
 */
export const CHECKPOINT = { bytes: 64 * 1024 * 1024, ms: 1000 } as const;

/**
 * Checks and appends the chunks (a TransferError names the offset of a wrong one), checkpointing
 * (fsync, then `record` the length held): after the first chunk of the stream (a connection cut
 * soon after it still resumes past it), then every CHECKPOINT.bytes or CHECKPOINT.ms, when the
 * upload is complete, and when the stream stops early for whatever reason (best effort: a failed
 * checkpoint leaves the previous one, which is still true).
 */
export async function appendCheckpointed(
  partial: FileBlobAssembler,
  chunks: AsyncIterable<Chunk>,
  record: (receivedBytes: number) => Promise<void>,
  onChunk: (bytes: number) => void,
): Promise<void> {
  let recorded = partial.received;
  let recordedAt = -Infinity;
  const checkpoint = async () => {
    if (partial.received === recorded) return;
    await partial.sync();
    await record(partial.received);
    recorded = partial.received;
    recordedAt = Date.now();
  };
  try {
    for await (const chunk of chunks) {
      const bytes = chunk.data.length; // the check may move the chunk's bytes (proto's handOver)
      await partial.add(chunk);
      onChunk(bytes);
      if (partial.complete || partial.received - recorded >= CHECKPOINT.bytes || Date.now() - recordedAt >= CHECKPOINT.ms) await checkpoint();
    }
  } catch (e) {
    await checkpoint().catch(() => undefined);
    throw e;
  }
  await checkpoint();
}

export async function removePartialUpload(partial: FileBlobAssembler): Promise<void> {
  await partial.close();
  await rm(partial.path, { force: true });
}
