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

const TASK_KIND: Record<RoundKind, TaskKind> = {
  segmenter: TaskKind.TASK_KIND_TRAIN_SEGMENTER,
  generator: TaskKind.TASK_KIND_TRAIN_GENERATOR,
  evaluate: TaskKind.TASK_KIND_EVALUATE,
};

/** The step's segmenter architecture as the task states it (ml's configuration, parsed when the step was read). */
function segmenterArchitecture(c: SegmenterConfig): SegmenterArchitecture {
  return { inChannels: c.inChannels, width: c.width, depth: c.depth, inputSize: [...c.inputSize], embedDim: c.embedDim, norm: c.norm, groups: c.groups };
}

function wait(message: string, step = 0): Task {
  return {
    kind: TaskKind.TASK_KIND_WAIT, step, roundId: '', roundIndex: 0, roster: [], newClassIds: [], globalModel: undefined, teacherModel: undefined,
    generator: undefined, hyperParameters: undefined, deadlineMs: 0, retryAfterMs: 2000, message, crossSiteModels: [], secureAggregation: undefined,
  };
}

/**
 * How long a site whose update is in waits before asking again: 20 ms per site of the round, between
 * 2 s and 15 s. The sites that are done then ask ~50 times a second in all, however many they are
 * (at 500 sites a fixed 2 s meant 250 reads of the round's state a second, for nothing new); the
 * price is that such a site learns of the next round up to that much later.
 */
export function retryAfterDoneMs(sitesInRound: number): number {
  return Math.min(15_000, Math.max(2_000, 20 * sitesInRound));
}

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
  ) {}

  async taskFor(siteId: string): Promise<Task> {
    const step = await this.steps.active();
    if (!step) {
      const last = await this.steps.latest();
      return { ...wait(last ? `step ${last.index} is complete; waiting for an administrator to add classes` : 'no step yet; waiting for an administrator to add classes', last?.index ?? 0), kind: TaskKind.TASK_KIND_DONE, retryAfterMs: 5000 };
    }
    const round = await this.rounds.openOf(step.index);
    const state = round?.state;
    // A secure round still needs its contributors after collection closed: to unmask the sum.
    const unmasking = round?.status === 'aggregating' && state?.secureAggregation?.stage === 'unmask';
    if (!round || !state || (round.status !== 'collecting' && !unmasking)) return wait(`step ${step.index}: the next round is being prepared`, step.index);
    if (!state.sites[siteId]) return wait(`round ${round.id} opened before this site was active; it joins the next round`, step.index);
    const done = Object.values(state.uploads).some((u) => u.siteId === siteId && u.outcome.status === 'accepted');
    if (done && !unmasking) return { ...wait(`round ${round.id}: this site's contribution is in; waiting for the others`, step.index), retryAfterMs: retryAfterDoneMs(Object.keys(state.sites).length) };
    if (state.withheld?.[siteId]) return wait(`round ${round.id}: this site withheld its update; waiting for the next round`, step.index);
    let secure: SecureAggregation | undefined;
    if (state.secureAggregation) {
      const s = await this.secure.taskFor(round, state, siteId, step.config.training.privacy);
      if (typeof s === 'string') return wait(`round ${round.id}: ${s}`, step.index);
      secure = s;
    }
    const roster = await this.roster.upToStep(step.index);
    return {
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
    };
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
      lossWeights: { ce: t.lossWeights.ce, unbiasedCe: t.lossWeights.unbiasedCe ?? 0, kd: t.lossWeights.kd, pod: t.lossWeights.pod, contrastive: t.lossWeights.contrastive },
      pseudoLabels: t.lossWeights.pseudoLabels === undefined ? undefined : t.lossWeights.pseudoLabels > 0,
      segmenterArchitecture: generator ? undefined : segmenterArchitecture(cfg.segmenter),
      generatorSeconds: generator ? t.generatorTraining.seconds ?? 0 : 0,
      replayFidelityThreshold: t.replayFidelityThreshold ?? 0,
      replayFraction: step.index > 0 && !generator ? t.replayFraction ?? 0 : 0,
      replayBelowOldClassShare: step.index > 0 && !generator ? t.replayBelowOldClassShare ?? 0 : 0,
      differentialPrivacy: kind === 'evaluate' ? undefined : siteDifferentialPrivacy(t.privacy, round.config.clipping?.clipNorm),
      roundsInStep: kind === 'segmenter' ? cfg.segmenterRounds : 0,
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
