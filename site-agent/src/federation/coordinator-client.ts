/**
 * The site's side of the federation contract. Every call has a deadline; transient failures
 * (coordinator restarting, network cut) are retried with backoff; downloads and uploads resume
 * where they stopped instead of starting over, and every byte is checked against its SHA-256. Each
 * outbound message is written to the outbound audit before it is sent.
 */
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  ChunkCodecFederationClient, chunkBlob, chunkDigestsOf, chunkDigestsOfFile, chunkFile, DEFAULT_CHUNK_BYTES, type FederationClient, FileBlobAssembler, sha256OfFile, TRANSFER_CHANNEL_OPTIONS, UploadState,
  type Chunk,
  type BlobChunk, type EnrollResponse, type EvaluationReport, type HeartbeatResponse, type ModelRef, type ProgressReport, type Task,
  type Ack, type UploadHeader, type UploadReceipt, type UploadStatus, type WithheldUpdate, type SecAggAdvertisement, type SecAggRevealedShares, type SecAggShares,
} from '@fedciss/proto';
import { OutboundAudit } from './outbound-audit';
import { withBackoff, type BackoffOptions } from './retry';

export interface UploadTuning {
  chunkBytes?: number;
  /** Bandwidth cap in bytes per second (0 or unset: none). */
  bytesPerSecond?: number;
  /** Told the size of every chunk handed to the connection (metrics). */
  onChunkSent?: (bytes: number) => void;
}

export interface Connection {
  address: string;
  /** Further coordinators (standbys on the same database): tried in turn when a call finds the current one away or standing by. */
  standbyAddresses?: readonly string[];
  credentials: grpc.ChannelCredentials;
  /** Plaintext loopback demo mode only: the site id sent as `x-site-id` metadata. */
  insecureSiteId?: string;
  /** Enrolment only: the invitation's one-time token, sent as `x-fedciss-invitation` metadata. */
  invitationToken?: string;
  /** Deadline of a unary call. */
  deadlineMs?: number;
  /** Deadline of a whole download or upload stream. */
  transferDeadlineMs?: number;
  /** gRPC client interceptors (e.g. an e2e wrapper that injects faults into the traffic). */
  interceptors?: grpc.Interceptor[];
}

/** An update to upload: its bytes, or a file (any size: read one chunk at a time). */
export type UploadSource = Buffer | { path: string };

/** Waits until a stream can take more (or has closed), leaving no listener behind. */
function drainedOrClosed(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.once('drain', done);
    stream.once('close', done);
  });
}

type Callback<Res> = (e: grpc.ServiceError | null, r?: Res) => void;

export class CoordinatorClient {
  private client: FederationClient;
  private readonly addresses: string[];
  private current = 0;
  private readonly deadlineMs: number;
  private readonly transferDeadlineMs: number;

  constructor(
    private readonly connection: Connection,
    private readonly audit: OutboundAudit,
    private readonly backoff: BackoffOptions = {},
  ) {
    this.addresses = [connection.address, ...(connection.standbyAddresses ?? [])];
    this.client = this.connect(this.addresses[0]);
    this.deadlineMs = connection.deadlineMs ?? 15_000;
    this.transferDeadlineMs = connection.transferDeadlineMs ?? 600_000;
  }

  /** The coordinator address calls go to now. */
  get address(): string {
    return this.addresses[this.current];
  }

  private connect(address: string): FederationClient {
    return new ChunkCodecFederationClient(address, this.connection.credentials, {
      ...TRANSFER_CHANNEL_OPTIONS,
      'grpc.keepalive_time_ms': 30_000,
      // grpc-js backs reconnection off up to 2 minutes; a coordinator back from a restart must hear
      // this site's heartbeat within its timeout, and the agent paces its own retries anyway.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 3_000,
      interceptors: this.connection.interceptors,
    });
  }

  /**
   * withBackoff, with a fresh connection to the next coordinator address (the same one when there
   * is one) after a call found the current one away (see `foundAway`): a standby that took over
   * answers there, and a coordinator back from a restart gets a new connection attempt.
   */
  private retrying<T>(attempt: () => Promise<T>, options: BackoffOptions): Promise<T> {
    return withBackoff(async () => {
      const used = this.client;
      try {
        return await attempt();
      } catch (e) {
        // Calls fail together (a heartbeat beside a held GetTask): the first one moves on, once.
        if (used === this.client && this.foundAway(e as grpc.ServiceError)) {
          this.client.close();
          this.current = (this.current + 1) % this.addresses.length;
          this.client = this.connect(this.addresses[this.current]);
        }
        throw e;
      }
    }, options);
  }

  /**
   * Whether a failed call found the current coordinator away. UNAVAILABLE: it refused the
   * connection or stands by; with one address grpc-js reconnects by itself (backoff capped above).
   * DEADLINE_EXCEEDED while the channel has no connection: the call waited its whole deadline for
   * one. A connection attempt that hangs (a host that answers nothing, a connection attempt sent
   * where the coordinator no longer is) keeps a channel CONNECTING for as long as TCP retries: no
   * backoff setting shortens it, only a new attempt does. After a coordinator container's restart
   * an agent's calls waited for a connection for two minutes (issue 22's notes, twenty-third session).
   * grpc-js 1.14 cannot cancel the abandoned attempt: it lasts until TCP gives up on it (about two
   * minutes of SYN retries for a host that answers nothing) or the host closes it.
   */
  private foundAway(e: grpc.ServiceError | undefined): boolean {
    if (e?.code === grpc.status.UNAVAILABLE) return this.addresses.length > 1;
    return e?.code === grpc.status.DEADLINE_EXCEEDED && this.client.getChannel().getConnectivityState(false) !== grpc.connectivityState.READY;
  }

  close(): void {
    this.client.close();
  }

  private metadata(): grpc.Metadata {
    const md = new grpc.Metadata();
    if (this.connection.insecureSiteId) md.set('x-site-id', this.connection.insecureSiteId);
    if (this.connection.invitationToken) md.set('x-fedciss-invitation', this.connection.invitationToken);
    return md;
  }

  private unary<Req, Res>(
    type: string,
    content: string,
    call: (req: Req, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<Res>) => unknown,
    req: Req,
    encodedBytes: number,
    /** Cancels the call and its retries (a held GetTask when the agent stops). */
    { signal }: { signal?: AbortSignal } = {},
  ): Promise<Res> {
    return this.retrying(() => {
      this.audit.record(type, encodedBytes, content);
      return new Promise<Res>((resolve, reject) => {
        const cancel = () => pending.cancel();
        const pending = call.call(this.client, req, this.metadata(), { deadline: Date.now() + this.deadlineMs }, (e, r) => {
          signal?.removeEventListener('abort', cancel);
          if (e) reject(e);
          else resolve(r!);
        }) as grpc.ClientUnaryCall;
        if (signal?.aborted) cancel();
        else signal?.addEventListener('abort', cancel, { once: true });
      });
    }, signal ? { ...this.backoff, signal } : this.backoff);
  }

  enroll(displayName: string, csrPem: string, executionProviders: string[]): Promise<EnrollResponse> {
    const req = { displayName, csrPem, capabilities: { executionProviders, agentVersion: '0.1.0' } };
    const what = `site name, certificate signing request (public key only)${this.connection.invitationToken ? ', invitation token' : ''}`;
    return this.unary('Enroll', what, this.client.enroll, req, JSON.stringify(req).length);
  }

  heartbeat(state: string): Promise<HeartbeatResponse> {
    return this.unary('Heartbeat', 'agent state word', this.client.heartbeat, { state }, state.length);
  }

  /** The site's task; while it waits between rounds the coordinator holds the call (a long poll)
   * and answers when a round opens or closes, a little before this call's deadline at the latest.
   * `signal` gives up the call (the agent is stopping): the promise rejects with CANCELLED. */
  getTask(signal?: AbortSignal): Promise<Task> {
    return this.unary('GetTask', 'how long the coordinator may hold the call', this.client.getTask, { holdMs: this.deadlineMs }, 4, { signal });
  }

  reportProgress(report: ProgressReport): Promise<unknown> {
    return this.unary('ReportProgress', 'phase, fraction and loss values', this.client.reportProgress, report, JSON.stringify(report).length);
  }

  reportWithheld(report: WithheldUpdate): Promise<Ack> {
    return this.unary('ReportWithheld', 'why a trained update was kept back, and its privacy-check numbers', this.client.reportWithheld, report, JSON.stringify(report).length);
  }

  secAggAdvertise(req: SecAggAdvertisement): Promise<Ack> {
    return this.unary('SecAggAdvertise', 'two X25519 public keys and a hash of a random seed (secure aggregation)', this.client.secAggAdvertise, req, 100);
  }

  secAggShareKeys(req: SecAggShares): Promise<Ack> {
    return this.unary('SecAggShareKeys', `${req.shares.length} Shamir share bundles of this round's secure-aggregation secrets, each encrypted for its holder`, this.client.secAggShareKeys, req, req.shares.reduce((n, s) => n + s.ciphertext.length, 0));
  }

  secAggReveal(req: SecAggRevealedShares): Promise<Ack> {
    return this.unary('SecAggReveal', `${req.shares.length} Shamir shares of other sites' secure-aggregation secrets, to unmask the sum`, this.client.secAggReveal, req, req.shares.length * 33);
  }

  reportEvaluation(report: EvaluationReport): Promise<unknown> {
    return this.unary('ReportEvaluation', `per-class confusion counts of ${report.classes.length} classes`, this.client.reportEvaluation, report, JSON.stringify(report).length);
  }

  uploadStatus(idempotencyKey: string): Promise<UploadStatus> {
    return this.unary('GetUploadStatus', 'idempotency key', this.client.getUploadStatus, { idempotencyKey }, idempotencyKey.length);
  }

  /**
   * The bytes of a model version, from the local cache when present (checked by hash), else
   * downloaded into the cache, resuming from a partial file after an interruption.
   */
  async download(ref: ModelRef, cacheDir: string, onProgress?: (fraction: number) => void): Promise<Buffer> {
    return readFile(await this.downloadToFile(ref, cacheDir, onProgress));
  }

  /**
   * The cached file of a model version (checked by hash), downloaded first when absent: chunks are
   * checked and appended to a partial file, so a cut transfer resumes where it stopped, and memory
   * holds one chunk whatever the model's size.
   */
  async downloadToFile(ref: ModelRef, cacheDir: string, onProgress?: (fraction: number) => void): Promise<string> {
    mkdirSync(cacheDir, { recursive: true });
    const file = join(cacheDir, `${ref.sha256}.safetensors`);
    if (existsSync(file)) {
      if ((await sha256OfFile(file)).sha256 === ref.sha256) return file;
      rmSync(file);
    }
    const part = `${file}.part`;
    return this.retrying(async () => {
      let assembler: FileBlobAssembler | undefined;
      try {
        for await (const m of this.downloadStream(ref, part) as AsyncIterable<BlobChunk>) {
          if (m.header) {
            if (m.header.sha256 !== ref.sha256) throw new Error(`coordinator sent ${m.header.sha256} for version ${ref.versionId}, expected ${ref.sha256}`);
            assembler = await FileBlobAssembler.open(part, m.header.totalBytes, m.header.sha256, Math.max(ref.sizeBytes, m.header.totalBytes));
          } else if (m.chunk) {
            if (!assembler) throw new Error('download stream sent a chunk before its header');
            await assembler.add(m.chunk); // kept on disk, so a cut transfer resumes here
            onProgress?.(assembler.received / assembler.totalBytes);
          }
        }
        if (!assembler) throw new Error(`download of ${ref.versionId} ended without a header`);
        try {
          await assembler.finish();
        } catch (e) {
          rmSync(part, { force: true });
          throw e;
        }
        renameSync(part, file);
        return file;
      } finally {
        await assembler?.close();
      }
    }, this.backoff);
  }

  /** The download call, resuming after the bytes the partial file holds. */
  private downloadStream(ref: ModelRef, part: string): grpc.ClientReadableStream<BlobChunk> {
    const offset = existsSync(part) ? statSync(part).size : 0;
    this.audit.record('DownloadModel', ref.versionId.length + 8, 'model version id and resume offset');
    return this.client.downloadModel({ versionId: ref.versionId, offset }, this.metadata(), { deadline: Date.now() + this.transferDeadlineMs });
  }

  /**
   * Uploads an update, idempotently (the key is derived from the round and the bytes, so retries
   * after a crash reuse it) and resumably (it asks how much the coordinator holds first).
   */
  async upload(
    header: Omit<UploadHeader, 'totalBytes' | 'sha256' | 'resumeOffset' | 'idempotencyKey'>,
    source: UploadSource,
    siteId: string,
    onProgress?: (fraction: number) => void,
    tuning: UploadTuning = {},
  ): Promise<UploadReceipt> {
    const chunkBytes = tuning.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    // One pass: the header's hash and the chunks' running hashes, so sending hashes nothing again.
    const digests = Buffer.isBuffer(source) ? chunkDigestsOf(source, chunkBytes) : await chunkDigestsOfFile(source.path, chunkBytes);
    const { sha256, sizeBytes } = digests;
    const chunksFrom = (offset: number): Iterable<Chunk> | AsyncIterable<Chunk> =>
      Buffer.isBuffer(source) ? chunkBlob(source, chunkBytes, offset, digests) : chunkFile(source.path, chunkBytes, offset, digests);
    const idempotencyKey = `${siteId}:${header.roundId}:${sha256.slice(0, 24)}`;
    return this.retrying(async () => {
      const status = await this.uploadStatus(idempotencyKey);
      if (status.state === UploadState.UPLOAD_STATE_ACCEPTED || status.state === UploadState.UPLOAD_STATE_REJECTED) {
        return { updateId: '', state: status.state, reason: status.reason, receivedBytes: status.receivedBytes };
      }
      const offset = status.state === UploadState.UPLOAD_STATE_PARTIAL ? status.receivedBytes : 0;
      return new Promise<UploadReceipt>((resolve, reject) => {
        // Set once the coordinator has answered (an error can come mid-stream): stop sending then.
        let answered = false;
        const call = this.client.uploadUpdate(this.metadata(), { deadline: Date.now() + this.transferDeadlineMs }, (e, r) => {
          answered = true;
          if (e) reject(e);
          else resolve(r!);
        });
        const full: UploadHeader = { ...header, idempotencyKey, totalBytes: sizeBytes, sha256, resumeOffset: offset };
        this.audit.record('UploadUpdate.header', JSON.stringify(full).length, 'round id, sample counts, sizes and hashes', { roundId: header.roundId, resumeOffset: offset });
        call.write({ header: full });
        const started = Date.now();
        let sent = 0;
        const pump = async () => {
          for await (const chunk of chunksFrom(offset)) {
            if (answered) break;
            this.audit.record('UploadUpdate.chunk', chunk.data.length, `model weights (safetensors bytes ${chunk.offset}..${chunk.offset + chunk.data.length})`);
            onProgress?.((chunk.offset + chunk.data.length) / sizeBytes);
            tuning.onChunkSent?.(chunk.data.length);
            sent += chunk.data.length;
            if (tuning.bytesPerSecond) {
              const due = started + (sent / tuning.bytesPerSecond) * 1000;
              if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
            }
            if (!call.write({ chunk })) await drainedOrClosed(call);
          }
          if (!answered) call.end();
        };
        pump().catch(reject);
      });
    }, { ...this.backoff, retryIf: (e) => /sha256 check|does not match the announced/.test((e as grpc.ServiceError)?.details ?? ''), maxAttempts: 5 });
  }
}
