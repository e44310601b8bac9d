/** `--reuse-step0 D`: the step-0 files an earlier run of a seed left in its working folder. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchUserError } from '@fedciss/ml/bench';
import { STEP0 } from './methods';
import type { Step0 } from './run';
import type { MethodResult } from './table';

/** Step 0's figures (its report's mIoU, per class, its time) beside its models, so a run that reuses
 * them still has the step-0 row and the gates that read it (fine-tuning forgets). */
const RESULT_FILE = 'step0-result.json';

/** Keeps step 0's figures in its folder (`dir`, where its models are). */
export function keepStep0Result(dir: string, result: MethodResult): void {
  writeFileSync(join(dir, RESULT_FILE), `${JSON.stringify(result, null, 2)}\n`);
}

/** The step 0 of `seedDir` (D/seed-N), or undefined when that run has no step-0 folder at all (the
 * seed was not in it: the bench trains that seed's step 0). A folder that is there but lacks a file
 * the methods need is an error naming the file. Its figures come from the run that trained it; a
 * folder from before they were kept has none (the report shows a dash). */
export function reusedStep0(seedDir: string, generator: boolean): Step0 | undefined {
  const dir = join(seedDir, 'runs', 'step0');
  if (!existsSync(dir)) return undefined;
  const segmenterFile = join(dir, 'step0-segmenter.safetensors');
  const generatorFile = join(dir, 'step0-generator.safetensors');
  for (const f of [segmenterFile, ...(generator ? [generatorFile] : [])]) if (!existsSync(f)) throw new BenchUserError(`--reuse-step0: ${f} does not exist`);
  const label = `${STEP0.label}, reused from ${seedDir}`;
  const resultFile = join(dir, RESULT_FILE);
  const result: MethodResult = existsSync(resultFile)
    ? { ...keptResult(resultFile), label }
    : { ...STEP0, label, old: null, new: null, all: null, perClass: {}, steps: [], rounds: [], roundEvaluationSeconds: null, seconds: 0 };
  return { segmenterFile, generatorFile: generator ? generatorFile : undefined, result };
}

function keptResult(file: string): MethodResult {
  let r: Partial<MethodResult>;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Partial<MethodResult>;
  } catch (e) {
    throw new BenchUserError(`--reuse-step0: ${file} is not JSON (${(e as Error).message})`);
  }
  if (r.id !== STEP0.id || typeof r.perClass !== 'object' || r.perClass === null) throw new BenchUserError(`--reuse-step0: ${file} is not a step-0 result (id "${String(r.id)}", expected "${STEP0.id}" with perClass)`);
  return r as MethodResult;
}
