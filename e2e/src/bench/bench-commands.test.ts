import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/child';
import { tempFolder } from '../harness/temp-folder';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Every bench command of the project (ml/src/bench/command.ts says how they end): given bad input,
// each stops at start-up, before it measures anything, with exit code 2 and a message that names
// the input, and without a stack (the error is the user's, not a bug).
test('each bench command stops at start-up, exit 2, on bad input, naming it without a stack', (t) => {
  const dir = tempFolder(t, 'bench-commands-');
  writeFileSync(join(dir, 'a.json'), '{}');
  const underAFile = join(dir, 'a.json', 'result.json');
  const notAResult = join(dir, 'a.json');
  const cases: Array<[bench: string, script: string, args: string[], message: string]> = [
    ['engine', 'ml/dist/bench/engine.js', ['--stpes', '5'], "Unknown option '--stpes' (known: --steps, "],
    ['engine', 'ml/dist/bench/engine.js', ['--sizes', '64,x'], "--sizes must be positive integers separated by commas, got '64,x'"],
    ['engine', 'ml/dist/bench/engine.js', ['--ep', 'tpu'], "--ep must be one of cpu, cuda, webgpu, got 'tpu'"],
    ['diffusion', 'ml/dist/diffusion/bench.js', ['--ddim-steps', 'fifty'], "--ddim-steps must be a positive integer, got 'fifty'"],
    ['groupnorm', 'ml/dist/bench/groupnorm.js', ['--groups'], "Option '--groups <value>' argument missing"],
    // its size, batch and steps were positional before: a stray argument is refused, not taken as 64
    ['step', 'ml/dist/incremental/bench-step.js', ['64'], "Unexpected argument '64'"],
    ['step', 'ml/dist/incremental/bench-step.js', ['--training-ep', 'gpu'], "--training-ep must be one of cpu, cuda, webgpu, got 'gpu'"],
    ['data', 'site-agent/dist/bench/data.js', ['--model', '128by72'], "--model: size '128by72' is not WIDTHxHEIGHT"],
    ['aggregate', 'coordinator/dist/bench/aggregate.js', ['--updates', '0'], "--updates must be a positive integer, got '0'"],
    ['secagg', 'e2e/dist/bench/platform/secagg.js', ['--sites', '10'], "Unknown option '--sites' (known: none)"],
    ['all', 'e2e/dist/bench/platform/all.js', ['--engine-steps', '5'], "Unknown option '--engine-steps' (known: none)"],
    ['ciss', 'e2e/dist/bench/ciss/main.js', ['--setting', '6-5', '--quick', '--json', underAFile], `cannot write ${underAFile}: `],
    ['ciss', 'e2e/dist/bench/ciss/main.js', ['--setting', '6-5', '--quick', '--markdown', underAFile], `cannot write ${underAFile}: `],
    ['ciss', 'e2e/dist/bench/ciss/main.js', ['--frobnicate'], "unknown option '--frobnicate'"],
    ['ciss', 'e2e/dist/bench/ciss/main.js', ['--quick', '--sites', '0'], '--sites must be a positive integer'],
    ['ciss', 'e2e/dist/bench/ciss/main.js', ['--setting', 'liver;kidney'], "setting 'liver;kidney': unknown class 'kidney'"],
    // a training setting's typo, found by the coordinator's own parser before anything trains
    ['ciss', 'e2e/dist/bench/ciss/main.js', ['--quick', '--methods', 'ours', '--set', 'training.warmupFractoin=0.2'], "step0's training settings at step 0: warmupFractoin: unknown setting"],
    ['ciss:compare', 'e2e/dist/bench/ciss/compare-main.js', ['--frobnicate'], 'unknown option --frobnicate'],
    ['ciss:compare', 'e2e/dist/bench/ciss/compare-main.js', [notAResult, notAResult], `${notAResult} is not a result of bench:ciss --json`],
    ['replay', 'e2e/dist/bench/replay/main.js', ['--quick', '--json', underAFile], `cannot write ${underAFile}: `],
    ['replay', 'e2e/dist/bench/replay/main.js', ['--seeds', '0'], "--seeds must be a positive integer, got '0'"],
    ['replay', 'e2e/dist/bench/replay/main.js', ['--quick', '--seeds', '1', '--load-generator', notAResult], `--load-generator: ${notAResult} is not a generator saved by bench:replay (`],
    ['replay', 'e2e/dist/bench/replay/main.js', ['--quick', '--seeds', '1', '--load-generator', join(dir, 'absent.safetensors')], `--load-generator: ${join(dir, 'absent.safetensors')} is not a generator saved by bench:replay (ENOENT`],
    ['scale', 'e2e/dist/bench/scale/main.js', ['--sections', 'transfer', '--json', underAFile], `cannot write ${underAFile}: `],
    ['scale', 'e2e/dist/bench/scale/main.js', ['--sites', 'ten'], "--sites must be positive integers separated by commas, got 'ten'"],
    ['scale', 'e2e/dist/bench/scale/main.js', ['--robust', '100'], "--robust must be SITESxMB with at least 2 sites and 1 MiB, e.g. 100x200, got '100'"],
    ['scale', 'e2e/dist/bench/scale/main.js', ['--frobnicate'], "Unknown option '--frobnicate' (known: --quick, --json, --sites, --models, --robust, --sections)"],
  ];
  for (const [bench, script, args, message] of cases) {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, script), ...args], { encoding: 'utf8', timeout: 60_000 });
    const what = `bench:${bench} ${args.join(' ')}: ${r.stderr}`;
    assert.equal(r.status, 2, what);
    assert.match(r.stderr, new RegExp(`^bench:${escape(bench)}: ${escape(message)}`, 'm'), what);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack (${what})`);
  }
});

test('a bench command reading its options with benchOptions answers --help with them, exit 0, measuring nothing', () => {
  for (const [bench, script, option] of [['engine', 'ml/dist/bench/engine.js', '--steps VALUE (default 500)'], ['scale', 'e2e/dist/bench/scale/main.js', '--sections VALUE']]) {
    const r = spawnSync(process.execPath, [join(REPO_ROOT, script), '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `bench:${bench} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^bench:${bench} options:\\n(.*\\n)*  ${escape(option)}\\n`));
  }
});
