/** `--reuse-step0 D`: the step-0 files an earlier run of a seed left in its working folder. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { STEP0 } from './methods';
import type { Step0 } from './run';

/** The step 0 of `seedDir` (D/seed-N), or undefined when that run has no step-0 folder at all (the
 * seed was not in it: the bench trains that seed's step 0). A folder that is there but lacks a file
 * the methods need is an error naming the file. Its figures are in that run's report. */
export function reusedStep0(seedDir: string, generator: boolean): Step0 | undefined {
  const dir = join(seedDir, 'runs', 'step0');
  if (!existsSync(dir)) return undefined;
  const segmenterFile = join(dir, 'step0-segmenter.safetensors');
  const generatorFile = join(dir, 'step0-generator.safetensors');
  for (const f of [segmenterFile, ...(generator ? [generatorFile] : [])]) if (!existsSync(f)) throw new Error(`--reuse-step0: ${f} does not exist`);
  return { segmenterFile, generatorFile: generator ? generatorFile : undefined, result: { ...STEP0, label: `${STEP0.label}, reused from ${seedDir}`, old: null, new: null, all: null, perClass: {}, steps: [], rounds: [], roundEvaluationSeconds: null, seconds: 0 } };
}
