import type { TrainingSettings } from '../config/coordinator-config';

/** What a step was opened with; stored on the step so a restart or a config change cannot alter it. */
export interface StepConfig {
  training: TrainingSettings;
  segmenter: Record<string, unknown>;
  generator: Record<string, unknown>;
  numClasses: number;
  newClassIds: number[];
  segmenterRounds: number;
  generatorRounds: number;
}
