import { Inject, Injectable } from '@nestjs/common';
import { fuseEndpoints, type NamedTensors } from '@fedciss/ml';
import { MODEL_FACTORY } from '../common/tokens';
import type { ModelFactory } from '../models/model-factory';
import { ModelVersionsService } from '../models/model-versions.service';
import type { RoundRecord } from './repositories/rounds.repository';
import type { StepRecord } from './repositories/steps.repository';

/**
 * Endpoint fusion of a step's final model (the training setting `endpointFusion`, ml's
 * fuseEndpoints): the aggregate of a step's last segmenter round, at a step with a teacher, is moved
 * part of the way back toward the model the step started from, the teacher with its head grown.
 * Which round it applies to is decided when the round opens (RoundSettings.endpointFusion), so a
 * restarted aggregation fuses as the first attempt would have.
 */
@Injectable()
export class EndpointFusion {
  constructor(
    private readonly models: ModelVersionsService,
    @Inject(MODEL_FACTORY) private readonly factory: ModelFactory,
  ) {}

  /** The start's weight in the fusion of this round's aggregate; 0 when it is not fused. */
  startWeight(round: Pick<RoundRecord, 'kind' | 'config'>, step: Pick<StepRecord, 'teacherVersionId'>): number {
    return round.kind === 'segmenter' && step.teacherVersionId ? (round.config.endpointFusion ?? 0) : 0;
  }

  /** The fused weights with a note for the model version, or null when this round is not fused. */
  async apply(round: Pick<RoundRecord, 'kind' | 'config'>, step: Pick<StepRecord, 'teacherVersionId' | 'config'>, end: NamedTensors): Promise<{ weights: NamedTensors; note: string } | null> {
    const weight = this.startWeight(round, step);
    if (weight <= 0) return null;
    const teacher = await this.models.get(step.teacherVersionId!);
    const start = await this.factory.growHead(await this.models.weights(teacher.id), teacher.numClasses, step.config.numClasses, step.config.segmenter);
    return { weights: fuseEndpoints(start, end, weight), note: `fused with the step's start (${teacher.id}, head grown to ${step.config.numClasses} classes) at weight ${weight}` };
  }
}
