import { Inject, Injectable, Logger } from '@nestjs/common';
import { DatabaseService, type Tx } from '../database/database.service';
import { transientDatabaseError } from '../database/database-errors';
import { AuditService } from '../audit/audit.service';
import { CLOCK, type Clock } from '../common/tokens';
import { ModelVersionsService, type ModelKind } from '../models/model-versions.service';
import { completeRound, failRound, maxEndAt, type RoundDecision, type RoundState } from '../rounds';
import { MetricsService } from '../operations/metrics.service';
import { AggregationStates } from './aggregation-states';
import { GlobalModels } from './global-models';
import { ProgressHub } from './progress-hub';
import { RoundAggregator, versionShape } from './round-aggregator.service';
import { aggregatedClipping } from '../privacy/adaptive-clip.service';
import { RoundOpener } from './round-opener.service';
import { isRoundEvaluation, RoundsRepository, type RoundRecord } from './repositories/rounds.repository';
import { StepsRepository, type StepRecord } from './repositories/steps.repository';

type Aggregate = Extract<RoundDecision, { action: 'aggregate' }>;

/**
 * Persists each new state of a round and carries out the round state machine's decision: go on,
 * fail (and open the next round), or aggregate (a new immutable model version, or the step's end
 * after its evaluation round; a per-round evaluation, `evaluateEveryRound`, only completes). A round's state is written in the same transaction as what it caused,
 * so a restart resumes exactly where the database says the federation is. Called inside the
 * SerialQueue only.
 */
@Injectable()
export class RoundDecisions {
  private readonly log = new Logger('Rounds');

  constructor(
    private readonly db: DatabaseService,
    private readonly rounds: RoundsRepository,
    private readonly steps: StepsRepository,
    private readonly audit: AuditService,
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    private readonly aggregationStates: AggregationStates,
    private readonly aggregator: RoundAggregator,
    private readonly opener: RoundOpener,
    private readonly progress: ProgressHub,
    private readonly metrics: MetricsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** Persists a round's new state (with `alongside` in the same transaction), then carries out the machine's decision. */
  async persist(round: RoundRecord, state: RoundState, decision: RoundDecision, alongside?: (tx: Tx) => Promise<void>): Promise<void> {
    if (decision.action === 'fail') {
      await this.db.roundTransaction(async (tx) => {
        await alongside?.(tx);
        await this.rounds.fail(tx, round.id, state, decision.reason, new Date(this.clock.now()));
        await this.audit.record('system', 'round.fail', round.id, { reason: decision.reason }, tx);
      });
      this.log.warn(`round ${round.id} failed: ${decision.reason}`);
      this.progress.publish({ type: 'round', roundId: round.id, status: 'failed', reason: decision.reason });
      await this.opener.openNext(round.stepIndex);
      return;
    }
    await this.db.roundTransaction(async (tx) => {
      await alongside?.(tx);
      await this.rounds.saveState(round.id, state, state.phase === 'aggregating' ? 'aggregating' : round.status, tx);
    });
    if (decision.action === 'aggregate') await this.carryOut({ ...round, status: 'aggregating', state }, decision);
  }

  /** Aggregates a round whose collection closed (or completes the step after its evaluation round);
   * a failure fails the round, but for the database out of reach before the round's maximum duration. */
  async carryOut(round: RoundRecord, decision: Aggregate): Promise<void> {
    const step = await this.steps.byIndex(round.stepIndex);
    try {
      if (round.kind === 'evaluate' && !isRoundEvaluation(round)) {
        await this.completeStep(round, step, decision);
        return;
      }
      if (round.kind === 'evaluate') {
        // One segmenter round's aggregate scored (evaluateEveryRound): training goes on.
        await this.db.roundTransaction((tx) => this.complete(tx, round, round.baseVersionId!, decision.reason));
        this.completed(round, decision.reason);
        await this.opener.openNext(step.index);
        return;
      }
      const kind: ModelKind = round.kind;
      const timed = this.metrics.aggregationTimer(kind);
      const aggregated = await this.aggregator.aggregate(round, kind, step, decision.contributors);
      if (!aggregated) {
        // A secure round waiting for shares to unmask its sum; not for ever.
        const state = round.state;
        if (this.clock.now() >= maxEndAt(state)) throw new Error(`unmasking did not complete within the round's maximum duration: ${state.secureAggregation?.revealed.length ?? 0} of ${state.contributors.length} contributors revealed their shares`);
        return;
      }
      timed();
      const { content, serverState, note } = aggregated;
      const cfg = step.config;
      const fields = { ...versionShape(kind, cfg), parentId: round.baseVersionId, stepIndex: step.index, roundId: round.id, note };
      const blob = await this.models.storeContent({ ...content, ...fields }); // outside the transaction: a large model takes seconds to hash
      await this.db.roundTransaction(async (tx) => {
        const version = await this.models.record(blob, fields, tx);
        await this.globals.set(kind, version.id, tx);
        if (serverState) await this.aggregationStates.save(tx, step.index, kind, serverState);
        const clipping = aggregatedClipping(round, cfg.training.privacy, aggregated.unclippedCount);
        if (clipping) await this.rounds.saveConfig(tx, round.id, { ...round.config, clipping });
        await this.complete(tx, round, version.id, decision.reason);
      });
      this.completed(round, decision.reason);
      this.log.log(`round ${round.id} completed with ${decision.contributors.length} updates (${decision.reason})`);
    } catch (e) {
      // The round's aggregating state is persisted and the clock carries an aggregating round out
      // again at its next tick: a database out of reach for a moment need not cost the round its
      // updates. Up to the round's maximum duration, so that one that never comes back still fails.
      const passing = transientDatabaseError(e);
      if (passing && this.clock.now() < maxEndAt(round.state)) {
        this.log.warn(`aggregation of round ${round.id} met the database out of reach, the next tick tries again: ${passing.message}`);
        return;
      }
      this.log.error(`aggregation of round ${round.id} failed: ${(e as Error).stack ?? e}`);
      const failed = failRound(round.state, `aggregation failed: ${(e as Error).message}`, this.clock.now());
      await this.persist(round, failed, { action: 'fail', reason: failed.reason! });
      return;
    }
    await this.opener.openNext(step.index);
  }

  /** The step's evaluation round is in: the round and the step complete together. */
  private async completeStep(round: RoundRecord, step: StepRecord, decision: Aggregate): Promise<void> {
    const resultId = round.baseVersionId!;
    await this.db.roundTransaction(async (tx) => {
      await this.complete(tx, round, resultId, decision.reason);
      await this.steps.setStatus(tx, step.index, 'completed', new Date(this.clock.now()));
      await this.audit.record('system', 'step.complete', `step ${step.index}`, { model: resultId }, tx);
    });
    this.completed(round, decision.reason);
    this.progress.publish({ type: 'step', step: step.index, status: 'completed' });
    this.log.log(`step ${step.index} completed`);
  }

  private async complete(tx: Tx, round: RoundRecord, resultId: string, reason: string): Promise<void> {
    const done = completeRound(round.state, resultId, this.clock.now());
    await this.rounds.complete(tx, round.id, done, reason, round.kind === 'evaluate' ? null : resultId, new Date(this.clock.now()));
    await this.audit.record('system', 'round.complete', round.id, { result: resultId, contributors: round.state.contributors, reason }, tx);
  }

  /** Said once the round's completion is committed (its transaction may run more than once). */
  private completed(round: RoundRecord, reason: string): void {
    this.progress.publish({ type: 'round', roundId: round.id, status: 'completed', reason });
  }
}
