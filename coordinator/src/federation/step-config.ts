import type { DiffusionConfig, SegmenterConfig } from '@fedciss/ml';
import type { TrainingSettings } from '../config/coordinator-config';

/** What a step was opened with; stored on the step so a restart or a config change cannot alter it. */
export interface StepConfig {
  training: TrainingSettings;
  segmenter: SegmenterConfig;
  generator: DiffusionConfig;
  numClasses: number;
  newClassIds: number[];
  segmenterRounds: number;
  generatorRounds: number;
}
