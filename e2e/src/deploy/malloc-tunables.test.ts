// The allocator settings cross from the code (@fedciss/proto's MALLOC_TUNABLES, which the test
// harness and the benchmarks start processes with) to the files a deployment starts the programs
// from: the container images and the systemd unit must carry the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MALLOC_TUNABLES } from '@fedciss/proto';
import { REPO_ROOT } from '../harness/child';

const occurrences = (text: string, what: string) => text.split(what).length - 1;

test('both container images start their program with MALLOC_TUNABLES', () => {
  const containerfile = readFileSync(join(REPO_ROOT, 'deploy', 'Containerfile'), 'utf8');
  const stages = containerfile.split(/^FROM /m).filter((s) => /^\$\{NODE_IMAGE\} AS (coordinator|site-agent)\s*$/m.test(s.split('\n')[0]!));
  assert.deepEqual(stages.map((s) => s.split('\n')[0]!.split(' AS ')[1]!.trim()), ['coordinator', 'site-agent']);
  for (const stage of stages) assert.equal(occurrences(stage, `GLIBC_TUNABLES=${MALLOC_TUNABLES} `), 1, stage.split('\n')[0]);
});

test('the site agent\'s systemd unit starts it with MALLOC_TUNABLES', () => {
  const unit = readFileSync(join(REPO_ROOT, 'deploy', 'systemd', 'fedciss-site-agent.service'), 'utf8');
  assert.match(unit, new RegExp(`^Environment=GLIBC_TUNABLES=${MALLOC_TUNABLES.replace(/\./g, '\\.')}$`, 'm'));
});
