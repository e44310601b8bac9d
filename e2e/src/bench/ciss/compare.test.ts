import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchUserError } from '@fedciss/ml/bench';
import { compareResults, comparisonMarkdown, methodPairs } from './compare';
import { summarise, type BenchResult } from './table';
import { tempFolder } from '../../harness/temp-folder';

/** One seed's run of a method, as the bench records it. */
const run = (id: string, seed: number, old: number, nw: number, all: number, error?: string) => ({
  id, label: id, recipe: 'r', old, new: nw, all, perClass: { liver: old, ureter: nw }, steps: [], rounds: [], roundEvaluationSeconds: null, seconds: 1, seed, ...(error ? { error } : {}),
});

/** A whole bench:ciss result, built by the bench's own summarise (the format compare reads). */
function result(methods: Record<string, Parameters<typeof summarise>[0]>, step0: number[] | null = null, setting = '6-5'): BenchResult {
  return {
    setting, scenes: 'disjoint', schedule: [['liver'], ['ureter']], profile: 'quick', sites: 2, seeds: [1, 2, 3],
    step0: step0 && summarise(step0.map((all, i) => run('step0', i + 1, all, 0, all))),
    methods: Object.fromEntries(Object.entries(methods).map(([id, runs]) => [id, summarise(runs)])),
    machine: { cpus: 2, cpuModel: 'c', memoryGiB: 1, node: 'v', platform: 'p' }, startedAt: 't', seconds: 1, gates: [], options: {},
  };
}

const reference = result({ ours: [run('ours', 1, 40, 20, 30), run('ours', 2, 42, 22, 32), run('ours', 3, 44, 24, 34)], mib: [run('mib', 1, 30, 20, 25), run('mib', 2, 31, 21, 26), run('mib', 3, 32, 22, 27)] }, [44.55, 36.87, 44.16]);
// ours: old differences 1, 3, 0 (mean 4/3, sd sqrt(7/3) = 1.53: inside the spread); new 2, 2.5, 3
// (mean 2.5, sd 0.5: beyond it); seed 4 only in the run, left out
const changed = result({ ours: [run('ours', 1, 41, 22, 31), run('ours', 2, 45, 24.5, 33), run('ours', 3, 44, 27, 34), run('ours', 4, 99, 99, 99)], joint: [run('joint', 1, 1, 1, 1), run('joint', 2, 1, 1, 1)] }, [44.55, 36.87, 44.16]);

test('paired by seed: the mean ± sd of the per-seed differences, beyond the spread only when the mean exceeds the sd', () => {
  const c = compareResults(reference, changed, methodPairs(reference, changed));
  assert.deepEqual(c.methods.map((m) => m.run), ['ours'], 'only the methods both results hold');
  const ours = c.methods[0];
  assert.deepEqual(ours.seeds, [1, 2, 3]);
  assert.deepEqual(ours.old, { reference: 42, run: 43.33, delta: { mean: 1.33, sd: 1.53 }, beyondSpread: false });
  assert.deepEqual(ours.new, { reference: 22, run: 24.5, delta: { mean: 2.5, sd: 0.5 }, beyondSpread: true });
  assert.deepEqual(ours.perClass.ureter, { reference: 22, run: 24.5, delta: 2.5 });
  assert.deepEqual(c.step0Differs, [], 'the same step-0 models');
  const md = comparisonMarkdown(c, { reference: 'a.json', run: 'b.json' });
  assert.match(md, /\| ours \| ours \| 1, 2, 3 \| 42\.0 -> 43\.3 \| 22\.0 -> 24\.5 \| 32\.0 -> 32\.7 \| \+1\.3 ± 1\.5 \| \*\*\+2\.5 ± 0\.5\*\* \|/);
});

test('a method named on one side is compared with its namesake; across methods when both are named', () => {
  assert.deepEqual(methodPairs(reference, changed, 'ours'), [{ reference: 'ours', run: 'ours' }]);
  const c = compareResults(reference, reference, methodPairs(reference, reference, 'mib', 'ours'));
  assert.deepEqual(c.methods[0].old.delta, { mean: 11, sd: 1 }, 'ours − MiB: 10, 11, 12');
});

test('runs that cannot be paired are refused with the reason; step-0 models that differ are reported', () => {
  assert.throws(() => compareResults(reference, result({ ours: [run('ours', 1, 1, 1, 1)] }, null, '6-1'), [{ reference: 'ours', run: 'ours' }]), (e: Error) => e instanceof BenchUserError && /differ in setting: the reference's is "6-5", the run's "6-1"/.test(e.message));
  assert.throws(() => compareResults(reference, changed, [{ reference: 'plop', run: 'plop' }]), /reference has no method "plop"; it has: ours, mib/);
  const oneSeed = result({ ours: [run('ours', 1, 1, 1, 1), run('ours', 2, 0, 0, 0, 'crashed')] });
  assert.throws(() => compareResults(reference, oneSeed, [{ reference: 'ours', run: 'ours' }]), /share only seed 1 measured on both sides; a paired comparison needs two or more/);
  const jointOnly = result({ joint: [run('joint', 1, 1, 1, 1)] });
  assert.throws(() => compareResults(reference, jointOnly, methodPairs(reference, jointOnly)), /share none/);
  const otherStart = result({ ours: changed.methods.ours.perSeed }, [44.55, 35.1, 44.2]);
  assert.deepEqual(compareResults(reference, otherStart, [{ reference: 'ours', run: 'ours' }]).step0Differs, [{ seed: 2, reference: 36.87, run: 35.1 }], 'seed 3 agrees to 0.04: one model');
});

test('the command compares two result files, writes JSON, and names a bad input with exit code 2', (t) => {
  const dir = tempFolder(t, 'ciss-compare-');
  const a = join(dir, 'a.json');
  const b = join(dir, 'b.json');
  writeFileSync(a, JSON.stringify(reference));
  writeFileSync(b, JSON.stringify(changed));
  const main = join(__dirname, 'compare-main.js');
  const cmd = (...args: string[]) => spawnSync(process.execPath, [main, ...args], { encoding: 'utf8' });
  const ok = cmd(`${a}:ours`, b, '--json', join(dir, 'c.json'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /b\.json against a\.json, paired by seed/);
  assert.match(ok.stdout, /\| ureter \| 22\.0 \| 24\.5 \| \+2\.5 \|/);
  assert.deepEqual(JSON.parse(readFileSync(join(dir, 'c.json'), 'utf8')).methods[0].new.delta, { mean: 2.5, sd: 0.5 });
  writeFileSync(join(dir, 'bad.json'), '{"rows": []}');
  const bad = cmd(a, join(dir, 'bad.json'));
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /bad\.json is not a result of bench:ciss --json/);
  const missing = cmd(a, join(dir, 'none.json'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /cannot read .*none\.json/);
  const unwritable = cmd(a, b, '--json', join(a, 'c.json')); // a file, not a folder
  assert.equal(unwritable.status, 2);
  assert.match(unwritable.stderr, /cannot write .*a\.json\/c\.json/);
});
