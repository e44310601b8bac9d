/**
 * The worker thread behind hash-thread.ts: running SHA-256 states, one per id, fed the bytes the
 * main thread hands over. Requests are answered in the order they came (one thread, one queue).
 */
import { parentPort } from 'node:worker_threads';
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type { HashReply, HashRequest } from './hash-thread';

/** How much of a file is hashed at once when a resumed transfer re-reads its prefix. */
const READ_SLICE_BYTES = 8 * 1024 * 1024;

const states = new Map<number, Hash>();

function stateOf(id: number): Hash {
  const hash = states.get(id);
  if (!hash) throw new Error(`no running hash ${id} in the hashing thread`);
  return hash;
}

function hashFile(hash: Hash, path: string, from: number, to: number): void {
  const fd = openSync(path, 'r');
  try {
    const slice = Buffer.allocUnsafe(Math.min(READ_SLICE_BYTES, Math.max(1, to - from)));
    for (let at = from; at < to; ) {
      const bytesRead = readSync(fd, slice, 0, Math.min(slice.length, to - at), at);
      if (bytesRead === 0) throw new Error(`${path} ended at ${at} bytes, expected ${to}`);
      hash.update(slice.subarray(0, bytesRead));
      at += bytesRead;
    }
  } finally {
    closeSync(fd);
  }
}

function answer(r: HashRequest): HashReply {
  switch (r.op) {
    case 'open':
      states.set(r.id, createHash('sha256'));
      return { seq: r.seq };
    case 'update': {
      if (!r.expect) {
        stateOf(r.id).update(r.data);
        return { seq: r.seq, ok: true, data: r.data };
      }
      // A copy of the state takes the bytes: a refused chunk leaves the running hash as it was.
      const { prefixSha256, sha256 } = r.expect;
      const next = stateOf(r.id).copy().update(r.data);
      const ok = prefixSha256 ? next.copy().digest('hex') === prefixSha256 : createHash('sha256').update(r.data).digest('hex') === sha256;
      if (ok) states.set(r.id, next);
      return { seq: r.seq, ok, data: r.data };
    }
    case 'file':
      hashFile(stateOf(r.id), r.path, r.from, r.to);
      return { seq: r.seq };
    case 'digest': {
      const digest = stateOf(r.id).digest('hex');
      states.delete(r.id);
      return { seq: r.seq, digest };
    }
    case 'drop':
      states.delete(r.id);
      return { seq: r.seq };
  }
}

parentPort!.on('message', (r: HashRequest) => {
  let reply: HashReply;
  try {
    reply = answer(r);
  } catch (e) {
    reply = { seq: r.seq, error: (e as Error).message };
  }
  // The bytes the main thread moved here go back the same way (no copy).
  parentPort!.postMessage(reply, reply.data ? [reply.data.buffer as ArrayBuffer] : []);
});
