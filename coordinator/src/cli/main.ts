/**
 * `coordinator`: the federation's centre. Each command lives in its own file under ./commands and
 * only parses and validates its flags; the work is done by services elsewhere in the package.
 */
import { Command } from 'commander';
import { commands } from './commands';

export function buildProgram(): Command {
  const program = new Command('coordinator')
    .description('Coordinator of the fedciss federation: rounds, aggregation, class roster, model store and admin console.')
    .showHelpAfterError();
  for (const register of commands) register(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
