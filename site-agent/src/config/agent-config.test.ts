import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigError, executionProvidersOf, loadAgentConfig } from './agent-config';

/** A folder of the test's own, removed when the test ends. */
function tempFolder(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('file, environment and flags combine in that order; paths are relative to the file', (t) => {
  const dir = tempFolder(t);
  const file = join(dir, 'site.json');
  writeFileSync(file, JSON.stringify({ siteName: 'Hospital A', coordinator: 'coord:50051', dataRoot: 'images', stepSurgeries: [['01'], ['04']] }));
  const c = loadAgentConfig({ file, env: { FEDCISS_SITE_WORK_DIR: '/var/fedciss', FEDCISS_COORDINATOR: 'env-host:7000' }, flags: { coordinator: 'flag-host:9000' } });
  assert.equal(c.coordinator, 'flag-host:9000');
  assert.equal(c.enrollAddress, 'flag-host:9001', 'enrolment defaults to the next port');
  assert.equal(c.dataRoot, join(dir, 'images'));
  assert.equal(c.workDir, '/var/fedciss');
  assert.deepEqual(c.stepSurgeries, [['01'], ['04']]);
  assert.equal(c.executionProvider, 'cpu');
  assert.equal(c.trainingExecutionProvider, 'cpu', 'training runs where inference does unless told otherwise');
  assert.deepEqual(executionProvidersOf(c), ['cpu']);
});

test('training may run on another provider than inference (file, environment or flag)', (t) => {
  const dir = tempFolder(t);
  const file = join(dir, 'gpu.json');
  writeFileSync(file, JSON.stringify({ siteName: 'A', executionProvider: 'webgpu', trainingExecutionProvider: 'cpu' }));
  const c = loadAgentConfig({ file, env: {} });
  assert.deepEqual([c.executionProvider, c.trainingExecutionProvider], ['webgpu', 'cpu']);
  assert.deepEqual(executionProvidersOf(c), ['webgpu', 'cpu'], 'the coordinator is told both');
  assert.equal(loadAgentConfig({ file, env: { FEDCISS_TRAINING_EXECUTION_PROVIDER: 'webgpu' } }).trainingExecutionProvider, 'webgpu');
  assert.equal(loadAgentConfig({ file, env: {}, flags: { trainingExecutionProvider: 'cuda' } }).trainingExecutionProvider, 'cuda');
  assert.throws(() => loadAgentConfig({ file, env: {}, flags: { trainingExecutionProvider: 'gpu' } }), /trainingExecutionProvider: Invalid option: expected one of "cpu"\|"cuda"\|"webgpu"/);
});

test('bad settings are refused with a message that names the setting', (t) => {
  const env = {};
  assert.throws(() => loadAgentConfig({ env, flags: {} }), /siteName is required/);
  assert.throws(() => loadAgentConfig({ env, flags: { siteName: 'A', executionProvider: 'tpu' } }), /executionProvider: Invalid option: expected one of "cpu"\|"cuda"\|"webgpu"/);
  assert.throws(() => loadAgentConfig({ env: { FEDCISS_SITE_DATA_FORMAT: 'zip' }, flags: { siteName: 'A' } }), (e: unknown) => e instanceof AgentConfigError && /dataFormat: Invalid option/.test((e as Error).message));
  assert.throws(() => loadAgentConfig({ env, flags: { siteName: 'A', coordinator: 'no-port' } }), /coordinator: must be host:port/);
  assert.throws(() => loadAgentConfig({ env: { FEDCISS_SITE_THREADS: 'many' }, flags: { siteName: 'A' } }), /threads: Invalid input: expected number, received string/);
  const dir = tempFolder(t);
  writeFileSync(join(dir, 'bad.json'), '{ not json');
  assert.throws(() => loadAgentConfig({ file: join(dir, 'bad.json'), env }), /is not valid JSON/);
  writeFileSync(join(dir, 'steps.json'), JSON.stringify({ siteName: 'A', stepSurgeries: [['01'], ['1']] }));
  assert.throws(() => loadAgentConfig({ file: join(dir, 'steps.json'), env }), /stepSurgeries\[1\]\[0\]: is not a two-digit surgery number/);
});

test('a key the schema does not know is refused with its path; text forms of values are accepted', (t) => {
  const dir = tempFolder(t);
  writeFileSync(join(dir, 'typo.json'), JSON.stringify({ siteName: 'A', heartbeatSecond: 2, dataFormat: 'dsad' }));
  assert.throws(() => loadAgentConfig({ file: join(dir, 'typo.json'), env: {} }), /heartbeatSecond: unknown setting/);
  // fault injection is no setting of the agent (the e2e harness wraps the agent instead)
  writeFileSync(join(dir, 'faults.json'), JSON.stringify({ siteName: 'A', faults: ['nan-update'] }));
  assert.throws(() => loadAgentConfig({ file: join(dir, 'faults.json'), env: {} }), /faults: unknown setting/);
  const c = loadAgentConfig({ env: { FEDCISS_SITE_THREADS: '3', FEDCISS_SITE_INSECURE: 'true' }, flags: { siteName: 'A', trainSurgeries: '01, 04' } });
  assert.equal(c.threads, 3);
  assert.equal(c.insecure, true);
  assert.deepEqual(c.trainSurgeries, ['01', '04']);
  assert.equal(c.uploadChunkBytes, 1024 * 1024);
  assert.equal(c.heartbeatSeconds, 5);
});
