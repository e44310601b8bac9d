import { Injectable } from '@nestjs/common';
import type { SegmenterConfig } from '@fedciss/ml';
import { TaskKind, type HyperParameters, type ModelRef, type SecureAggregation, type SegmenterArchitecture, type Task } from '@fedciss/proto';
import { deadlineAt } from '../rounds';
import { ModelVersionsService } from '../models/model-versions.service';
import { RosterRepository } from '../roster/roster.repository';
import { SecureAggregationService } from '../privacy/secure-aggregation.service';
import { siteDifferentialPrivacy } from '../privacy/privacy-settings';
import { GlobalModels } from './global-models';
import { StepStrategies } from './step-strategies';
import type { StepConfig } from './step-config';
import { crossSiteModels, RoundsRepository, type RoundKind, type RoundRecord } from './repositories/rounds.repository';
import { StepsRepository, type StepRecord } from './repositories/steps.repository';
import { SitesService } from '../sites/sites.service';
import { ProgressHub } from './progress-hub';
import { holdWhileWaiting, type TaskDecision } from './task-hold';
import { ConcurrencyLimit } from './concurrency-limit';

const TASK_KIND: Record<RoundKind, TaskKind> = {
  segmenter: TaskKind.TASK_KIND_TRAIN_SEGMENTER,
  generator: TaskKind.TASK_KIND_TRAIN_GENERATOR,
  evaluate: TaskKind.TASK_KIND_EVALUATE,
};

/** The step's segmenter architecture as the task states it (ml's configuration, parsed when the step was read). */
function segmenterArchitecture(c: SegmenterConfig): SegmenterArchitecture {
  return { inChannels: c.inChannels, width: c.width, depth: c.depth, inputSize: [...c.inputSize], embedDim: c.embedDim, norm: c.norm, groups: c.groups };
}

function wait(message: string, step: number, retryAfterMs: number): Task {
  return {
    kind: TaskKind.TASK_KIND_WAIT, step, roundId: '', roundIndex: 0, roster: [], newClassIds: [], globalModel: undefined, teacherModel: undefined,
    generator: undefined, hyperParameters: undefined, deadlineMs: 0, retryAfterMs, message, crossSiteModels: [], secureAggregation: undefined,
  };
}

/**
 * How long a waiting site waits before asking again: 20 ms per site of the federation (of the
 * round, once one is open), between 2 s and 15 s. Waiting sites then ask ~50 times a second in
 * all, however many they are (at 500 sites a fixed 2 s meant 250 calls a second, each reading the
 * step and often the round's state, for nothing new); the price is that a site learns of the next
 * round up to that much later.
 */
export function pollAfterMs(sites: number): number {
  return Math.min(MAX_POLL_MS, Math.max(MIN_POLL_MS, 20 * sites));
}

const MIN_POLL_MS = 2_000;
const MAX_POLL_MS = 15_000;

/** Held GetTasks woken by one event decide again this many at a time (a few of the pool's connections). */
const WOKEN_DECISIONS_AT_ONCE = 4;

/** A federation with no step to work on is polled at most every 5 s. */
const IDLE_POLL_MS = 5_000;

/**
 * What a site should do now (its answer to GetTask): wait, or train / evaluate in the open round with
 * the round's models and the step's frozen settings. Reads only; changes nothing.
 */
@Injectable()
export class TaskBuilder {
  constructor(
    private readonly steps: StepsRepository,
    private readonly rounds: RoundsRepository,
    private readonly roster: RosterRepository,
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    private readonly strategies: StepStrategies,
    private readonly secure: SecureAggregationService,
    private readonly sites: SitesService,
    private readonly progress: ProgressHub,
  ) {}

  private readonly wokenDecisions = new ConcurrencyLimit(WOKEN_DECISIONS_AT_ONCE);

  /** The site's task now. */
  async taskFor(siteId: string): Promise<Task> {
    return (await this.decide(siteId)).task;
  }

  /** The site's task, held while it waits between rounds (GetTask's long poll, task-hold.ts). Held
   * calls woken by a round's event decide again a few at a time: at 500 sites each event would
   * otherwise send every site's queries to the database pool at the same moment. */
  heldTaskFor(siteId: string, budgetMs: number, signal: AbortSignal): Promise<Task> {
    return holdWhileWaiting(() => this.decide(siteId), this.progress.stream(), budgetMs, signal, () => this.wokenDecisions.run(() => this.decide(siteId)));
  }

  private async decide(siteId: string): Promise<TaskDecision> {
    const answer = (task: Task, wakesOnRounds = true): TaskDecision => ({ task, wakesOnRounds });
    const federationPoll = pollAfterMs(this.sites.activeSites());
    const step = await this.steps.active();
    if (!step) {
      const last = await this.steps.latest();
      const message = last ? `step ${last.index} is complete; waiting for an administrator to add classes` : 'no step yet; waiting for an administrator to add classes';
      return answer({ ...wait(message, last?.index ?? 0, Math.max(IDLE_POLL_MS, federationPoll)), kind: TaskKind.TASK_KIND_DONE });
    }
    const round = await this.rounds.openOf(step.index);
    const state = round?.state;
    // A secure round still needs its contributors after collection closed: to unmask the sum.
    const unmasking = round?.status === 'aggregating' && state?.secureAggregation?.stage === 'unmask';
    if (!round || !state || (round.status !== 'collecting' && !unmasking)) return answer(wait(`step ${step.index}: the next round is being prepared`, step.index, federationPoll));
    if (!state.sites[siteId]) return answer(wait(`round ${round.id} opened before this site was active; it joins the next round`, step.index, federationPoll));
    const done = Object.values(state.uploads).some((u) => u.siteId === siteId && u.outcome.status === 'accepted');
    const roundPoll = pollAfterMs(Object.keys(state.sites).length);
    if (done && !unmasking) return answer(wait(`round ${round.id}: this site's contribution is in; waiting for the others`, step.index, roundPoll));
    if (state.withheld?.[siteId]) return answer(wait(`round ${round.id}: this site withheld its update; waiting for the next round`, step.index, roundPoll));
    let secure: SecureAggregation | undefined;
    if (state.secureAggregation) {
      const s = await this.secure.taskFor(round, state, siteId, step.config.training.privacy);
      // Secure aggregation's stages move on as soon as the others have sent: ask again soon.
      if (typeof s === 'string') return answer(wait(`round ${round.id}: ${s}`, step.index, MIN_POLL_MS), false);
      secure = s;
    }
    const roster = await this.roster.upToStep(step.index);
    return answer({
      kind: TASK_KIND[round.kind],
      step: step.index,
      roundId: round.id,
      roundIndex: round.index,
      roster: roster.map((c) => ({ id: c.id, name: c.name, color: c.color, stepAdded: c.stepAdded, archived: c.archived })),
      newClassIds: step.config.newClassIds,
      globalModel: await this.ref(round.baseVersionId),
      teacherModel: await this.ref(step.teacherVersionId),
      generator: await this.ref(await this.globals.current('generator')),
      hyperParameters: this.hyperParameters(step, round),
      deadlineMs: deadlineAt(state),
      retryAfterMs: 0,
      message: `step ${step.index}, ${round.kind} round ${round.index}`,
      crossSiteModels: round.kind === 'evaluate' ? await this.crossSiteRefs(round) : [],
      secureAggregation: secure,
    });
  }

  /** The step's frozen training settings as a round carries them to a site (with the round's clip bound). */
  private hyperParameters(step: StepRecord, round: RoundRecord): HyperParameters {
    const kind = round.kind;
    const cfg: StepConfig = step.config;
    const t = cfg.training;
    const generator = kind === 'generator';
    return {
      localEpochs: generator ? t.generatorTraining.epochs : t.localEpochs,
      batchSize: generator ? t.generatorTraining.batchSize : t.batchSize,
      learningRate: generator ? t.generatorTraining.learningRate : t.learningRate,
      fedproxMu: this.strategies.of(step.index, cfg).siteConfig().proximalMu,
      // Informational: the side of the images the model takes (the architecture travels in segmenterArchitecture).
      imageSize: generator ? cfg.generator.imageSize : cfg.segmenter.inputSize[0],
      replayImages: step.index > 0 ? t.replayImages : 0,
      pseudoLabelThreshold: t.pseudoLabelThreshold,
      // One field per loss term; the settings file keeps the pseudo-label switch (1 on, 0 off) with the weights.
      lossWeights: { ce: t.lossWeights.ce, unbiasedCe: t.lossWeights.unbiasedCe ?? 0, separatedCe: t.lossWeights.separatedCe, replayCe: t.lossWeights.replayCe, kd: t.lossWeights.kd, pod: t.lossWeights.pod, contrastive: t.lossWeights.contrastive, dice: t.lossWeights.dice },
      pseudoLabels: t.lossWeights.pseudoLabels === undefined ? undefined : t.lossWeights.pseudoLabels > 0,
      segmenterArchitecture: generator ? undefined : segmenterArchitecture(cfg.segmenter),
      generatorSeconds: generator ? t.generatorTraining.seconds : 0,
      replayFidelityThreshold: t.replayFidelityThreshold,
      replayCheck: step.index > 0 && !generator ? t.replayCheck : false,
      replayFraction: step.index > 0 && !generator ? t.replayFraction : 0,
      replayBelowOldClassShare: step.index > 0 && !generator ? t.replayBelowOldClassShare : 0,
      differentialPrivacy: kind === 'evaluate' ? undefined : siteDifferentialPrivacy(t.privacy, round.config.clipping?.clipNorm),
      roundsInStep: kind === 'segmenter' ? cfg.segmenterRounds : 0,
      // Step 0 trains from scratch, with nothing to keep.
      warmupFraction: step.index > 0 && kind === 'segmenter' ? t.warmupFraction : 0,
    };
  }

  private async crossSiteRefs(round: RoundRecord): Promise<ModelRef[]> {
    return Promise.all(Object.values(crossSiteModels(round)).map(async (id) => (await this.ref(id))!));
  }

  private async ref(versionId: string | null | undefined): Promise<ModelRef | undefined> {
    if (!versionId) return undefined;
    const v = await this.models.get(versionId);
    return { versionId: v.id, kind: v.kind, sha256: v.sha256, sizeBytes: Number(v.sizeBytes) };
  }
}
