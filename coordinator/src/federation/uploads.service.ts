import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { elementCount, SafetensorsError } from '@fedciss/ml';
import { secagg, TransferError, UploadState, type Chunk, type UploadHeader, type UploadReceipt, type UploadStatus } from '@fedciss/proto';
import type { SiteUpdate } from '../generated/prisma/client';
import { BLOB_STORE, CONFIG } from '../common/tokens';
import { conflict, DomainError, forbidden, invalid, notFound } from '../common/errors';
import { quote, truncateCodePoints } from '../common/text';
import { isUniqueViolation } from '../database/database-errors';
import type { CoordinatorConfig } from '../config/coordinator-config';
import type { BlobStore } from '../model-store/blob-store';
import { DEFAULT_VALIDATION_LIMITS, slicedModelReference, validateUpdateBySlices } from '../aggregation';
import { SafetensorsFileReader } from '../model-store/safetensors-file';
import { wholeModelRefusal } from '../models/whole-model-limit';
import type { ContentVerdict, UploadOutcome } from '../rounds';
import { ModelVersionsService } from '../models/model-versions.service';
import { dpNormLimits, type PrivacySettings } from '../privacy/privacy-settings';
import { indicatorMetric } from '../privacy/adaptive-clip.service';
import { replayCheckMetrics } from '../reports/replay-check-metrics';
import { maskedLayout } from '../privacy/secure-aggregation.service';
import { appendCheckpointed, openPartialUpload, removePartialUpload } from './partial-upload';
import { ConcurrencyLimit } from './concurrency-limit';
import { SiteEvents } from './site-events.service';
import { RoundsRepository, type RoundRecord } from './repositories/rounds.repository';
import { StepsRepository } from './repositories/steps.repository';
import { UpdatesRepository } from './repositories/updates.repository';
import { MetricsService } from '../operations/metrics.service';

const KEY = /^[A-Za-z0-9._:-]{8,128}$/;
const SHA = /^[0-9a-f]{64}$/;
/** Updates checked at once (see UploadsService.checks). */
const CONCURRENT_CHECKS = 2;
/** An update may be a little larger than the model it derives from (its header metadata differs). */
const UPLOAD_SLACK_BYTES = 64 * 1024;

const stateOf: Record<string, UploadState> = {
  receiving: UploadState.UPLOAD_STATE_PARTIAL,
  accepted: UploadState.UPLOAD_STATE_ACCEPTED,
  rejected: UploadState.UPLOAD_STATE_REJECTED,
};

/** The round's base model as validation reads it: its verified file, L2 norm and number of values. */
interface BaseReference {
  path: string;
  norm: number;
  values: number;
}

function receipt(u: SiteUpdate): UploadReceipt {
  return { updateId: u.id, state: stateOf[u.status], reason: u.rejectionReason ?? '', receivedBytes: Number(u.receivedBytes) };
}

/** The update already stored under a header's idempotency key, if the header is a retry of it. */
function sameUpdate(existing: SiteUpdate, siteId: string, h: UploadHeader): SiteUpdate {
  if (existing.siteId !== siteId) throw forbidden('this idempotency key belongs to another site');
  if (existing.roundId !== h.roundId || existing.sha256 !== h.sha256 || Number(existing.totalBytes) !== h.totalBytes) {
    throw conflict('idempotency key reused for a different update (round, size or hash differ)');
  }
  return existing;
}

/**
 * Receives site updates: resumable chunked uploads kept on disk, idempotent by key, verified chunk
 * by chunk and as a whole, then validated against the round's base model before they count. A
 * rejected update is recorded with its reason and the round goes on.
 */
@Injectable()
export class UploadsService {
  private readonly log = new Logger('Uploads');
  private readonly inFlight = new Set<string>();
  /**
   * At most this many updates are checked at once. Checking is CPU- and disk-bound; each check in
   * progress holds two slices (validateUpdateBySlices), whatever the model's size. (When checks
   * decoded whole updates, at 100 sites all checking at once the coordinator's peak RSS grew by
   * ~12 MB per site, bench:scale.)
   */
  private readonly checks = new ConcurrencyLimit(CONCURRENT_CHECKS);
  /** The base model of the round being uploaded to: its verified file and norm, computed once, not per upload. */
  private reference?: { versionId: string; value: Promise<BaseReference> };

  constructor(
    private readonly updates: UpdatesRepository,
    private readonly rounds: RoundsRepository,
    private readonly steps: StepsRepository,
    private readonly models: ModelVersionsService,
    private readonly events: SiteEvents,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    private readonly metrics: MetricsService,
  ) {}

  private partialPath(updateId: string): string {
    return join(this.config.dataDir, 'uploads', `${updateId}.part`);
  }

  async status(siteId: string, idempotencyKey: string): Promise<UploadStatus> {
    if (!KEY.test(idempotencyKey)) throw invalid('idempotency_key must be 8..128 characters of [A-Za-z0-9._:-]');
    const u = await this.updates.byKey(idempotencyKey);
    if (!u) return { state: UploadState.UPLOAD_STATE_UNSPECIFIED, receivedBytes: 0, reason: 'no upload with this key' };
    if (u.siteId !== siteId) throw forbidden('this idempotency key belongs to another site');
    return { state: stateOf[u.status], receivedBytes: Number(u.receivedBytes), reason: u.rejectionReason ?? '' };
  }

  /** Handles one upload stream: `header` first, then `chunks` in order. */
  async receive(siteId: string, header: UploadHeader, chunks: AsyncIterable<Chunk>): Promise<UploadReceipt> {
    const row = await this.begin(siteId, header);
    if (row.status !== 'receiving') return receipt(row); // a retry of a finished upload: same answer
    if (this.inFlight.has(row.id)) throw conflict(`upload ${row.id} is already being received on another connection`);
    this.inFlight.add(row.id);
    try {
      const partial = await openPartialUpload(this.partialPath(row.id), Number(row.totalBytes), Number(row.receivedBytes), row.sha256);
      try {
        if (header.resumeOffset !== partial.received) {
          throw new DomainError('invalid', `resume_offset ${header.resumeOffset} does not match the ${partial.received} bytes already held: resume at ${partial.received}`);
        }
        await appendCheckpointed(partial, chunks, (received) => this.updates.setReceived(row.id, BigInt(received)), (bytes) => this.metrics.bytesIn(bytes));
        if (!partial.complete) return { ...receipt(row), receivedBytes: partial.received };
        try {
          await partial.finish();
        } catch (e) {
          if (!(e instanceof TransferError)) throw e;
          // The bytes are wrong as a whole although every chunk checked out: start again from zero.
          await removePartialUpload(partial);
          await this.updates.setReceived(row.id, 0n);
          throw new TransferError(`${e.message}; send it again from offset 0`);
        }
        const settled = await this.settle(row, partial.path);
        await removePartialUpload(partial); // moved into the store when accepted; dropped otherwise
        return receipt(settled);
      } finally {
        await partial.close(); // an unfinished upload keeps its file, to be resumed
      }
    } finally {
      this.inFlight.delete(row.id);
    }
  }

  /** Checks the header and finds or creates the update row. */
  private async begin(siteId: string, h: UploadHeader): Promise<SiteUpdate> {
    if (!KEY.test(h.idempotencyKey)) throw invalid('idempotency_key must be 8..128 characters of [A-Za-z0-9._:-]');
    if (!SHA.test(h.sha256)) throw invalid('sha256 must be 64 lower-case hex digits');
    const existing = await this.updates.byKey(h.idempotencyKey);
    if (existing) return sameUpdate(existing, siteId, h);
    const round = await this.rounds.find(h.roundId);
    if (!round) throw notFound(`round ${quote(h.roundId)} does not exist`);
    if (round.kind !== h.kind) throw invalid(`round ${round.id} trains the ${round.kind}, not the ${h.kind ? quote(h.kind) : '(empty kind)'}`);
    if (round.baseVersionId !== h.baseVersionId) throw invalid(`round ${round.id} trains from ${round.baseVersionId}, not from ${quote(h.baseVersionId)}`);
    const base = await this.models.get(round.baseVersionId!);
    const maxBytes = Number(base.sizeBytes) + UPLOAD_SLACK_BYTES;
    if (!Number.isSafeInteger(h.totalBytes) || h.totalBytes <= 0 || h.totalBytes > maxBytes) {
      throw invalid(`total_bytes ${h.totalBytes} is outside 1..${maxBytes} (the base model is ${base.sizeBytes} bytes)`);
    }
    const s = h.samples;
    const real = s?.realImages ?? 0;
    const replay = s?.replayImages ?? 0;
    if (!Number.isInteger(real) || !Number.isInteger(replay) || real < 0 || replay < 0 || real + replay <= 0) {
      throw invalid('samples must count at least one real or replay image, and no negative counts');
    }
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(h.trainMetrics ?? {}).slice(0, 32)) if (Number.isFinite(v)) metrics[truncateCodePoints(k, 64)] = v;
    Object.assign(metrics, replayCheckMetrics(h.replayCheck));
    const accepted = await this.updates.acceptedOf(round.id, siteId);
    if (accepted) return accepted; // one counted update per site and round; a second key gets the first answer
    const refused = this.events.admit(round, siteId, h.idempotencyKey);
    if (refused) this.metrics.updateRejected(refused.code);
    const created = this.updates.create({
      id: `upd-${randomBytes(8).toString('hex')}`,
      roundId: round.id,
      siteId,
      idempotencyKey: h.idempotencyKey,
      status: refused ? 'rejected' : 'receiving',
      rejectionReason: refused?.reason ?? null,
      sha256: h.sha256,
      totalBytes: BigInt(h.totalBytes),
      realImages: real,
      replayImages: replay,
      metrics: indicatorMetric(metrics, round, h.unclippedIndicator),
    });
    // The same key on two connections at once (a site retrying an upload that was slow to start):
    // the first row wins and the second call is answered as a retry.
    return created.catch(async (e: unknown) => {
      const first = isUniqueViolation(e) ? await this.updates.byKey(h.idempotencyKey) : null;
      if (!first) throw e;
      return sameUpdate(first, siteId, h);
    });
  }

  private referenceFor(versionId: string): Promise<BaseReference> {
    if (this.reference?.versionId !== versionId) {
      const value = this.baseReference(versionId);
      this.reference = { versionId, value };
      value.catch(() => this.reference?.value === value && (this.reference = undefined)); // tried again by the next check
    }
    return this.reference.value;
  }

  private async baseReference(versionId: string): Promise<BaseReference> {
    const { path } = await this.models.localFile(versionId);
    const base = await SafetensorsFileReader.open(path);
    try {
      const { norm } = await slicedModelReference(base);
      return { path, norm, values: [...base.shapes.values()].reduce((n, shape) => n + elementCount(shape), 0) };
    } finally {
      await base.close();
    }
  }

  private async privacyOf(stepIndex: number): Promise<PrivacySettings | undefined> {
    return (await this.steps.find(stepIndex))?.config.training.privacy;
  }

  /**
   * A plain update: validated against the base model (names, shapes, values, norm), both read from
   * their files by slices, so an update of any size is checked in a few MiB.
   */
  private async plainVerdict(baseVersionId: string, row: SiteUpdate, path: string, privacy: PrivacySettings | undefined, clipNorm: number | undefined): Promise<ContentVerdict> {
    const readers: SafetensorsFileReader[] = [];
    try {
      const update = await SafetensorsFileReader.open(path);
      readers.push(update);
      const reference = await this.referenceFor(baseVersionId);
      const base = await SafetensorsFileReader.open(reference.path);
      readers.push(base);
      // Under differential privacy the norm bound is the clip bound plus the noise: it catches a site that did not clip.
      const limits = { ...DEFAULT_VALIDATION_LIMITS, maxDeltaNorm: this.config.training.maxUpdateNorm, ...dpNormLimits(privacy, reference.values, clipNorm) };
      const v = await validateUpdateBySlices({ tensors: base, norm: reference.norm }, { sampleCount: row.realImages + row.replayImages, kind: 'weights', tensors: update }, limits);
      return v.ok ? { ok: true } : { ok: false, reason: v.rejection.reason };
    } catch (e) {
      if (e instanceof SafetensorsError) return { ok: false, reason: `not a valid safetensors file: ${e.message}` };
      // Reading and checking are pure functions of the site's bytes: whatever they throw was
      // provoked by those bytes. The update is settled as rejected (a retry with the same key gets
      // the same answer at once instead of failing again with its bytes held), and the bug is logged.
      this.log.error(`checking update ${row.id} from ${row.siteId} failed: ${(e as Error)?.stack ?? e}`);
      return { ok: false, reason: 'the coordinator failed while checking this update (a bug on its side, logged there); it was not counted' };
    } finally {
      await Promise.all(readers.map((r) => r.close()));
    }
  }

  /** A masked update (secure aggregation): only its length can be checked; its content is indistinguishable from noise. */
  private async maskedVerdict(round: RoundRecord, row: SiteUpdate, path: string, privacy: PrivacySettings | undefined): Promise<ContentVerdict> {
    // Unmasking holds the masked updates whole: refused here, before they are stored, for a model too large for that.
    const tooLarge = wholeModelRefusal(Number(row.totalBytes), ['secure aggregation']);
    if (tooLarge) return { ok: false, reason: tooLarge };
    try {
      secagg.decodeMasked(await readFile(path), maskedLayout(round, privacy, (await this.referenceFor(round.baseVersionId!)).values).words);
      return { ok: true };
    } catch (e) {
      if (!(e instanceof secagg.SecAggError)) throw e;
      return { ok: false, reason: e.message };
    }
  }

  /**
   * Decodes and validates a complete update, stores it when it is sound, and records the verdict in
   * the round (which may refuse it still, e.g. as late) together with the update's row.
   */
  private async settle(row: SiteUpdate, path: string): Promise<SiteUpdate> {
    const round = await this.rounds.get(row.roundId);
    const { verdict, storageUri } = await this.checks.run(() => this.check(round, row, path));
    let settled: SiteUpdate | undefined;
    let decided: UploadOutcome | undefined;
    await this.events.recordUpload(round.id, row.siteId, row.idempotencyKey, verdict, async (tx, outcome) => {
      decided = outcome;
      const accepted = outcome.status === 'accepted';
      settled = await this.updates.settle(tx, row.id, {
        status: accepted ? 'accepted' : 'rejected',
        rejectionReason: accepted ? null : outcome.reason,
        storageUri: accepted ? storageUri : null,
        receivedBytes: row.totalBytes,
      });
    });
    if (decided?.status === 'accepted') this.metrics.updateAccepted();
    else if (decided) this.metrics.updateRejected(decided.code);
    if (settled!.status === 'rejected') this.log.warn(`update ${row.id} from ${row.siteId} rejected: ${settled!.rejectionReason}`);
    return settled!;
  }

  /**
   * Validates an update from its file, and stores it when it is sound. Only the verdict leaves:
   * nothing of the update is held once this returns, before the verdict waits its turn in the
   * round's queue.
   */
  private async check(round: RoundRecord, row: SiteUpdate, path: string): Promise<{ verdict: ContentVerdict; storageUri: string | null }> {
    const privacy = await this.privacyOf(round.stepIndex);
    const verdict = round.state.secureAggregation ? await this.maskedVerdict(round, row, path, privacy) : await this.plainVerdict(round.baseVersionId!, row, path, privacy, round.config.clipping?.clipNorm);
    // Stored before it is recorded as accepted, so an accepted update always has its bytes. Not
    // hashed again: the upload's assembler checked these bytes against row.sha256 as it wrote them.
    const storageUri = verdict.ok ? (await this.store.putHashedFile(path, row.sha256)).uri : null;
    return { verdict, storageUri };
  }
}
