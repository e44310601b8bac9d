import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BenchUserError, benchOptions, numberInRange, oneOf, positiveIntegers, positiveNumber, valueOption } from './command';

/** A process whose main is `body` (a function's source), run through runBenchCommand. */
function runMain(body: string) {
  const script = `const { runBenchCommand, BenchUserError } = require(${JSON.stringify(join(__dirname, 'command.js'))});
runBenchCommand('probe', ${body});`;
  return spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
}

test('runBenchCommand: the exit code main returns; a user error as its message (2); a bug with its stack (1)', () => {
  const ok = runMain('async () => 0');
  assert.deepEqual([ok.status, ok.stderr], [0, '']);
  // a run that measured a failure returns 1 itself, and says so itself
  const failedRun = runMain('async () => 1');
  assert.deepEqual([failedRun.status, failedRun.stderr], [1, '']);
  // thrown before any await (reading the options) and after one
  for (const body of ["() => { throw new BenchUserError('--sites must be a positive integer'); }", "async () => { await null; throw new BenchUserError('--sites must be a positive integer'); }"]) {
    const r = runMain(body);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, 'bench:probe: --sites must be a positive integer\n');
  }
  const bug = runMain("async () => { await null; throw new TypeError('x is undefined'); }");
  assert.equal(bug.status, 1);
  assert.match(bug.stderr, /^bench:probe failed: TypeError: x is undefined\n\s+at /);
});

test('--help lists the options with their defaults and ends the command, exit 0, before it runs', () => {
  const r = runMain(`() => { require(${JSON.stringify(join(__dirname, 'command.js'))}).benchOptions(['--steps', '5', '--help'], { steps: { type: 'string', default: '500' }, 'no-torch': { type: 'boolean' } }); throw new Error('ran'); }`);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'bench:probe options:\n  --steps VALUE (default 500)\n  --no-torch\n');
  assert.equal(r.stderr, '');
});

test('runBenchCommand ends the process when main is done, though a timer of the run still holds it open', () => {
  const r = runMain('async () => { setInterval(() => {}, 1000); return 0; }');
  assert.equal(r.status, 0, 'exited (a spawn that timed out has status null)');
});

test('benchOptions reads values and flags, defaults, and --name=value', () => {
  const spec = { steps: valueOption(500), sizes: { type: 'string' }, 'no-torch': { type: 'boolean', default: false } } as const;
  assert.deepEqual({ ...benchOptions([], spec) }, { steps: '500', 'no-torch': false });
  assert.deepEqual({ ...benchOptions(['--steps', '20', '--sizes=64,128', '--no-torch'], spec) }, { steps: '20', sizes: '64,128', 'no-torch': true });
});

test('benchOptions refuses, naming it, an unknown option (listing the known ones), a missing value, a value for a flag, a stray argument', () => {
  const spec = { steps: { type: 'string' }, 'no-torch': { type: 'boolean' } } as const;
  const refused = (argv: string[], message: RegExp) => assert.throws(() => benchOptions(argv, spec), (e: unknown) => e instanceof BenchUserError && message.test(e.message));
  refused(['--stpes', '5'], /^Unknown option '--stpes' \(known: --steps, --no-torch\)$/);
  refused(['--steps'], /'--steps <value>' argument missing/);
  refused(['--no-torch=yes'], /'--no-torch' does not take an argument/);
  refused(['--steps', '5', '6'], /Unexpected argument '6'/);
  assert.throws(() => benchOptions(['--any'], {}), /Unknown option '--any' \(known: none\)/);
});

test('option values: positive numbers and integers, numbers in a range, integer lists, one of a set', () => {
  assert.equal(positiveNumber('--lr', '0.5'), 0.5);
  assert.equal(positiveNumber('--steps', '20', true), 20);
  for (const [raw, integer] of [['0', false], ['-1', false], ['', false], [' ', false], ['five', false], ['Infinity', false], ['2.5', true]] as const) {
    assert.throws(() => positiveNumber('--steps', raw, integer), new BenchUserError(`--steps must be a positive ${integer ? 'integer' : 'number'}, got '${raw}'`));
  }
  assert.deepEqual([numberInRange('--eta', '0', 0, 1), numberInRange('--eta', '1', 0, 1), numberInRange('--clip', '1e9', 0)], [0, 1, 1e9]);
  for (const raw of ['-0.1', '1.01', '', ' ', 'x', 'NaN']) assert.throws(() => numberInRange('--eta', raw, 0, 1), new BenchUserError(`--eta must be a number in [0, 1], got '${raw}'`));
  assert.throws(() => numberInRange('--confidence', '1', 0, 1, true), new BenchUserError("--confidence must be a number in [0, 1), got '1'"));
  for (const raw of ['-1', 'Infinity']) assert.throws(() => numberInRange('--clip', raw, 0), new BenchUserError(`--clip must be a number >= 0, got '${raw}'`));
  assert.deepEqual(positiveIntegers('--sizes', '64,128'), [64, 128]);
  for (const raw of ['64,', '', '64,0', '64,1.5', 'a']) assert.throws(() => positiveIntegers('--sizes', raw), new BenchUserError(`--sizes must be positive integers separated by commas, got '${raw}'`));
  assert.equal(oneOf('--ep', 'cuda', ['cpu', 'cuda']), 'cuda');
  assert.throws(() => oneOf('--ep', 'tpu', ['cpu', 'cuda']), new BenchUserError("--ep must be one of cpu, cuda, got 'tpu'"));
});
