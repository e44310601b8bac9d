import type { Command } from 'commander';

/** Every site-agent command, each registered by its own module. */
export const commands: Array<(program: Command) => void> = [];
