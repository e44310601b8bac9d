import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** Runs one session in a fresh process (ONNX Runtime reads the switch once a process) and says
 * whether that process left ONNX Runtime's telemetry log behind. */
function telemetryLogLeft(env: NodeJS.ProcessEnv): boolean {
  const ml = join(__dirname, '..', 'index.js');
  const script = `
    const ml = require(${JSON.stringify(ml)});
    const model = ml.exportInferenceModel({ model: (_h, i) => ({ y: i.x.mul(2) }), inputs: { x: { shape: [2] } }, weights: new Map() });
    ml.createSession(model).then((s) => s.release()).then(() => console.log(process.pid));`;
  const pid = execFileSync(process.execPath, ['-e', script], { env, encoding: 'utf8' }).trim();
  const log = `/tmp/mat-debug-${pid}.log`;
  const left = existsSync(log);
  rmSync(log, { force: true });
  return left;
}

/** The library starts no telemetry where one of these says it runs under CI (the names are in its
 * strings), so the children run without them: else the first check below would pass on any CI
 * machine with the switch gone, and the second would fail there. */
const CI_VARIABLES = ['CI', 'TF_BUILD', 'GITHUB_ACTIONS', 'GITLAB_CI', 'CIRCLECI', 'TRAVIS', 'JENKINS_URL', 'CODEBUILD_BUILD_ID', 'BUILDKITE', 'TEAMCITY_VERSION', 'BITBUCKET_BUILD_NUMBER'];

const envWithout = (...names: string[]) => Object.fromEntries(Object.entries(process.env).filter(([key]) => !names.includes(key)));

test('a session starts no ONNX Runtime telemetry unless the operator asks for it', { skip: process.platform !== 'linux' && 'the telemetry client is in the Linux library' }, () => {
  assert.equal(telemetryLogLeft(envWithout('ORT_DISABLE_TELEMETRY', ...CI_VARIABLES)), false, 'the platform switches telemetry off by itself');
  // The probe sees telemetry when it runs: the operator's explicit choice is kept.
  assert.equal(telemetryLogLeft({ ...envWithout(...CI_VARIABLES), ORT_DISABLE_TELEMETRY: '0' }), true, 'ORT_DISABLE_TELEMETRY=0 leaves it on');
});
