import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { MALLOC_TUNABLES, mallocTuningWarning, missingMallocTunables, withMallocTunables } from './malloc-tuning';

test('the settings are added to an environment without GLIBC_TUNABLES, and the rest of it is kept', () => {
  const env = withMallocTunables({ PATH: '/bin', GLIBC_TUNABLES: undefined });
  assert.equal(env.GLIBC_TUNABLES, 'glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=67108864');
  assert.equal(env.PATH, '/bin');
  assert.deepEqual(missingMallocTunables(env), []);
  assert.equal(mallocTuningWarning(env), undefined);
});

test('tunables the environment already sets keep their values; others of ours are appended', () => {
  const env = withMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.trim_threshold=1:glibc.malloc.arena_max=2' });
  assert.equal(env.GLIBC_TUNABLES, 'glibc.malloc.trim_threshold=1:glibc.malloc.arena_max=2:glibc.malloc.mmap_threshold=33554432');
  assert.deepEqual(missingMallocTunables(env), []);
});

test('a process started without them is told which are missing and what to set', () => {
  assert.deepEqual(missingMallocTunables({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1' }), ['glibc.malloc.trim_threshold']);
  const warning = mallocTuningWarning({});
  assert.match(warning!, /does not set glibc\.malloc\.mmap_threshold, glibc\.malloc\.trim_threshold/);
  assert.ok(warning!.includes(`GLIBC_TUNABLES=${MALLOC_TUNABLES}`));
});

// glibc's own reading of the variable: the dynamic loader lists the tunables as a process started
// with this environment gets them (glibc 2.33 and later; this machine's Debian 12 has 2.36).
const loader = '/lib64/ld-linux-x86-64.so.2';
test('glibc reads the settings as meant: 32 MiB and 64 MiB', { skip: !existsSync(loader) && 'no glibc x86-64 loader here' }, () => {
  const listed = execFileSync(loader, ['--list-tunables'], { env: withMallocTunables({}), encoding: 'utf8' });
  assert.match(listed, /^glibc\.malloc\.mmap_threshold: 0x2000000 /m);
  assert.match(listed, /^glibc\.malloc\.trim_threshold: 0x4000000 /m);
});
