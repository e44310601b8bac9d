import type { Command } from 'commander';
import { register as registerData } from './commands/data.command';
import { register as registerGenerateSynthetic } from './commands/generate-synthetic.command';
import { register as registerEnroll } from './commands/enroll.command';
import { register as registerStatus } from './commands/status.command';
import { register as registerRun, type RunAction } from './commands/run.command';
import { register as registerEvaluate } from './commands/evaluate.command';
import { register as registerPredict } from './commands/predict.command';

/** Actions that replace a command's own (the others keep theirs). */
export interface CommandActions {
  readonly run?: RunAction;
}

/** Every site-agent command, each registered by its own module. */
export const commands: Array<(program: Command, actions: CommandActions) => void> = [
  (program) => registerEnroll(program),
  (program, actions) => registerRun(program, actions.run),
  (program) => registerEvaluate(program),
  (program) => registerPredict(program),
  (program) => registerStatus(program),
  (program) => registerGenerateSynthetic(program),
  (program) => registerData(program),
];
