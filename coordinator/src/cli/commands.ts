import type { Command } from 'commander';

/** Every coordinator command, each registered by its own module. */
export const commands: Array<(program: Command) => void> = [];
