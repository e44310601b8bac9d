import { Inject, Injectable, Logger } from '@nestjs/common';
import type { SecAggAdvertisement, SecAggRevealedShares, SecAggShares } from '@fedciss/proto';
import type { Tx } from '../database/database.service';
import { AuditService } from '../audit/audit.service';
import { CLOCK, CONFIG, type Clock } from '../common/tokens';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { conflict, invalid, notFound } from '../common/errors';
import { advance, advanceSecAgg, checkUpload, recordHeartbeat, recordSecAgg, recordUpload, recordWithheld, type ContentVerdict, type SecAggEvent, type UploadOutcome } from '../rounds';
import { SecureAggregationService } from '../privacy/secure-aggregation.service';
import { ProgressHub } from './progress-hub';
import { RoundDecisions } from './round-decisions.service';
import { SerialQueue } from '../common/serial-queue';
import { WriteBatch } from '../common/write-batch';
import { RoundsRepository, type RoundRecord } from './repositories/rounds.repository';
import { StepsRepository } from './repositories/steps.repository';

/**
 * What sites tell the coordinator about the open round — heartbeats, uploads, withheld updates,
 * secure-aggregation messages, evaluation reports — fed to the round state machine (rounds/) one
 * at a time through the SerialQueue; RoundDecisions persists what it decides.
 */
@Injectable()
export class SiteEvents {
  private readonly log = new Logger('Rounds');
  /** When each site's heartbeat was last written into the open round's state (this process's clock). */
  private readonly beatsWritten = new Map<string, number>();
  /** Heartbeats waiting for the next write of the round's state, which runs in the serial queue. */
  private readonly beats = new WriteBatch<string, number>((beats) => this.writeBeats(beats), (run) => this.queue.run(run));

  constructor(
    private readonly queue: SerialQueue,
    private readonly steps: StepsRepository,
    private readonly rounds: RoundsRepository,
    private readonly decisions: RoundDecisions,
    private readonly audit: AuditService,
    private readonly progress: ProgressHub,
    private readonly secure: SecureAggregationService,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  /**
   * A heartbeat is written into the round's state at most every quarter of the heartbeat timeout
   * per site: the recorded time of a live site then never ages past the timeout, and N sites no
   * longer queue N writes of the whole state (N sites each) per interval. Measured with
   * bench:scale: at 100 sites, writing every heartbeat kept the queue so busy that uploads waited
   * behind it for minutes. Heartbeats arriving while a write waits its turn in the queue join that
   * write (one write of the state per turn, whatever the number of sites: at 500 sites the quarter
   * timeout alone still meant ~70 writes of the whole state a second).
   */
  heartbeat(siteId: string): Promise<void> {
    const now = this.clock.now();
    const written = this.beatsWritten.get(siteId);
    if (written !== undefined && now - written < (this.config.rounds.heartbeatTimeoutSeconds * 1000) / 4) return Promise.resolve();
    return this.beats.add(siteId, now);
  }

  private async writeBeats(beats: Array<[string, number]>): Promise<void> {
    const round = await this.openRound();
    if (!round) return;
    let next = round.state;
    for (const [site] of beats) next = recordHeartbeat(next, site, this.clock.now());
    if (next !== round.state) await this.rounds.saveState(round.id, next);
    for (const [site, at] of beats) this.beatsWritten.set(site, at);
  }

  /** Whether a new upload to this round may proceed; a rejection (with its reason) if not. */
  admit(round: RoundRecord, siteId: string, key: string): Extract<UploadOutcome, { status: 'rejected' }> | null {
    const a = checkUpload(round.state, siteId, key, this.clock.now());
    if (a.action === 'reject') return a.outcome;
    if (a.action === 'replay' && a.outcome.status === 'rejected') return a.outcome;
    return null;
  }

  /**
   * Records a validated (or refused) upload in the round. `settle` writes the update's own row in
   * the same transaction as the round's new state, so the two never disagree, and before any
   * aggregation the upload triggers reads the accepted updates.
   */
  recordUpload(roundId: string, siteId: string, key: string, verdict: ContentVerdict, settle: (tx: Tx, outcome: UploadOutcome) => Promise<void>): Promise<UploadOutcome> {
    return this.queue.run(async () => {
      const round = await this.rounds.get(roundId);
      const result = recordUpload(round.state, siteId, key, verdict, this.clock.now());
      await this.decisions.persist(round, result.state, result.decision, (tx) => settle(tx, result.outcome));
      return result.outcome;
    });
  }

  /**
   * A site kept its trained update back (the memorisation gate): recorded in the round (which stops
   * waiting for it) and in the audit log, and shown in the console. False when the round was not
   * waiting for this site (closed, not invited, already counted, reported before).
   */
  recordWithheld(siteId: string, roundId: string, kind: string, reason: string, metrics: Record<string, number>): Promise<boolean> {
    return this.queue.run(async () => {
      const round = await this.rounds.find(roundId);
      if (!round) throw notFound(`round '${roundId}' does not exist`);
      if (round.kind !== kind) throw invalid(`round ${round.id} trains the ${round.kind}, not the ${kind || '(empty kind)'}`);
      const t = recordWithheld(round.state, siteId, reason, this.clock.now());
      if (!t.recorded) return false;
      await this.decisions.persist(round, t.state, t.decision, (tx) => this.audit.record(`site:${siteId}`, 'update.withheld', round.id, { kind, reason, metrics }, tx));
      this.log.warn(`site ${siteId} withheld its ${kind} update for round ${round.id}: ${reason}`);
      this.progress.publish({ type: 'withheld', siteId, roundId: round.id, kind, reason });
      return true;
    });
  }

  /**
   * A secure-aggregation message from a site (its keys, its share bundles, its revealed shares):
   * checked, recorded in the round (which may move to its next stage) with the message stored in
   * the same transaction; a reveal may complete the unmasking.
   */
  secureEvent(siteId: string, roundId: string, event: SecAggEvent, payload: SecAggAdvertisement | SecAggShares | SecAggRevealedShares): Promise<void> {
    return this.queue.run(async () => {
      const round = await this.rounds.find(roundId);
      if (!round) throw notFound(`round '${roundId}' does not exist`);
      this.secure.check(round.state, siteId, event, payload);
      const now = this.clock.now();
      const r = recordSecAgg(round.state, siteId, event, now);
      if (!r.recorded) {
        if (r.duplicate) return; // a retried call: its first delivery was recorded
        throw conflict(r.reason);
      }
      const t = advance(advanceSecAgg(r.state, now), now);
      await this.decisions.persist(round, t.state, t.decision, (tx) => this.secure.save(tx, round.id, siteId, event, payload));
      if (event === 'reveal' && t.state.phase === 'aggregating') {
        await this.decisions.carryOut({ ...round, status: 'aggregating', state: t.state }, { action: 'aggregate', contributors: t.state.contributors, dropped: [], reason: t.state.reason ?? 'unmasked' });
      }
    });
  }

  /** An evaluation report counts as the site's contribution to an evaluation round of that model. */
  recordEvaluation(siteId: string, modelVersionId: string): Promise<void> {
    return this.queue.run(async () => {
      const round = await this.openRound();
      if (!round || round.kind !== 'evaluate' || round.baseVersionId !== modelVersionId) return;
      const result = recordUpload(round.state, siteId, `eval:${round.id}:${siteId}`, { ok: true }, this.clock.now());
      await this.decisions.persist(round, result.state, result.decision);
    });
  }

  /** The active step's open round, if any. */
  private async openRound(): Promise<RoundRecord | null> {
    const step = await this.steps.active();
    return step && this.rounds.openOf(step.index);
  }
}
