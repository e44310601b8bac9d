/**
 * `site-agent`: what a hospital runs. Each command lives in its own file under ./commands and only
 * parses and validates its flags; the work is done by an action elsewhere in the package.
 */
import { Command } from 'commander';
import { commands, type CommandActions } from './commands';

/** The CLI; `actions` replaces a command's action (an e2e wrapper runs `run` with fault injection). */
export function buildProgram(actions: CommandActions = {}): Command {
  const program = new Command('site-agent')
    .description(
      'Site agent of the fedciss federation: trains the shared segmentation model on this hospital\'s ' +
        'images, which never leave this machine. Only weights, sample counts and metrics are sent.',
    )
    .showHelpAfterError();
  for (const register of commands) register(program, actions);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  await buildProgram().parseAsync(argv);
}
