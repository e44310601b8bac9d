import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { decodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { TaskKind, type ModelRef, type SecAggAdvertisement, type SecAggRevealedShares, type SecAggShares, type SecureAggregation, type Task } from '@fedciss/proto';
import type { Prisma, Round, Step } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { AuditService } from '../audit/audit.service';
import { BLOB_STORE, CLOCK, CONFIG, MODEL_FACTORY, type Clock } from '../common/tokens';
import { conflict, DomainError, invalid, notFound } from '../common/errors';
import type { CoordinatorConfig } from '../config/coordinator-config';
import type { BlobStore } from '../model-store/blob-store';
import { DEFAULT_SERVER_DISTILLATION, type ModelFactory } from '../models/model-factory';
import { ModelVersionsService, type ModelKind } from '../models/model-versions.service';
import { SitesService } from '../sites/sites.service';
import { createStrategy, decodeServerState, DEFAULT_VALIDATION_LIMITS, encodeServerState, InvalidAggregationOptionsError, modelReference, validateUpdate, type AggregationStrategy, type ServerState } from '../aggregation';
import {
  advance, advanceSecAgg, checkUpload, completeRound, coordinatorRestarted, deadlineAt, failRound, maxEndAt, openRound, recordHeartbeat, recordSecAgg, recordUpload, recordWithheld, secureRound, startCollecting,
  type ContentVerdict, type RoundDecision, type RoundState, type SecAggEvent, type UploadOutcome,
} from '../rounds';
import { PrivacyLedger } from '../privacy/privacy-ledger.service';
import { SecureAggregationService } from '../privacy/secure-aggregation.service';
import { siteDifferentialPrivacy } from '../privacy/privacy-settings';
import { GlobalModels } from './global-models';
import { ProgressHub } from './progress-hub';
import type { StepConfig } from './steps.service';
import { MetricsService } from '../operations/metrics.service';

type RoundKind = 'segmenter' | 'generator' | 'evaluate';
const TX = { timeout: 120_000, maxWait: 30_000 };

/**
 * Runs the rounds of the active step: opens them, feeds the round state machine (rounds/) with
 * heartbeats, uploads, evaluation reports and the clock, and carries out its decisions: aggregate
 * (then server-side distillation, then a new immutable model version) or fail. Every change of a
 * round's state is persisted in the same transaction as what it caused, and all of them run one at
 * a time (this process is the only coordinator of its database), so a restart resumes exactly where
 * the database says the federation is.
 */
@Injectable()
export class RoundsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Rounds');
  /** Each step's aggregation strategy, built once from the step's frozen settings (not on every site poll). */
  private readonly strategies = new Map<number, AggregationStrategy>();
  private queue: Promise<unknown> = Promise.resolve();
  private timer?: NodeJS.Timeout;
  /** True until this process's first tick: see coordinatorRestarted. */
  private firstTick = true;
  private tickQueued = false;

  constructor(
    private readonly db: DatabaseService,
    private readonly audit: AuditService,
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    private readonly sites: SitesService,
    private readonly progress: ProgressHub,
    private readonly privacy: PrivacyLedger,
    private readonly secure: SecureAggregationService,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
    @Inject(MODEL_FACTORY) private readonly factory: ModelFactory,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: MetricsService,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.scheduleTick(), this.config.tickMs);
    this.scheduleTick();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.queue.catch(() => undefined);
  }

  /** Runs `fn` after every state change queued before it (one at a time). */
  serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private scheduleTick(): void {
    if (this.tickQueued) return;
    this.tickQueued = true;
    void this.serialized(async () => {
      this.tickQueued = false;
      await this.tickLocked();
    }).catch((e) => this.log.error(`round tick failed: ${(e as Error).stack ?? e}`));
  }

  // ---- queries --------------------------------------------------------------------------------

  private async activeStep(): Promise<Step | null> {
    return this.db.prisma.step.findFirst({ where: { status: { in: ['training', 'evaluating'] } }, orderBy: { index: 'desc' } });
  }

  private async openRoundOf(step: number): Promise<Round | null> {
    return this.db.prisma.round.findFirst({ where: { stepIndex: step, status: { in: ['collecting', 'aggregating'] } }, orderBy: { openedAt: 'desc' } });
  }

  private async ref(versionId: string | null | undefined): Promise<ModelRef | undefined> {
    if (!versionId) return undefined;
    const v = await this.models.get(versionId);
    return { versionId: v.id, kind: v.kind, sha256: v.sha256, sizeBytes: Number(v.sizeBytes) };
  }

  /** What the site should do now. */
  async taskFor(siteId: string): Promise<Task> {
    const wait = (message: string, step = 0): Task => ({
      kind: TaskKind.TASK_KIND_WAIT, step, roundId: '', roundIndex: 0, roster: [], newClassIds: [], globalModel: undefined, teacherModel: undefined,
      generator: undefined, hyperParameters: undefined, deadlineMs: 0, retryAfterMs: 2000, message, crossSiteModels: [], secureAggregation: undefined,
    });
    const step = await this.activeStep();
    if (!step) {
      const last = await this.db.prisma.step.findFirst({ orderBy: { index: 'desc' } });
      return { ...wait(last ? `step ${last.index} is complete; waiting for an administrator to add classes` : 'no step yet; waiting for an administrator to add classes', last?.index ?? 0), kind: TaskKind.TASK_KIND_DONE, retryAfterMs: 5000 };
    }
    const round = await this.openRoundOf(step.index);
    const state = round?.state as unknown as RoundState | undefined;
    // A secure round still needs its contributors after collection closed: to unmask the sum.
    const unmasking = round?.status === 'aggregating' && state?.secureAggregation?.stage === 'unmask';
    if (!round || !state || (round.status !== 'collecting' && !unmasking)) return wait(`step ${step.index}: the next round is being prepared`, step.index);
    if (!state.sites[siteId]) return wait(`round ${round.id} opened before this site was active; it joins the next round`, step.index);
    const done = Object.values(state.uploads).some((u) => u.siteId === siteId && u.outcome.status === 'accepted');
    if (done && !unmasking) return wait(`round ${round.id}: this site's contribution is in; waiting for the others`, step.index);
    if (state.withheld?.[siteId]) return wait(`round ${round.id}: this site withheld its update; waiting for the next round`, step.index);
    const cfg = step.config as unknown as StepConfig;
    let secure: SecureAggregation | undefined;
    if (state.secureAggregation) {
      const s = await this.secure.taskFor(round, state, siteId, cfg.training.privacy);
      if (typeof s === 'string') return wait(`round ${round.id}: ${s}`, step.index);
      secure = s;
    }
    const roster = await this.db.prisma.rosterClass.findMany({ where: { stepAdded: { lte: step.index } }, orderBy: { id: 'asc' } });
    const t = cfg.training;
    const strategy = this.strategyOf(step.index, cfg);
    const kind = round.kind as RoundKind;
    return {
      kind: kind === 'segmenter' ? TaskKind.TASK_KIND_TRAIN_SEGMENTER : kind === 'generator' ? TaskKind.TASK_KIND_TRAIN_GENERATOR : TaskKind.TASK_KIND_EVALUATE,
      step: step.index,
      roundId: round.id,
      roundIndex: round.index,
      roster: roster.map((c) => ({ id: c.id, name: c.name, color: c.color, stepAdded: c.stepAdded, archived: c.archived })),
      newClassIds: cfg.newClassIds,
      globalModel: await this.ref(round.baseVersionId),
      teacherModel: await this.ref(step.teacherVersionId),
      generator: await this.ref(await this.globals.current('generator')),
      hyperParameters: {
        localEpochs: kind === 'generator' ? t.generatorTraining.epochs : t.localEpochs,
        batchSize: kind === 'generator' ? t.generatorTraining.batchSize : t.batchSize,
        learningRate: kind === 'generator' ? t.generatorTraining.learningRate : t.learningRate,
        fedproxMu: strategy.siteConfig().proximalMu,
        // Informational: the side of the images the model takes (the architecture travels in modelConfigJson).
        imageSize: Number(kind === 'generator' ? cfg.generator.imageSize : (cfg.segmenter.inputSize as number[] | undefined)?.[0]) || 0,
        replayImages: step.index > 0 ? t.replayImages : 0,
        pseudoLabelThreshold: t.pseudoLabelThreshold,
        lossWeights: t.lossWeights,
        modelConfigJson: JSON.stringify(kind === 'generator' ? cfg.generator : cfg.segmenter),
        generatorSeconds: kind === 'generator' ? t.generatorTraining.seconds ?? 0 : 0,
        replayFidelityThreshold: t.replayFidelityThreshold ?? 0,
        differentialPrivacy: kind === 'evaluate' ? undefined : siteDifferentialPrivacy(t.privacy),
        roundsInStep: kind === 'segmenter' ? cfg.segmenterRounds : 0,
      },
      deadlineMs: deadlineAt(state),
      retryAfterMs: 0,
      message: `step ${step.index}, ${kind} round ${round.index}`,
      crossSiteModels: kind === 'evaluate' ? await Promise.all(Object.values(crossSiteModels(round)).map(async (id) => (await this.ref(id))!)) : [],
      secureAggregation: secure,
    };
  }

  // ---- events from sites ----------------------------------------------------------------------

  heartbeat(siteId: string): Promise<void> {
    return this.serialized(async () => {
      const step = await this.activeStep();
      const round = step && (await this.openRoundOf(step.index));
      if (!round) return;
      const state = round.state as unknown as RoundState;
      const next = recordHeartbeat(state, siteId, this.clock.now());
      if (next !== state) await this.db.prisma.round.update({ where: { id: round.id }, data: { state: next as unknown as Prisma.InputJsonValue } });
    });
  }

  /** Whether a new upload to this round may proceed; a rejection (with its reason) if not. */
  async admit(round: Round, siteId: string, key: string): Promise<Extract<UploadOutcome, { status: 'rejected' }> | null> {
    const a = checkUpload(round.state as unknown as RoundState, siteId, key, this.clock.now());
    if (a.action === 'reject') return a.outcome;
    if (a.action === 'replay' && a.outcome.status === 'rejected') return a.outcome;
    return null;
  }

  /**
   * Records a validated (or refused) upload in the round. `settle` writes the update's own row in
   * the same transaction as the round's new state, so the two never disagree, and before any
   * aggregation the upload triggers reads the accepted updates.
   */
  recordUpload(
    roundId: string,
    siteId: string,
    key: string,
    verdict: ContentVerdict,
    settle: (tx: Prisma.TransactionClient, outcome: UploadOutcome) => Promise<void>,
  ): Promise<UploadOutcome> {
    return this.serialized(async () => {
      const round = await this.db.prisma.round.findUniqueOrThrow({ where: { id: roundId } });
      const result = recordUpload(round.state as unknown as RoundState, siteId, key, verdict, this.clock.now());
      await this.persist(round, result.state, result.decision, (tx) => settle(tx, result.outcome));
      return result.outcome;
    });
  }

  /**
   * A site kept its trained update back (the memorisation gate): recorded in the round (which stops
   * waiting for it) and in the audit log, and shown in the console. False when the round was not
   * waiting for this site (closed, not invited, already counted, reported before).
   */
  recordWithheld(siteId: string, roundId: string, kind: string, reason: string, metrics: Record<string, number>): Promise<boolean> {
    return this.serialized(async () => {
      const round = await this.db.prisma.round.findUnique({ where: { id: roundId } });
      if (!round) throw notFound(`round '${roundId}' does not exist`);
      if (round.kind !== kind) throw invalid(`round ${round.id} trains the ${round.kind}, not the ${kind || '(empty kind)'}`);
      const t = recordWithheld(round.state as unknown as RoundState, siteId, reason, this.clock.now());
      if (!t.recorded) return false;
      await this.persist(round, t.state, t.decision, (tx) => this.audit.record(`site:${siteId}`, 'update.withheld', round.id, { kind, reason, metrics }, tx));
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
    return this.serialized(async () => {
      const round = await this.db.prisma.round.findUnique({ where: { id: roundId } });
      if (!round) throw notFound(`round '${roundId}' does not exist`);
      const state = round.state as unknown as RoundState;
      this.secure.check(state, siteId, event, payload);
      const now = this.clock.now();
      const r = recordSecAgg(state, siteId, event, now);
      if (!r.recorded) {
        if (r.duplicate) return; // a retried call: its first delivery was recorded
        throw conflict(r.reason);
      }
      const t = advance(advanceSecAgg(r.state, now), now);
      await this.persist(round, t.state, t.decision, (tx) => this.secure.save(tx, round.id, siteId, event, payload));
      if (event === 'reveal' && t.state.phase === 'aggregating') {
        await this.carryOut({ ...round, status: 'aggregating' }, t.state, { action: 'aggregate', contributors: t.state.contributors, dropped: [], reason: t.state.reason ?? 'unmasked' });
      }
    });
  }

  /** An evaluation report counts as the site's contribution to an evaluation round of that model. */
  recordEvaluation(siteId: string, modelVersionId: string): Promise<void> {
    return this.serialized(async () => {
      const step = await this.activeStep();
      const round = step && (await this.openRoundOf(step.index));
      if (!round || round.kind !== 'evaluate' || round.baseVersionId !== modelVersionId) return;
      const result = recordUpload(round.state as unknown as RoundState, siteId, `eval:${round.id}:${siteId}`, { ok: true }, this.clock.now());
      await this.persist(round, result.state, result.decision);
    });
  }

  // ---- the clock ------------------------------------------------------------------------------

  private async tickLocked(): Promise<void> {
    const firstTick = this.firstTick;
    this.firstTick = false;
    const step = await this.activeStep();
    if (!step) return;
    const round = await this.openRoundOf(step.index);
    if (!round) {
      await this.openNextRoundLocked(step.index);
      return;
    }
    const persisted = round.state as unknown as RoundState;
    const state = firstTick ? coordinatorRestarted(persisted, this.clock.now()) : persisted;
    if (state.phase === 'aggregating') {
      // A restart during aggregation: the decision was persisted, the work was not; do it again.
      await this.carryOut(round, state, { action: 'aggregate', contributors: state.contributors, dropped: [], reason: state.reason ?? 'resumed after restart' });
      return;
    }
    const t = advance(advanceSecAgg(state, this.clock.now()), this.clock.now());
    if (t.state !== persisted) await this.persist(round, t.state, t.decision);
  }

  /** Persists a round's new state (with `alongside` in the same transaction), then carries out the machine's decision. */
  private async persist(round: Round, state: RoundState, decision: RoundDecision, alongside?: (tx: Prisma.TransactionClient) => Promise<void>): Promise<void> {
    if (decision.action === 'fail') {
      await this.db.prisma.$transaction(async (tx) => {
        await alongside?.(tx);
        await tx.round.update({ where: { id: round.id }, data: { state: state as unknown as Prisma.InputJsonValue, status: 'failed', reason: decision.reason, closedAt: new Date(this.clock.now()) } });
        await this.audit.record('system', 'round.fail', round.id, { reason: decision.reason }, tx);
      });
      this.log.warn(`round ${round.id} failed: ${decision.reason}`);
      this.progress.publish({ type: 'round', roundId: round.id, status: 'failed', reason: decision.reason });
      await this.openNextRoundLocked(round.stepIndex);
      return;
    }
    await this.db.prisma.$transaction(async (tx) => {
      await alongside?.(tx);
      await tx.round.update({ where: { id: round.id }, data: { state: state as unknown as Prisma.InputJsonValue, status: state.phase === 'aggregating' ? 'aggregating' : round.status } });
    });
    if (decision.action === 'aggregate') await this.carryOut({ ...round, status: 'aggregating' }, state, decision);
  }

  private async carryOut(round: Round, state: RoundState, decision: Extract<RoundDecision, { action: 'aggregate' }>): Promise<void> {
    const step = await this.db.prisma.step.findUniqueOrThrow({ where: { index: round.stepIndex } });
    const cfg = step.config as unknown as StepConfig;
    try {
      let resultId: string;
      if (round.kind === 'evaluate') {
        resultId = round.baseVersionId!;
        await this.db.prisma.$transaction(async (tx) => {
          await this.completeLocked(tx, round, state, resultId, decision.reason);
          await tx.step.update({ where: { index: step.index }, data: { status: 'completed', completedAt: new Date(this.clock.now()) } });
          await this.audit.record('system', 'step.complete', `step ${step.index}`, { model: resultId }, tx);
        }, TX);
        this.progress.publish({ type: 'step', step: step.index, status: 'completed' });
        this.log.log(`step ${step.index} completed`);
        return;
      }
      const kind = round.kind as ModelKind;
      const timed = this.metrics.aggregationTimer(kind);
      const aggregated = await this.aggregate(round, state, step, cfg, decision.contributors);
      if (!aggregated) {
        // A secure round waiting for shares to unmask its sum; not for ever.
        if (this.clock.now() >= maxEndAt(state)) throw new Error(`unmasking did not complete within the round's maximum duration: ${state.secureAggregation?.revealed.length ?? 0} of ${state.contributors.length} contributors revealed their shares`);
        return;
      }
      timed();
      const { weights, serverState, note } = aggregated;
      await this.db.prisma.$transaction(async (tx) => {
        const version = await this.models.create(
          { kind, weights, parentId: round.baseVersionId, stepIndex: step.index, roundId: round.id, numClasses: kind === 'segmenter' ? cfg.numClasses : 0, config: kind === 'segmenter' ? cfg.segmenter : cfg.generator, note },
          tx,
        );
        resultId = version.id;
        await this.globals.set(kind, version.id, tx);
        if (serverState) await this.saveServerState(tx, step.index, kind, serverState);
        await this.completeLocked(tx, round, state, version.id, decision.reason);
      }, TX);
      this.log.log(`round ${round.id} completed with ${decision.contributors.length} updates (${decision.reason})`);
    } catch (e) {
      this.log.error(`aggregation of round ${round.id} failed: ${(e as Error).stack ?? e}`);
      const failed = failRound(state, `aggregation failed: ${(e as Error).message}`, this.clock.now());
      await this.persist(round, failed, { action: 'fail', reason: failed.reason! });
      return;
    }
    await this.openNextRoundLocked(step.index);
  }

  private async completeLocked(tx: Prisma.TransactionClient, round: Round, state: RoundState, resultId: string, reason: string): Promise<void> {
    const done = completeRound(state, resultId, this.clock.now());
    await tx.round.update({
      where: { id: round.id },
      data: { state: done as unknown as Prisma.InputJsonValue, status: 'completed', reason, resultVersionId: round.kind === 'evaluate' ? null : resultId, closedAt: new Date(this.clock.now()) },
    });
    await this.audit.record('system', 'round.complete', round.id, { result: resultId, contributors: state.contributors, reason }, tx);
    this.progress.publish({ type: 'round', roundId: round.id, status: 'completed', reason });
  }

  private strategyOf(stepIndex: number, cfg: StepConfig): AggregationStrategy {
    let strategy = this.strategies.get(stepIndex);
    if (!strategy) {
      try {
        strategy = createStrategy(cfg.training.aggregation);
      } catch (e) {
        // Settings are checked at start-up, so only a step stored by an older coordinator gets here:
        // the operator's to fix, not the site's fault nor a crash (sites wait and ask again).
        if (!(e instanceof InvalidAggregationOptionsError)) throw e;
        throw new DomainError('unavailable', `step ${stepIndex} has invalid aggregation settings (${e.message}); the coordinator's operator must fix them`);
      }
      this.strategies.set(stepIndex, strategy);
    }
    return strategy;
  }

  /** Streams the accepted updates through the step's strategy; distills the segmenter at steps > 0. */
  private async aggregate(round: Round, state: RoundState, step: Step, cfg: StepConfig, contributors: readonly string[]) {
    const base = await this.models.weights(round.baseVersionId!);
    const kind = round.kind as ModelKind;
    let weights: NamedTensors;
    let note: string;
    let serverState: ServerState = null;
    if (state.secureAggregation) {
      // Only the sum can be unmasked: FedAvg, then the aggregate's own checks (finite, norm bound).
      const secure = await this.secure.aggregate(round, state, base, cfg.training.privacy);
      if (!secure) return null;
      const v = validateUpdate(modelReference(base), { sampleCount: 1, kind: 'weights', tensors: secure.weights }, { ...DEFAULT_VALIDATION_LIMITS, maxDeltaNorm: this.config.training.maxUpdateNorm });
      if (!v.ok) throw new Error(`the securely aggregated update fails the aggregate's checks: ${v.rejection.reason}`);
      ({ weights, note } = secure);
    } else {
      const strategy = this.strategyOf(step.index, cfg);
      const aggregation = strategy.begin(base, await this.loadServerState(step.index, kind));
      const updates = await this.db.prisma.siteUpdate.findMany({ where: { roundId: round.id, status: 'accepted', siteId: { in: [...contributors] } }, orderBy: { createdAt: 'asc' } });
      for (const u of updates) {
        // One update in memory at a time: decoded, added, dropped.
        const { tensors } = decodeSafetensors(await this.store.get(u.sha256));
        aggregation.add({ siteId: u.siteId, sampleCount: u.realImages + u.replayImages, kind: 'weights', tensors });
      }
      const result = aggregation.finish();
      weights = result.weights;
      serverState = result.state;
      note = `${strategy.name} of ${result.contributors} updates (${result.totalSamples} samples${result.clipped ? `, ${result.clipped} clipped` : ''})`;
    }
    const generatorId = await this.globals.current('generator');
    if (kind === 'segmenter' && step.teacherVersionId && generatorId && cfg.training.serverDistillSteps > 0) {
      const teacher = await this.models.get(step.teacherVersionId);
      const distilled = await this.factory.distill({
        student: weights,
        teacher: await this.models.weights(teacher.id),
        generator: await this.models.weights(generatorId),
        oldClassCount: teacher.numClasses,
        numClasses: cfg.numClasses,
        config: cfg.segmenter,
        generatorConfig: cfg.generator,
        steps: cfg.training.serverDistillSteps,
        seed: step.index * 1000 + round.index,
        settings: { ...DEFAULT_SERVER_DISTILLATION, ...cfg.training.serverDistillation },
      });
      weights = distilled.weights;
      note += `; server-side distillation, ${cfg.training.serverDistillSteps} steps, loss ${distilled.loss.toPrecision(4)}, changed ${(100 * distilled.changedPixels).toFixed(2)}% of the predicted pixels on its images`;
    }
    return { weights, serverState, note };
  }

  private serverStateKey(step: number, kind: ModelKind): string {
    return `aggregation.${kind}.step${step}`;
  }

  private async loadServerState(step: number, kind: ModelKind): Promise<ServerState> {
    const row = await this.db.prisma.serverState.findUnique({ where: { key: this.serverStateKey(step, kind) } });
    if (!row) return null;
    return decodeServerState(await this.store.get((row.value as { sha256: string }).sha256));
  }

  private async saveServerState(tx: Prisma.TransactionClient, step: number, kind: ModelKind, state: NonNullable<ServerState>): Promise<void> {
    const blob = await this.store.put(encodeServerState(state));
    const key = this.serverStateKey(step, kind);
    const value = { sha256: blob.sha256 };
    await tx.serverState.upsert({ where: { key }, create: { key, value }, update: { value, updatedAt: new Date() } });
  }

  // ---- opening rounds -------------------------------------------------------------------------

  /** Public entry for StepsService, which already holds the lock. */
  openNextRound(step: number): Promise<void> {
    return this.openNextRoundLocked(step);
  }

  /**
   * Opens the step's next round: segmenter rounds, then generator rounds, then one evaluation round;
   * a failed round is followed by another of the same kind. Waits (opens nothing) while no approved
   * site is alive; the clock tries again.
   */
  private async openNextRoundLocked(stepIndex: number): Promise<void> {
    const step = await this.db.prisma.step.findUniqueOrThrow({ where: { index: stepIndex } });
    const cfg = step.config as unknown as StepConfig;
    const rounds = await this.db.prisma.round.findMany({ where: { stepIndex } });
    const completed = (k: RoundKind) => rounds.filter((r) => r.kind === k && r.status === 'completed').length;
    const alive = await this.sites.aliveSiteIds();
    const sa = cfg.training.privacy?.secureAggregation;
    // Training rounds first; a kind whose next round would cross the privacy budget is refused (and
    // said so, once), and the step moves on.
    let kind: RoundKind = 'evaluate';
    for (const k of ['segmenter', 'generator'] as const) {
      if (completed(k) >= (k === 'segmenter' ? cfg.segmenterRounds : cfg.generatorRounds)) continue;
      if (alive.length && (await this.privacy.refuse(stepIndex, k, cfg.training.privacy, alive))) continue;
      kind = k;
      break;
    }
    const base = kind === 'generator' ? await this.globals.current('generator') : await this.globals.current('segmenter');
    if (!alive.length || !base) return;
    // A secure round needs at least `threshold` sites to unmask its sum: wait for them.
    if (sa && kind !== 'evaluate' && alive.length < sa.threshold) return;
    const r = this.config.rounds;
    const quorum = kind === 'evaluate' ? 1 : Math.max(Math.min(r.quorum, alive.length), sa ? sa.threshold : 1);
    const now = this.clock.now();
    const id = `r${stepIndex}-${kind.slice(0, 3)}-${rounds.filter((x) => x.kind === kind).length}-${randomBytes(3).toString('hex')}`;
    const opened = openRound(id, {
      quorum,
      deadlineMs: r.deadlineSeconds * 1000,
      hardLimitMs: Math.max(r.hardLimitSeconds, r.deadlineSeconds) * 1000,
      maxDurationMs: (Math.max(r.hardLimitSeconds, r.deadlineSeconds) + 600) * 1000,
      heartbeatTimeoutMs: r.heartbeatTimeoutSeconds * 1000,
      stragglerPolicy: r.stragglers,
    }, alive, now);
    const collecting = startCollecting(opened, now).state;
    const state = sa && kind !== 'evaluate' ? secureRound(collecting, sa.threshold, sa.neighbours) : collecting;
    await this.db.prisma.$transaction(async (tx) => {
      const crossSite = kind === 'evaluate' && cfg.training.crossSiteEvaluation ? await this.registerLocalModels(tx, stepIndex, cfg) : undefined;
      await tx.round.create({
        data: {
          id, stepIndex, kind, index: rounds.filter((x) => x.kind === kind).length, status: 'collecting', baseVersionId: base, quorum,
          deadlineAt: new Date(deadlineAt(state)), config: { stragglers: r.stragglers, sites: alive, ...(crossSite ? { crossSite } : {}) }, state: state as unknown as Prisma.InputJsonValue,
        },
      });
      if (kind !== 'evaluate') await this.privacy.charge(tx, id, kind, alive, cfg.training.privacy);
      if (kind === 'evaluate' && step.status !== 'evaluating') await tx.step.update({ where: { index: stepIndex }, data: { status: 'evaluating' } });
      await this.audit.record('system', 'round.open', id, { kind, base, sites: alive, quorum }, tx);
    });
    this.progress.publish({ type: 'round', roundId: id, status: 'collecting', reason: null });
    this.log.log(`opened ${kind} round ${id} of step ${stepIndex} for ${alive.length} sites (quorum ${quorum})`);
  }

  /**
   * For a cross-site evaluation: each site's update in the step's last completed segmenter round
   * becomes a model version of its own (its bytes are already in the store), so every site can
   * download and evaluate it. Returns site id → version id.
   */
  private async registerLocalModels(tx: Prisma.TransactionClient, stepIndex: number, cfg: StepConfig): Promise<Record<string, string>> {
    const last = await tx.round.findFirst({ where: { stepIndex, kind: 'segmenter', status: 'completed' }, orderBy: { openedAt: 'desc' } });
    if (!last) return {};
    const updates = await tx.siteUpdate.findMany({ where: { roundId: last.id, status: 'accepted' }, orderBy: { siteId: 'asc' } });
    const out: Record<string, string> = {};
    for (const u of updates) {
      const { tensors } = decodeSafetensors(await this.store.get(u.sha256));
      const v = await this.models.create({ kind: 'segmenter', weights: tensors, parentId: last.baseVersionId, stepIndex, roundId: last.id, numClasses: cfg.numClasses, config: cfg.segmenter, note: `local model of ${u.siteId} (round ${last.id})` }, tx);
      out[u.siteId] = v.id;
    }
    return out;
  }

  /** Rounds of a step, newest first, for the API. */
  list(step?: number) {
    return this.db.prisma.round.findMany({ where: step === undefined ? {} : { stepIndex: step }, orderBy: { openedAt: 'desc' }, take: 200 });
  }
}

/** Site id → local model version of a cross-site evaluation round (empty for any other round). */
export function crossSiteModels(round: Pick<Round, 'config'>): Record<string, string> {
  return ((round.config ?? {}) as { crossSite?: Record<string, string> }).crossSite ?? {};
}
