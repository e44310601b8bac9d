import { Inject, Injectable } from '@nestjs/common';
import type { NamedTensors } from '@fedciss/ml';
import { MODEL_FACTORY } from '../common/tokens';
import { DEFAULT_SERVER_DISTILLATION, type ModelFactory } from '../models/model-factory';
import { ModelVersionsService } from '../models/model-versions.service';
import { GlobalModels } from './global-models';
import type { RoundRecord } from './repositories/rounds.repository';
import type { StepRecord } from './repositories/steps.repository';

/**
 * Server-side distillation of an aggregated segmenter at steps > 0: the step's teacher, on images of
 * the global generator, keeps the old classes in the new model. Runs when the step has a teacher,
 * there is a generator and the settings ask for steps.
 */
@Injectable()
export class ServerDistillation {
  constructor(
    private readonly models: ModelVersionsService,
    private readonly globals: GlobalModels,
    @Inject(MODEL_FACTORY) private readonly factory: ModelFactory,
  ) {}

  /** The global generator's version when this round's aggregate is distilled, else null. */
  async generatorFor(round: Pick<RoundRecord, 'kind'>, step: Pick<StepRecord, 'teacherVersionId' | 'config'>): Promise<string | null> {
    if (round.kind !== 'segmenter' || !step.teacherVersionId || step.config.training.serverDistillSteps <= 0) return null;
    return (await this.globals.current('generator')) ?? null;
  }

  /** The distilled weights with a note for the model version, or null when this round is not distilled. */
  async apply(round: Pick<RoundRecord, 'kind' | 'index'>, step: Pick<StepRecord, 'index' | 'teacherVersionId' | 'config'>, student: NamedTensors): Promise<{ weights: NamedTensors; note: string } | null> {
    const cfg = step.config;
    const generatorId = await this.generatorFor(round, step);
    if (!generatorId) return null;
    const teacher = await this.models.get(step.teacherVersionId!);
    const distilled = await this.factory.distill({
      student,
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
    return {
      weights: distilled.weights,
      note: `server-side distillation, ${cfg.training.serverDistillSteps} steps, loss ${distilled.loss.toPrecision(4)}, changed ${(100 * distilled.changedPixels).toFixed(2)}% of the predicted pixels on its images`,
    };
  }
}
