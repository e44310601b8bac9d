import type { Command } from 'commander';
import { register as registerServe } from './commands/serve.command';
import { register as registerPki } from './commands/pki.command';
import { register as registerUsers } from './commands/users.command';
import { register as registerSites } from './commands/sites.command';
import { register as registerModelsExport } from './commands/models-export.command';
import { register as registerModelsImport } from './commands/models-import.command';

/** Every coordinator command, each registered by its own module. */
export const commands: Array<(program: Command) => void> = [
  (program) => registerServe(program),
  (program) => registerPki(program),
  (program) => registerUsers(program),
  (program) => registerSites(program),
  (program) => registerModelsExport(program),
  (program) => registerModelsImport(program),
];
