/** `site-agent data inspect`: parses flags into a DataInspectContext; the work is in data/inspect.ts. */
import { Option, type Command } from 'commander';
import { formatInspect, inspectDataset } from '../../data/inspect';

export interface DataInspectContext {
  root: string;
  json: boolean;
  format: 'auto' | 'dsad' | 'folder';
  manifest?: string;
  verify: boolean;
}

/** Returns true when the dataset is usable (the command sets a non-zero exit code otherwise). */
export type DataInspectAction = (ctx: DataInspectContext) => Promise<boolean>;

export const runDataInspect: DataInspectAction = async (ctx) => {
  const result = await inspectDataset({ root: ctx.root, format: ctx.format, verify: ctx.verify, ...(ctx.manifest ? { manifest: ctx.manifest } : {}) });
  process.stdout.write((ctx.json ? JSON.stringify(result, null, 2) : formatInspect(result)) + '\n');
  return result.ok;
};

export function register(program: Command, action: DataInspectAction = runDataInspect): void {
  const data = program.command('data').description('Check the local dataset before joining the federation.');
  data
    .command('inspect')
    .description('Per-structure and per-surgery image counts, the split of each surgery, and every skipped file with its reason.')
    .requiredOption('--root <dir>', 'dataset folder (DSAD layout, or a plain folder with a manifest)')
    .option('--json', 'print one JSON document instead of text', false)
    .addOption(new Option('--format <format>', 'dataset layout').choices(['auto', 'dsad', 'folder']).default('auto'))
    .option('--manifest <file>', 'manifest of a plain folder, relative to --root (default fedciss-dataset.json)')
    .option('--quick', 'read headers only (skip full decoding; truncated PNGs and non-binary masks go unnoticed)', false)
    .action(async (opts: { root: string; json: boolean; format: 'auto' | 'dsad' | 'folder'; manifest?: string; quick: boolean }) => {
      const ok = await action({ root: opts.root, json: opts.json, format: opts.format, verify: !opts.quick, ...(opts.manifest ? { manifest: opts.manifest } : {}) });
      if (!ok) process.exitCode = 1;
    });
}
