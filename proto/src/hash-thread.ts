/**
 * Running SHA-256 hashes kept in a worker thread, so that a receiver's event loop reads the next
 * chunk from the network while the previous one is hashed. On loopback the receiver's SHA-256
 * (0.8-0.9 CPU s per GiB with SHA-NI) costs about as much as the rest of the receiver's work: on
 * the event loop it adds to every chunk's time; beside it, where a core is free, it runs meanwhile
 * (the CPU per byte stays the same: this buys wall time, not CPU).
 *
 * One worker per process serves every transfer (requests run in order: one queue); it is started
 * on first use and does not keep the process alive when idle. Bytes a receiver hands over (see
 * handOver) travel to the worker and back without a copy; others are copied into a buffer of their
 * own first (a view posted as it is would clone its whole ArrayBuffer: a blob per chunk).
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';

/** What the hashing thread is asked, about the running hash `id`. */
export type HashOp = { id: number } & (
  | { op: 'open' }
  | { op: 'update'; data: Uint8Array; expect?: { prefixSha256: string; sha256: string } }
  | { op: 'file'; path: string; from: number; to: number }
  | { op: 'digest' }
  | { op: 'drop' }
);
export type HashRequest = HashOp & { seq: number };

export interface HashReply {
  seq: number;
  error?: string;
  ok?: boolean;
  data?: Uint8Array;
  digest?: string;
}

/** Received bytes no one else holds (see handOver): they may move to the hashing thread and back. */
const movable = new WeakSet<Uint8Array>();
/** Below this, copying costs less than the ArrayBuffer's round trip (and small buffers share Node's pool). */
const MIN_MOVED_BYTES = 64 * 1024;

/**
 * Marks `data` as owned by its receiver alone (a message grpc-js has just decoded into a buffer of
 * its own), so that checking it may move its memory to the hashing thread: the caller must use the
 * bytes the check gives back, not `data`, afterwards.
 */
export function handOver<T extends Uint8Array>(data: T): T {
  if (data.byteLength >= MIN_MOVED_BYTES && data.buffer instanceof ArrayBuffer) movable.add(data);
  return data;
}

class HashThread {
  private worker: Worker | undefined;
  private readonly pending = new Map<number, { resolve: (r: HashReply) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private ids = 0;

  newId(): number {
    return ++this.ids;
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(join(__dirname, 'hash-worker.js'));
    worker.unref();
    worker.on('message', (r: HashReply) => {
      const waiting = this.pending.get(r.seq);
      this.pending.delete(r.seq);
      if (this.pending.size === 0) worker.unref();
      if (r.error) waiting?.reject(new Error(r.error));
      else waiting?.resolve(r);
    });
    const fail = (e: Error) => {
      if (this.worker !== worker) return;
      this.worker = undefined; // the next request starts a new thread (whose hashes start empty)
      for (const waiting of this.pending.values()) waiting.reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the hashing thread exited with ${code}`)));
    this.worker = worker;
    return worker;
  }

  /** Forgets a running hash, if the thread that holds it still runs (a new thread holds none). */
  drop(id: number): void {
    if (this.worker) void this.request({ op: 'drop', id }).catch(() => undefined);
  }

  /** Sends one request; moved bytes come back in the reply's `data`. */
  request(r: HashOp, moving?: ArrayBuffer): Promise<HashReply> {
    const worker = this.started();
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(seq, { resolve, reject });
      worker.ref(); // awaited replies keep the process alive
      worker.postMessage({ ...r, seq }, moving ? [moving] : []);
    });
  }
}

const thread = new HashThread();
/** Drops the worker's state of a running hash its owner lost without finishing. */
const forgotten = new FinalizationRegistry<number>((id) => thread.drop(id));

/** A running SHA-256 whose state lives in the hashing thread. */
export class OffThreadSha256 {
  private readonly id = thread.newId();
  private readonly opened: Promise<HashReply>;

  constructor() {
    this.opened = thread.request({ op: 'open', id: this.id });
    forgotten.register(this, this.id, this);
  }

  /**
   * Feeds `data` if the running hash after it equals `prefixSha256` (or, when that is empty,
   * if `data` alone hashes to `sha256`), else leaves the state as it was. Returns the verdict
   * and the bytes to use from now on (`data` itself, or, when it was handed over, the same bytes
   * moved back from the thread).
   */
  async updateIfMatches(data: Buffer, prefixSha256: string, sha256: string): Promise<{ ok: boolean; data: Buffer }> {
    await this.opened;
    const moved = movable.has(data);
    const sent = moved ? data : new Uint8Array(data);
    const reply = await thread.request({ op: 'update', id: this.id, data: sent, expect: { prefixSha256, sha256 } }, sent.buffer as ArrayBuffer);
    const back = moved ? Buffer.from(reply.data!.buffer, reply.data!.byteOffset, reply.data!.byteLength) : data;
    return { ok: reply.ok === true, data: back };
  }

  /** Feeds `data` (bytes already held: a resumed transfer's prefix). */
  async update(data: Uint8Array): Promise<void> {
    await this.opened;
    const sent = new Uint8Array(data);
    await thread.request({ op: 'update', id: this.id, data: sent }, sent.buffer as ArrayBuffer);
  }

  /** Feeds bytes `from`..`to` of a file (read by the thread). */
  async updateFromFile(path: string, from: number, to: number): Promise<void> {
    await this.opened;
    if (to > from) await thread.request({ op: 'file', id: this.id, path, from, to });
  }

  /** The hash of everything fed; the state is gone afterwards. */
  async digest(): Promise<string> {
    await this.opened;
    forgotten.unregister(this);
    return (await thread.request({ op: 'digest', id: this.id })).digest!;
  }
}
