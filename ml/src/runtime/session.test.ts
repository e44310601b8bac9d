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

const envWithout = (name: string) => Object.fromEntries(Object.entries(process.env).filter(([key]) => key !== name));

test('a session starts no ONNX Runtime telemetry unless the operator asks for it', { skip: process.platform !== 'linux' && 'the telemetry client is in the Linux library' }, () => {
  assert.equal(telemetryLogLeft(envWithout('ORT_DISABLE_TELEMETRY')), false, 'the platform switches telemetry off by itself');
  // The probe sees telemetry when it runs: the operator's explicit choice is kept.
  assert.equal(telemetryLogLeft({ ...process.env, ORT_DISABLE_TELEMETRY: '0' }), true, 'ORT_DISABLE_TELEMETRY=0 leaves it on');
});
