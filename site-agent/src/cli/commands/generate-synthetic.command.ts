/** `site-agent generate-synthetic`: parses flags into a GenerateSyntheticContext; the work is in synthetic/generate.ts. */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DSAD_STRUCTURES, isDsadStructure, type DsadStructure } from '@fedciss/ml/dsad';
import { parseSize, type Size } from '../../data/types';
import { generateSynthetic } from '../../synthetic/generate';

export interface GenerateSyntheticContext {
  out: string;
  surgeries: number;
  surgeryIds?: string[];
  seed: number;
  size: Size;
  imagesPerSurgery: number;
  multilabelFraction: number;
  structureFolders: 'every-folder' | 'one-folder';
  /** Per surgery id, structures its scenes never show (--absent, repeatable). */
  absent?: Record<string, DsadStructure[]>;
  /** Per surgery id, structures its scenes show unannotated (--unannotated, repeatable). */
  unannotated?: Record<string, DsadStructure[]>;
  json: boolean;
}

export type GenerateSyntheticAction = (ctx: GenerateSyntheticContext) => Promise<void>;

function int(name: string, min: number, max: number): (v: string) => number {
  return (v: string) => {
    if (!/^-?\d+$/.test(v.trim())) throw new InvalidArgumentError(`${name} must be an integer, got '${v}'`);
    const n = Number(v);
    if (n < min || n > max) throw new InvalidArgumentError(`${name} must be in ${min}..${max}, got ${n}`);
    return n;
  };
}

function fraction(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError(`must be a number in 0..1, got '${v}'`);
  return n;
}

function size(v: string): Size {
  try {
    return parseSize(v);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

function ids(v: string): string[] {
  const list = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (list.length === 0 || list.some((s) => !/^\d{1,3}$/.test(s))) throw new InvalidArgumentError(`expected surgery numbers like 01,04,05, got '${v}'`);
  if (new Set(list).size !== list.length) throw new InvalidArgumentError(`surgery ids repeat in '${v}'`);
  return list;
}

/** One --absent or --unannotated value, SURGERIES:STRUCTURES (e.g. 04,05:liver,colon), merged into those before it. */
function surgeryStructures(v: string, before: Record<string, DsadStructure[]> = {}): Record<string, DsadStructure[]> {
  const m = /^([^:]+):(.+)$/.exec(v);
  if (!m) throw new InvalidArgumentError(`expected SURGERIES:STRUCTURES like 04,05:liver,colon, got '${v}'`);
  const names = m[2]!.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const unknown = names.filter((s) => !isDsadStructure(s));
  if (unknown.length) throw new InvalidArgumentError(`unknown structure ${unknown.map((u) => `'${u}'`).join(', ')} in '${v}' (known: ${DSAD_STRUCTURES.join(', ')})`);
  const structures = names.filter(isDsadStructure);
  const out = { ...before };
  for (const sid of ids(m[1]!)) out[sid] = [...new Set([...(out[sid] ?? []), ...structures])];
  return out;
}

export const runGenerateSynthetic: GenerateSyntheticAction = async (ctx) => {
  const summary = await generateSynthetic({
    out: ctx.out,
    surgeries: ctx.surgeries,
    ...(ctx.surgeryIds ? { surgeryIds: ctx.surgeryIds } : {}),
    seed: ctx.seed,
    size: ctx.size,
    imagesPerSurgery: ctx.imagesPerSurgery,
    multilabelFraction: ctx.multilabelFraction,
    structureFolders: ctx.structureFolders,
    ...(ctx.absent ? { absent: ctx.absent } : {}),
    ...(ctx.unannotated ? { unannotated: ctx.unannotated } : {}),
  });
  if (ctx.json) {
    process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    `Wrote ${summary.images} scenes (${summary.multilabelImages} also in multilabel) for surgeries ${summary.surgeries.join(' ')} ` +
      (summary.unwrittenImages ? `(${summary.unwrittenImages} more annotated for no structure, not written) ` : '') +
      `to ${summary.out}: ${summary.files} files in ${summary.seconds.toFixed(1)} s\n` +
      Object.entries(summary.perStructure).map(([k, v]) => `  ${k.padEnd(28)} ${v}`).join('\n') + '\n',
  );
};

export function register(program: Command, action: GenerateSyntheticAction = runGenerateSynthetic): void {
  program
    .command('generate-synthetic')
    .description('Write synthetic laparoscopic scenes in the exact DSAD layout (11 structure folders + multilabel, weak_labels.csv). Deterministic for a seed.')
    .requiredOption('--out <dir>', 'output folder (created; existing files with the same names are overwritten)')
    .option('--surgeries <n>', 'number of surgeries, numbered 01..N (DSAD split applies to those numbers)', int('--surgeries', 1, 999), 6)
    .option('--surgery-ids <list>', 'explicit surgery numbers, comma-separated (overrides --surgeries), e.g. 01,04,05')
    .option('--seed <n>', 'random seed', int('--seed', 0, 2 ** 31 - 1), 0)
    .addOption(new Option('--size <WxH>', 'image size in pixels').argParser(size).default({ width: 128, height: 72 }, '128x72'))
    .option('--images-per-surgery <n>', 'scenes per surgery', int('--images-per-surgery', 1, 100000), 4)
    .option('--multilabel-fraction <f>', 'fraction of scenes also written to multilabel with all 11 masks', fraction, 0.5)
    .addOption(new Option('--structure-folders <mode>', 'every-folder: a scene in the folder of each structure it shows (all its masks); one-folder: outside multilabel, in one structure\'s folder only (DSAD-like dispersed annotations)').choices(['every-folder', 'one-folder']).default('every-folder'))
    .option('--absent <surgeries:structures>', 'structures the scenes of those surgeries never show, e.g. 04,05:liver,colon (repeatable): a later step without the earlier steps\' organs', surgeryStructures)
    .option('--unannotated <surgeries:structures>', 'structures the scenes of those surgeries show but nobody annotated (no mask, no folder), e.g. 01,04:ureter,colon (repeatable): patients labelled for their own step\'s classes only', surgeryStructures)
    .option('--json', 'print the summary as JSON', false)
    .action(async (opts: { out: string; surgeries: number; surgeryIds?: string; seed: number; size: Size; imagesPerSurgery: number; multilabelFraction: number; structureFolders: 'every-folder' | 'one-folder'; absent?: Record<string, DsadStructure[]>; unannotated?: Record<string, DsadStructure[]>; json: boolean }) => {
      const surgeryIds = opts.surgeryIds !== undefined ? ids(opts.surgeryIds) : undefined;
      await action({
        out: opts.out,
        surgeries: surgeryIds ? surgeryIds.length : opts.surgeries,
        ...(surgeryIds ? { surgeryIds } : {}),
        seed: opts.seed,
        size: opts.size,
        imagesPerSurgery: opts.imagesPerSurgery,
        multilabelFraction: opts.multilabelFraction,
        structureFolders: opts.structureFolders,
        ...(opts.absent ? { absent: opts.absent } : {}),
        ...(opts.unannotated ? { unannotated: opts.unannotated } : {}),
        json: opts.json,
      });
    });
}
