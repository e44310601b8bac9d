import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentConfigError, loadAgentConfig } from './agent-config';

test('file, environment and flags combine in that order; paths are relative to the file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
  const file = join(dir, 'site.json');
  writeFileSync(file, JSON.stringify({ siteName: 'Hospital A', coordinator: 'coord:50051', dataRoot: 'images', stepSurgeries: [['01'], ['04']] }));
  const c = loadAgentConfig({ file, env: { FEDCISS_SITE_WORK_DIR: '/var/fedciss', FEDCISS_COORDINATOR: 'env-host:7000' }, flags: { coordinator: 'flag-host:9000' } });
  assert.equal(c.coordinator, 'flag-host:9000');
  assert.equal(c.enrollAddress, 'flag-host:9001', 'enrolment defaults to the next port');
  assert.equal(c.dataRoot, join(dir, 'images'));
  assert.equal(c.workDir, '/var/fedciss');
  assert.deepEqual(c.stepSurgeries, [['01'], ['04']]);
  assert.equal(c.executionProvider, 'cpu');
  assert.deepEqual(c.faults, []);
});

test('bad settings are refused with a message that names the setting', () => {
  const env = {};
  assert.throws(() => loadAgentConfig({ env, flags: {} }), /setting 'siteName' is required/);
  assert.throws(() => loadAgentConfig({ env, flags: { siteName: 'A', executionProvider: 'tpu' } }), /executionProvider must be cpu, cuda or webgpu \(got 'tpu'\)/);
  assert.throws(() => loadAgentConfig({ env: { FEDCISS_SITE_FAULTS: 'explode' }, flags: { siteName: 'A' } }), (e: unknown) => e instanceof AgentConfigError && /unknown fault 'explode'/.test((e as Error).message));
  assert.throws(() => loadAgentConfig({ env, flags: { siteName: 'A', coordinator: 'no-port' } }), /must be host:port/);
  const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
  writeFileSync(join(dir, 'bad.json'), '{ not json');
  assert.throws(() => loadAgentConfig({ file: join(dir, 'bad.json'), env }), /is not valid JSON/);
  writeFileSync(join(dir, 'steps.json'), JSON.stringify({ siteName: 'A', stepSurgeries: [['1']] }));
  assert.throws(() => loadAgentConfig({ file: join(dir, 'steps.json'), env }), /stepSurgeries\[0\]: '1' is not a two-digit surgery number/);
});
