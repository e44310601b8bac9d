import type { Command } from 'commander';
import { register as registerData } from './commands/data.command';
import { register as registerGenerateSynthetic } from './commands/generate-synthetic.command';
import { register as registerEnroll } from './commands/enroll.command';
import { register as registerStatus } from './commands/status.command';
import { register as registerRun } from './commands/run.command';
import { register as registerEvaluate } from './commands/evaluate.command';
import { register as registerPredict } from './commands/predict.command';

/** Every site-agent command, each registered by its own module. */
export const commands: Array<(program: Command) => void> = [
  (program) => registerEnroll(program),
  (program) => registerRun(program),
  (program) => registerEvaluate(program),
  (program) => registerPredict(program),
  (program) => registerStatus(program),
  (program) => registerGenerateSynthetic(program),
  (program) => registerData(program),
];
