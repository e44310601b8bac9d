import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_TRAINING, parseTrainingSettings, resolveConfig } from './coordinator-config';

test('flags win over variables, variables over the defaults; text is coerced', () => {
  const c = resolveConfig({ env: { FEDCISS_QUORUM: '3', FEDCISS_TICK_MS: '50', FEDCISS_STRAGGLERS: 'wait' }, flags: { quorum: '4', grpcAddress: '0.0.0.0:7000' } });
  assert.equal(c.rounds.quorum, 4);
  assert.equal(c.tickMs, 50);
  assert.equal(c.rounds.stragglers, 'wait');
  assert.equal(c.enrollAddress, '0.0.0.0:7001');
  assert.equal(c.rounds.deadlineSeconds, 600);
  assert.equal(c.rounds.generatorFailuresPerStep, 3);
  assert.equal(resolveConfig({ env: { FEDCISS_GENERATOR_FAILURES: '5' } }).rounds.generatorFailuresPerStep, 5);
  assert.deepEqual(c.enrollment, { mode: 'invitation', maxPendingPerAddress: 10, maxPending: 200, pendingExpirySeconds: 604800 });
  assert.deepEqual(c.training, DEFAULT_TRAINING);
});

test('enrolment needs an invitation under mutual TLS unless opened by flag or variable; the loopback demo is open', () => {
  assert.equal(resolveConfig({}).enrollment.mode, 'invitation');
  assert.equal(resolveConfig({ flags: { openEnrollment: true } }).enrollment.mode, 'open');
  assert.equal(resolveConfig({ env: { FEDCISS_OPEN_ENROLLMENT: '1' } }).enrollment.mode, 'open');
  assert.equal(resolveConfig({ flags: { insecure: true } }).enrollment.mode, 'open');
});

test('every bad setting is reported at once with its flag and variable', () => {
  assert.throws(
    () => resolveConfig({ env: { FEDCISS_QUORUM: 'two' }, flags: { stragglers: 'never', httpPort: '70000', tickMs: '5', generatorFailures: '0' } }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /^5 problems with the settings/);
      assert.match(e.message, /rounds\.generatorFailuresPerStep \(--generator-failures or FEDCISS_GENERATOR_FAILURES\): Too small/);
      assert.match(e.message, /rounds\.quorum \(--quorum or FEDCISS_QUORUM\): Invalid input: expected number/);
      assert.match(e.message, /rounds\.stragglers \(--stragglers or FEDCISS_STRAGGLERS\): Invalid option/);
      assert.match(e.message, /httpPort \(--http-port or FEDCISS_HTTP_PORT\): Too big/);
      assert.match(e.message, /tickMs \(--tick-ms or FEDCISS_TICK_MS\): Too small/);
      return true;
    },
  );
});

test('training settings: nested defaults merged, unknown keys and bad aggregation options refused by path', () => {
  const t = parseTrainingSettings(JSON.stringify({ generatorTraining: { epochs: 5 }, lossWeights: { unbiasedCe: 1 }, aggregation: { strategy: 'fedprox', proximalMu: 0.01 } }), 't.json');
  // a generatorTraining without `seconds` trains by epochs; batch and rate default to the replay recipe's
  assert.deepEqual(t.generatorTraining, { epochs: 5, batchSize: 16, learningRate: 1e-3, seconds: 0 });
  assert.deepEqual(t.lossWeights, { ce: 0, unbiasedCe: 1, separatedCe: 1, replayCe: 0, kd: 10, pod: 0, contrastive: 0, dice: 0 });
  assert.equal(t.replayImages, 16, 'replay is on: each site decides whether it pays (replay check)');
  assert.equal(t.aggregation.proximalMu, 0.01);
  assert.equal(t.serverDistillation.images, DEFAULT_TRAINING.serverDistillation.images);
  assert.equal(t.warmupFraction, 0.1, "each round's learning rate warms up over a tenth of its steps");
  assert.equal(parseTrainingSettings('{"warmupFraction":0}', 't.json').warmupFraction, 0);
  assert.equal(t.endpointFusion, 0, "a step's final model is not fused with its start unless asked");
  assert.equal(parseTrainingSettings('{"endpointFusion":0.2}', 't.json').endpointFusion, 0.2);
  const refused = (json: unknown, pattern: RegExp) => assert.throws(() => parseTrainingSettings(JSON.stringify(json), 't.json'), (e: unknown) => e instanceof ConfigError && pattern.test(e.message));
  refused({ localEpoch: 1 }, /^t\.json: localEpoch: unknown setting/);
  refused({ serverDistillation: { imags: 4 } }, /serverDistillation\.imags: unknown setting/);
  refused({ lossWeights: { ce: -1 } }, /lossWeights\.ce: Too small/);
  refused({ warmupFraction: 1 }, /warmupFraction: Too big/);
  refused({ endpointFusion: 1 }, /endpointFusion: Too big/);
  refused({ endpointFusion: -0.1 }, /endpointFusion: Too small/);
  refused({ aggregation: { strategy: 'median', trimFraction: 0.1 } }, /aggregation: trimFraction is not used by strategy median/);
  refused({ aggregation: { strategy: 'trimmed-mean', trimFraction: 0.7 } }, /aggregation: trimFraction must be a finite number in \[0, 0\.5\)/);
  refused([1, 2], /\(top level\): Invalid input: expected object/);
});

test("a generator round that cannot hold the sites' training time is refused at start-up, naming both settings", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'round-fit-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'training.json');
  writeFileSync(file, JSON.stringify({ generatorTraining: { seconds: 600 } }));
  // The defaults fit: four rounds of 150 s of training in a 600 s deadline.
  const defaults = resolveConfig({});
  assert.equal(defaults.rounds.generatorRounds, 4);
  assert.ok(defaults.training.generatorTraining.seconds + 60 <= defaults.rounds.deadlineSeconds);
  // 600 s of training in a round that stops collecting at 600 s: every generator round would fail.
  assert.throws(
    () => resolveConfig({ flags: { trainingFile: file } }),
    (e: unknown) => e instanceof ConfigError
      && e.message.startsWith(`${file}: generatorTraining.seconds is 600, but a generator round stops collecting after rounds.deadlineSeconds = 600 s`)
      && /raise rounds\.deadlineSeconds \(--deadline or FEDCISS_ROUND_DEADLINE_S\) to at least 660/.test(e.message),
  );
  assert.equal(resolveConfig({ flags: { trainingFile: file, deadline: '660' } }).training.generatorTraining.seconds, 600);
  // Under `wait` a round collects until its hard limit.
  assert.equal(resolveConfig({ flags: { trainingFile: file, stragglers: 'wait' } }).rounds.hardLimitSeconds, 1800);
  assert.throws(() => resolveConfig({ flags: { trainingFile: file, stragglers: 'wait', hardLimit: '620' } }), /rounds\.hardLimitSeconds = 620 s \(straggler policy wait\).*--hard-limit or FEDCISS_ROUND_HARD_LIMIT_S/);
  // No generator rounds, nothing to fit; the defaults' own budget in a short deadline is named too.
  assert.equal(resolveConfig({ flags: { trainingFile: file, generatorRounds: '0' } }).rounds.generatorRounds, 0);
  assert.throws(() => resolveConfig({ flags: { trainingFile: file, generatorRounds: '0', laterStepGeneratorRounds: '1' } }), /generatorTraining\.seconds is 600/, 'later steps\' generator rounds must fit too');
  assert.throws(() => resolveConfig({ flags: { deadline: '120' } }), (e: unknown) => e instanceof ConfigError && e.message.startsWith('the default training settings: generatorTraining.seconds is 150'));
});

test('later steps keep the generator they have unless rounds.laterStepGeneratorRounds says otherwise', () => {
  assert.equal(resolveConfig({ env: {} }).rounds.laterStepGeneratorRounds, 0);
  assert.equal(resolveConfig({ env: { FEDCISS_LATER_STEP_GENERATOR_ROUNDS: '2' } }).rounds.laterStepGeneratorRounds, 2);
  assert.equal(resolveConfig({ env: { FEDCISS_LATER_STEP_GENERATOR_ROUNDS: '2' }, flags: { laterStepGeneratorRounds: '1' } }).rounds.laterStepGeneratorRounds, 1, 'the flag wins');
  assert.throws(() => resolveConfig({ env: { FEDCISS_LATER_STEP_GENERATOR_ROUNDS: '-1' } }), (e: Error) => e.message.includes('rounds.laterStepGeneratorRounds') && e.message.includes('--later-step-generator-rounds or FEDCISS_LATER_STEP_GENERATOR_ROUNDS'));
});
