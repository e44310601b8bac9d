import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import * as grpc from '@grpc/grpc-js';
import {
  ChunkCodecFederationService, chunkFile, DEFAULT_CHUNK_BYTES, TRANSFER_CHANNEL_OPTIONS, widenServerFlowControl, widenWhileReading,
  type Ack, type BlobChunk, type Chunk, type DownloadRequest, type EvaluationReport, type FederationServer, type GetTaskRequest,
  type HeartbeatRequest, type HeartbeatResponse, type ProgressReport, type Task, type UploadMessage, type UploadReceipt,
  type UploadStatus, type UploadStatusRequest, type WithheldUpdate, type SecAggAdvertisement, type SecAggRevealedShares, type SecAggShares, EnrollmentStatus,
} from '@fedciss/proto';
import { CONFIG } from '../common/tokens';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { SitesService } from '../sites/sites.service';
import { SiteIdentity } from '../sites/site-identity';
import { ModelVersionsService } from '../models/model-versions.service';
import { invalid, tooMany } from '../common/errors';
import { SiteEvents } from './site-events.service';
import { TaskBuilder } from './task-builder.service';
import { UploadsService } from './uploads.service';
import { EvaluationsService } from '../reports/evaluations.service';
import { ProgressHub } from './progress-hub';
import { RateLimiter } from './rate-limiter';
import { overloadRefusal } from './load-shedding';
import { DatabaseService } from '../database/database.service';
import { serviceError, toServiceError } from './grpc-status';
import { requestProblem } from './request-limits';
import { quote } from '../common/text';
import { MetricsService } from '../operations/metrics.service';
import { INVITATION_METADATA_KEY } from '../sites/invitation-token';
import { Leadership } from '../leadership';
import { ConcurrencyLimit } from './concurrency-limit';
import { holdBudgetMs } from './task-hold';

/** See FederationGrpcServer.transferSlots. */
const TRANSFERS_AT_ONCE = 16;
const SLOW_TRANSFER_MS = 5_000;

const ENROLLMENT: Record<string, EnrollmentStatus> = {
  pending: EnrollmentStatus.ENROLLMENT_STATUS_PENDING,
  approved: EnrollmentStatus.ENROLLMENT_STATUS_APPROVED,
  rejected: EnrollmentStatus.ENROLLMENT_STATUS_REJECTED,
  revoked: EnrollmentStatus.ENROLLMENT_STATUS_REJECTED,
};

/**
 * A request refused before any handler sees it: its bytes are not a message of its type, or a field
 * breaks the bounds of request-limits.ts. grpc-js answers a deserializer that throws with INTERNAL
 * (as if the coordinator failed), so the deserializers return this marker instead and the handlers
 * answer INVALID_ARGUMENT: the fault is the caller's.
 */
class RefusedMessage {
  constructor(readonly details: string) {}
}

function malformed(what: unknown, method: string): grpc.ServiceError | null {
  return what instanceof RefusedMessage ? serviceError(grpc.status.INVALID_ARGUMENT, `${method}: ${what.details}`) : null;
}

/** The service definition with request deserializers that never throw and check every field's text (see RefusedMessage). */
function tolerantDefinition(definition: typeof ChunkCodecFederationService): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(definition) as Array<[string, grpc.MethodDefinition<unknown, unknown>]>) {
    out[name] = {
      ...method,
      requestDeserialize: (bytes: Buffer) => {
        let message: unknown;
        try {
          message = method.requestDeserialize(bytes);
        } catch (e) {
          return new RefusedMessage(`the request is not a valid protobuf message (${quote((e as Error)?.message ?? String(e), 200)})`);
        }
        const problem = requestProblem(message);
        return problem ? new RefusedMessage(problem) : message;
      },
    };
  }
  return out as grpc.ServiceDefinition;
}

/**
 * The federation's gRPC endpoint (grpc-js, typed by the ts-proto service definition). Every call
 * first resolves the calling site from its certificate (or, in the loopback demo mode, from its
 * metadata) and checks that the site is approved and within its rate limit; errors become status
 * codes in grpc-status.ts. Handlers answer exactly once and return right after an error.
 */
@Injectable()
export class FederationGrpcServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Federation');
  private server?: grpc.Server;
  /**
   * Transfers moving bytes at once: a download's chunk from its read to HTTP/2 taking it, an
   * upload from its header to its last chunk. Unbounded, every site of a round moved its bytes at
   * the same moment, each holding a chunk (several times over: frames, message, encoding) in the
   * coordinator's memory. A slot is given up after SLOW_TRANSFER_MS (slow sites must not stall
   * everyone), so the bound holds for transfers that are not slow.
   */
  private readonly transferSlots = new ConcurrencyLimit(TRANSFERS_AT_ONCE);
  /** Ends every held GetTask when the coordinator stops (task-hold.ts). */
  private readonly stopping = new AbortController();
  /** Ports actually bound (useful when the configured port is 0). */
  readonly ports: { federation?: number; enrollment?: number } = {};

  constructor(
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    private readonly identity: SiteIdentity,
    private readonly sites: SitesService,
    private readonly tasks: TaskBuilder,
    private readonly events: SiteEvents,
    private readonly uploads: UploadsService,
    private readonly models: ModelVersionsService,
    private readonly evaluations: EvaluationsService,
    private readonly progress: ProgressHub,
    private readonly limiter: RateLimiter,
    private readonly metrics: MetricsService,
    private readonly leadership: Leadership,
    private readonly db: DatabaseService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    this.server = new grpc.Server({
      // Messages of one chunk plus its envelope: nothing larger is ever legitimate.
      ...TRANSFER_CHANNEL_OPTIONS,
      'grpc.keepalive_permit_without_calls': 1,
    });
    this.server.addService(tolerantDefinition(ChunkCodecFederationService), this.handlers());
    const { federation, enrollment } = await this.identity.bind(this.server, this.config);
    widenServerFlowControl(this.server);
    Object.assign(this.ports, { federation, enrollment });
    this.log.log(`federation gRPC on port ${federation}${this.config.insecure ? ' (PLAINTEXT, loopback only)' : ' (mutual TLS)'}${enrollment ? `, enrolment on port ${enrollment}` : ''}`);
  }

  async onApplicationShutdown(): Promise<void> {
    this.stopping.abort();
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Resolves and checks the calling site; every handler starts here. */
  private async caller(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerReadableStream<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, method: string): Promise<string> {
    this.leadership.requireLeader();
    // Before the caller's certificate is read and checked: a refused call should cost next to
    // nothing (at 500 sites reading the peer certificate was about a tenth of the coordinator's CPU
    // profile). The TLS handshake has already required a certificate signed by the federation's CA.
    const overloaded = overloadRefusal(method, this.db.poolCounts());
    if (overloaded) throw tooMany(overloaded);
    const siteId = this.identity.siteOf(call);
    this.limiter.take(siteId, method);
    await this.sites.requireActive(siteId);
    return siteId;
  }

  private unary<Req, Res>(method: string, fn: (siteId: string, req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>): grpc.handleUnaryCall<Req, Res> {
    return (call, callback) => {
      const bad = malformed(call.request, method);
      if (bad) return callback(bad);
      this.caller(call, method)
        .then((siteId) => fn(siteId, call.request, call))
        .then((res) => callback(null, res), (e) => callback(toServiceError(e, method)));
    };
  }

  /** One handler per RPC of the generated FederationServer interface: a missing one does not compile. */
  private handlers(): FederationServer {
    return {
      enroll: (call, callback) => {
        // Enrolment is the one call a site makes before it has a certificate.
        const req = call.request;
        const bad = malformed(req, 'enroll');
        if (bad) return callback(bad);
        const address = call.getPeer().replace(/:\d+$/, '');
        Promise.resolve()
          .then(() => this.leadership.requireLeader())
          .then(() => this.limiter.take(`enroll:${address}`, 'enroll'))
          .then(() => this.sites.enroll(req.displayName, req.csrPem, { ...(req.capabilities ?? {}) }, { address, invitationToken: invitationTokenOf(call.metadata) }))
          .then(
            (r) => callback(null, { siteId: r.siteId, status: ENROLLMENT[r.status], certificatePem: r.certificatePem, caCertificatePem: r.caCertificatePem, message: r.message }),
            (e) => callback(toServiceError(e, 'Enroll')),
          );
      },

      heartbeat: this.unary<HeartbeatRequest, HeartbeatResponse>('heartbeat', async (siteId, req) => {
        await this.sites.heartbeat(siteId, req.state ?? '');
        await this.events.heartbeat(siteId);
        return { serverTimeMs: Date.now(), heartbeatIntervalMs: Math.max(1000, Math.floor((this.config.rounds.heartbeatTimeoutSeconds * 1000) / 4)) };
      }),

      getTask: this.unary<GetTaskRequest, Task>('getTask', (siteId, req, call) => {
        // A long poll when the site asks for one (hold_ms), until a little before its call's deadline.
        const budget = holdBudgetMs(req.holdMs, Number(call.getDeadline()), Date.now());
        if (budget <= 0) return this.tasks.taskFor(siteId);
        const held = new AbortController();
        const release = () => held.abort();
        call.once('cancelled', release);
        this.stopping.signal.addEventListener('abort', release, { once: true });
        return this.tasks.heldTaskFor(siteId, budget, held.signal).finally(() => {
          call.off('cancelled', release);
          this.stopping.signal.removeEventListener('abort', release);
        });
      }),

      getUploadStatus: this.unary<UploadStatusRequest, UploadStatus>('getUploadStatus', (siteId, req) => this.uploads.status(siteId, req.idempotencyKey)),

      reportEvaluation: this.unary<EvaluationReport, Ack>('reportEvaluation', async (siteId, req) => {
        await this.evaluations.record(siteId, req);
        await this.events.recordEvaluation(siteId, req.modelVersionId);
        return { ok: true, message: 'recorded' };
      }),

      reportProgress: this.unary<ProgressReport, Ack>('reportProgress', async (siteId, req) => {
        this.progress.report(siteId, req);
        return { ok: true, message: '' };
      }),

      reportWithheld: this.unary<WithheldUpdate, Ack>('reportWithheld', async (siteId, req) => {
        const metrics: Record<string, number> = {};
        for (const [k, v] of Object.entries(req.metrics ?? {}).slice(0, 16)) if (Number.isFinite(v)) metrics[k.slice(0, 64)] = v;
        const recorded = await this.events.recordWithheld(siteId, req.roundId, req.kind, (req.reason || 'no reason given').slice(0, 500), metrics);
        return { ok: recorded, message: recorded ? 'recorded; the round does not wait for this site' : 'the round was not waiting for this site' };
      }),

      secAggAdvertise: this.unary<SecAggAdvertisement, Ack>('secAggAdvertise', async (siteId, req) => {
        await this.events.secureEvent(siteId, req.roundId, 'advertise', req);
        return { ok: true, message: 'keys recorded' };
      }),

      secAggShareKeys: this.unary<SecAggShares, Ack>('secAggShareKeys', async (siteId, req) => {
        await this.events.secureEvent(siteId, req.roundId, 'share', req);
        return { ok: true, message: `${req.shares.length} share bundles recorded` };
      }),

      secAggReveal: this.unary<SecAggRevealedShares, Ack>('secAggReveal', async (siteId, req) => {
        await this.events.secureEvent(siteId, req.roundId, 'reveal', req);
        return { ok: true, message: `${req.shares.length} shares recorded` };
      }),

      downloadModel: (call: grpc.ServerWritableStream<DownloadRequest, BlobChunk>) => {
        // grpc-js sends a server stream's error status only when it is emitted as 'error' (its handler
        // ends the call with that status); destroy(e) would drop the status and leave the site waiting.
        void this.download(call).catch((e) => call.emit('error', toServiceError(e, 'DownloadModel')));
      },

      uploadUpdate: (call: grpc.ServerReadableStream<UploadMessage, UploadReceipt>, callback: grpc.sendUnaryData<UploadReceipt>) => {
        this.upload(call).then((r) => callback(null, r), (e) => callback(toServiceError(e, 'UploadUpdate')));
      },
    };
  }

  private async download(call: grpc.ServerWritableStream<DownloadRequest, BlobChunk>): Promise<void> {
    const bad = malformed(call.request, 'download');
    if (bad) throw bad;
    await this.caller(call, 'download');
    const { versionId, offset } = call.request;
    // From the model store's file, one chunk in memory at a time whatever the model's size.
    const { row, path, digests } = await this.models.file(versionId, DEFAULT_CHUNK_BYTES);
    const sizeBytes = Number(row.sizeBytes);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > sizeBytes) throw invalid(`offset ${offset} is outside 0..${sizeBytes}`);
    const model = { versionId: row.id, kind: row.kind, sha256: row.sha256, sizeBytes };
    await writeFlushed(call, { header: { format: 'safetensors', totalBytes: sizeBytes, sha256: row.sha256, chunkBytes: DEFAULT_CHUNK_BYTES, model } });
    const chunks = chunkFile(path, DEFAULT_CHUNK_BYTES, offset, digests);
    try {
      // One chunk at a time: read, sent and flushed within a slot of transferSlots.
      for (let more = true; more; ) {
        more = await this.transferSlots.run(async () => {
          const next = await chunks.next();
          if (next.done || call.cancelled) return false;
          this.metrics.bytesOut(next.value.data.length);
          await writeFlushed(call, { chunk: next.value });
          return true;
        }, SLOW_TRANSFER_MS);
      }
    } finally {
      await chunks.return(undefined); // closes the file when the download stopped early
    }
    if (!call.cancelled) call.end();
  }

  private async upload(call: grpc.ServerReadableStream<UploadMessage, UploadReceipt>): Promise<UploadReceipt> {
    const siteId = await this.caller(call, 'upload');
    // The upload's messages are read within a slot of transferSlots, held until the last one is read:
    // grpc-js reads a stream only when asked, so an upload waiting for its slot holds no more than
    // HTTP/2's narrow window, and one being read streams with the wide one (widenWhileReading);
    // checking and recording the update happen after the slot is given up.
    let allRead!: () => void;
    const reading = new Promise<void>((resolve) => (allRead = resolve));
    await new Promise<void>((entered) => {
      void this.transferSlots.run(async () => {
        entered();
        await reading;
      }, SLOW_TRANSFER_MS);
    });
    void reading.then(widenWhileReading(call).release);
    try {
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<UploadMessage>;
      const first = await messages.next();
      if (!first.done) {
        const bad = malformed(first.value, 'upload');
        if (bad) throw bad;
      }
      if (first.done || !first.value.header) throw serviceError(grpc.status.INVALID_ARGUMENT, 'the first message of an upload must carry the header');
      async function* chunks(): AsyncGenerator<Chunk> {
        try {
          for (let m = await messages.next(); !m.done; m = await messages.next()) {
            const bad = malformed(m.value, 'upload');
            if (bad) throw bad;
            if (!m.value.chunk) throw serviceError(grpc.status.INVALID_ARGUMENT, 'only the first message of an upload may carry a header');
            yield m.value.chunk;
          }
        } finally {
          allRead();
        }
      }
      return await this.uploads.receive(siteId, first.value.header, chunks());
    } finally {
      allRead();
    }
  }
}

/** The invitation token of an Enroll call (at most one, a short string), if any. */
function invitationTokenOf(metadata: grpc.Metadata): string | undefined {
  const values = metadata.get(INVITATION_METADATA_KEY);
  return values.length === 1 && typeof values[0] === 'string' && values[0].length <= 200 ? values[0] : undefined;
}

/**
 * Writes one message and waits until HTTP/2 has taken its bytes (or the call has ended): from then
 * on they are no longer held by this process. (Waiting for 'drain' only would let every download
 * queue its chunk in the call's buffer at once.)
 */
function writeFlushed<T>(call: grpc.ServerWritableStream<unknown, T>, message: T): Promise<void> {
  return new Promise((resolve, reject) => {
    if (call.cancelled) return resolve(); // grpc-js drops writes to a cancelled call without answering
    const settle = (e?: Error | null) => {
      call.off('cancelled', ended);
      call.off('close', ended);
      call.off('error', settle);
      if (e) reject(e);
      else resolve();
    };
    const ended = () => settle();
    call.once('cancelled', ended);
    call.once('close', ended);
    call.once('error', settle);
    call.write(message, settle);
  });
}
