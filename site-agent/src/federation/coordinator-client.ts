/**
 * The site's side of the federation contract. Every call has a deadline; transient failures
 * (coordinator restarting, network cut) are retried with backoff; downloads and uploads resume
 * where they stopped instead of starting over, and every byte is checked against its SHA-256. Each
 * outbound message is written to the outbound audit before it is sent.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import {
  BlobAssembler, chunkBlob, DEFAULT_CHUNK_BYTES, FederationClient, sha256Hex, UploadState,
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

type Callback<Res> = (e: grpc.ServiceError | null, r?: Res) => void;

export class CoordinatorClient {
  private client: FederationClient;
  private readonly deadlineMs: number;
  private readonly transferDeadlineMs: number;

  constructor(
    private readonly connection: Connection,
    private readonly audit: OutboundAudit,
    private readonly backoff: BackoffOptions = {},
  ) {
    this.client = new FederationClient(connection.address, connection.credentials, {
      'grpc.max_receive_message_length': 8 * 1024 * 1024,
      'grpc.keepalive_time_ms': 30_000,
      // grpc-js backs reconnection off up to 2 minutes; a coordinator back from a restart must hear
      // this site's heartbeat within its timeout, and the agent paces its own retries anyway.
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 3_000,
      interceptors: connection.interceptors,
    });
    this.deadlineMs = connection.deadlineMs ?? 15_000;
    this.transferDeadlineMs = connection.transferDeadlineMs ?? 600_000;
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
  ): Promise<Res> {
    return withBackoff(() => {
      this.audit.record(type, encodedBytes, content);
      return new Promise<Res>((resolve, reject) =>
        call.call(this.client, req, this.metadata(), { deadline: Date.now() + this.deadlineMs }, (e, r) => (e ? reject(e) : resolve(r!))),
      );
    }, this.backoff);
  }

  enroll(displayName: string, csrPem: string, executionProviders: string[]): Promise<EnrollResponse> {
    const req = { displayName, csrPem, capabilities: { executionProviders, agentVersion: '0.1.0' } };
    const what = `site name, certificate signing request (public key only)${this.connection.invitationToken ? ', invitation token' : ''}`;
    return this.unary('Enroll', what, this.client.enroll, req, JSON.stringify(req).length);
  }

  heartbeat(state: string): Promise<HeartbeatResponse> {
    return this.unary('Heartbeat', 'agent state word', this.client.heartbeat, { state }, state.length);
  }

  getTask(): Promise<Task> {
    return this.unary('GetTask', 'empty request', this.client.getTask, {}, 0);
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
    mkdirSync(cacheDir, { recursive: true });
    const file = join(cacheDir, `${ref.sha256}.safetensors`);
    if (existsSync(file)) {
      const cached = readFileSync(file);
      if (sha256Hex(cached) === ref.sha256) return cached;
      rmSync(file);
    }
    const part = `${file}.part`;
    return withBackoff(async () => {
      const prefix = existsSync(part) ? readFileSync(part) : Buffer.alloc(0);
      this.audit.record('DownloadModel', ref.versionId.length + 8, 'model version id and resume offset');
      const stream = this.client.downloadModel({ versionId: ref.versionId, offset: prefix.length }, this.metadata(), { deadline: Date.now() + this.transferDeadlineMs });
      let assembler: BlobAssembler | undefined;
      for await (const m of stream as AsyncIterable<BlobChunk>) {
        if (m.header) {
          if (m.header.sha256 !== ref.sha256) throw new Error(`coordinator sent ${m.header.sha256} for version ${ref.versionId}, expected ${ref.sha256}`);
          assembler = new BlobAssembler(m.header.totalBytes, m.header.sha256, Math.max(ref.sizeBytes, m.header.totalBytes), prefix);
        } else if (m.chunk) {
          if (!assembler) throw new Error('download stream sent a chunk before its header');
          assembler.add(m.chunk);
          appendFileSync(part, m.chunk.data); // kept on disk, so a cut transfer resumes here
          onProgress?.(assembler.received / assembler.totalBytes);
        }
      }
      if (!assembler) throw new Error(`download of ${ref.versionId} ended without a header`);
      let blob: Buffer;
      try {
        blob = assembler.finish();
      } catch (e) {
        rmSync(part, { force: true });
        throw e;
      }
      writeFileSync(part, blob);
      renameSync(part, file);
      return blob;
    }, this.backoff);
  }

  /**
   * Uploads an update, idempotently (the key is derived from the round and the bytes, so retries
   * after a crash reuse it) and resumably (it asks how much the coordinator holds first).
   */
  async upload(
    header: Omit<UploadHeader, 'totalBytes' | 'sha256' | 'resumeOffset' | 'idempotencyKey'>,
    blob: Buffer,
    siteId: string,
    onProgress?: (fraction: number) => void,
    tuning: UploadTuning = {},
  ): Promise<UploadReceipt> {
    const sha256 = sha256Hex(blob);
    const idempotencyKey = `${siteId}:${header.roundId}:${sha256.slice(0, 24)}`;
    return withBackoff(async () => {
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
        const full: UploadHeader = { ...header, idempotencyKey, totalBytes: blob.length, sha256, resumeOffset: offset };
        this.audit.record('UploadUpdate.header', JSON.stringify(full).length, 'round id, sample counts, sizes and hashes', { roundId: header.roundId, resumeOffset: offset });
        call.write({ header: full });
        const chunkBytes = tuning.chunkBytes ?? DEFAULT_CHUNK_BYTES;
        const chunks = chunkBlob(blob, chunkBytes, offset);
        const started = Date.now();
        let sent = 0;
        const pump = async () => {
          for (let next = chunks.next(); !next.done && !answered; next = chunks.next()) {
            const chunk = next.value;
            this.audit.record('UploadUpdate.chunk', chunk.data.length, `model weights (safetensors bytes ${chunk.offset}..${chunk.offset + chunk.data.length})`);
            onProgress?.((chunk.offset + chunk.data.length) / blob.length);
            tuning.onChunkSent?.(chunk.data.length);
            sent += chunk.data.length;
            if (tuning.bytesPerSecond) {
              const due = started + (sent / tuning.bytesPerSecond) * 1000;
              if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
            }
            if (!call.write({ chunk })) await new Promise((r) => (call.once('drain', r), call.once('close', r)));
          }
          if (!answered) call.end();
        };
        pump().catch(reject);
      });
    }, { ...this.backoff, retryIf: (e) => /sha256 check|hashes to/.test((e as grpc.ServiceError)?.details ?? ''), maxAttempts: 5 });
  }
}
