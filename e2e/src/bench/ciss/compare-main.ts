/**
 * `npm run bench:ciss:compare -- REFERENCE.json[:METHOD] RUN.json[:METHOD] [--json F] [--markdown F]`
 *
 * How a change moved each method: two results of `bench:ciss --json` compared paired by seed
 * (compare.ts). Exit code 0 when compared, 2 for a usage or input error.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { BenchUserError, runBenchCommand } from '@fedciss/ml/bench';
import { compareResults, comparisonMarkdown, methodPairs } from './compare';
import type { BenchResult } from './table';
import { checkOutputFile, writeOutputFile, writeOutputJson } from '../output-file';

const USAGE = `npm run bench:ciss:compare -- REFERENCE.json[:METHOD] RUN.json[:METHOD] [--json F] [--markdown F]
  Compares two results of bench:ciss --json, paired by seed (run − reference, mean ± sd over the
  seeds both measured), method by method, with each class's IoU.
  METHOD     the method of that file (e.g. runs.json:ours); named on one side only, the same method
             on both; named on neither, every method both files hold
  --json F   write the comparison as JSON
  --markdown F  write it as Markdown (it is printed either way)`;

interface CompareArgs {
  reference: { file: string; method?: string };
  run: { file: string; method?: string };
  json?: string;
  markdown?: string;
}

/** `file.json:method` or `file.json` (a path ending in .json has no method). */
function fileAndMethod(arg: string): { file: string; method?: string } {
  const at = arg.lastIndexOf(':');
  if (arg.endsWith('.json') || at <= 0) return { file: arg };
  return { file: arg.slice(0, at), method: arg.slice(at + 1) };
}

function parseArgs(argv: readonly string[]): CompareArgs | 'help' {
  const positional: string[] = [];
  const out: Partial<CompareArgs> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--help' || a === '-h') return 'help';
    if (a === '--json' || a === '--markdown') {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new BenchUserError(`${a} needs a file`);
      out[a === '--json' ? 'json' : 'markdown'] = v;
    } else if (a.startsWith('--')) throw new BenchUserError(`unknown option ${a}\n${USAGE}`);
    else positional.push(a);
  }
  if (positional.length !== 2) throw new BenchUserError(`give two results, the reference and the run (got ${positional.length})\n${USAGE}`);
  return { ...out, reference: fileAndMethod(positional[0]), run: fileAndMethod(positional[1]) };
}

function loadResult(file: string): BenchResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new BenchUserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new BenchUserError(`${file} is not JSON: ${(e as Error).message}`);
  }
  const r = value as Partial<BenchResult> | null;
  if (!r || typeof r !== 'object' || typeof r.setting !== 'string' || !r.methods || typeof r.methods !== 'object') {
    throw new BenchUserError(`${file} is not a result of bench:ciss --json (it lacks "setting" or "methods")`);
  }
  return r as BenchResult;
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  if (args === 'help') {
    console.log(USAGE);
    return 0;
  }
  for (const file of [args.json, args.markdown]) if (file) checkOutputFile(file);
  const reference = loadResult(args.reference.file);
  const run = loadResult(args.run.file);
  const comparison = compareResults(reference, run, methodPairs(reference, run, args.reference.method, args.run.method));
  const markdown = comparisonMarkdown(comparison, { reference: basename(args.reference.file), run: basename(args.run.file) });
  console.log(markdown);
  if (args.json) writeOutputJson(args.json, comparison);
  if (args.markdown) writeOutputFile(args.markdown, markdown + '\n');
  return 0;
}

runBenchCommand('ciss:compare', main);
