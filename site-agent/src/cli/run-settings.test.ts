// A settings typo stops the real `site-agent run` process at start-up, naming the key's path,
// before it connects to anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'site-agent.js');

test('a typo in the agent settings stops site-agent run at start-up with the key\'s path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'run-settings-'));
  try {
    const file = join(dir, 'site.json');
    const run = () => spawnSync(process.execPath, [BIN, 'run', '--config', file], { encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH } });
    writeFileSync(file, JSON.stringify({ siteName: 'Hospital A', coordinator: '127.0.0.1:1', stepSurgeries: [['01']], uploadBytesPerSecnd: 1000 }));
    const typo = run();
    assert.equal(typo.status, 1, typo.stdout + typo.stderr);
    assert.match(typo.stderr, /uploadBytesPerSecnd: unknown setting/);
    assert.doesNotMatch(typo.stdout + typo.stderr, /agent started/);
    writeFileSync(file, JSON.stringify({ siteName: 'Hospital A', stepSurgeries: [['01'], ['4']], executionProvider: 'tpu' }));
    const two = run();
    assert.equal(two.status, 1);
    assert.match(two.stderr, /stepSurgeries\[1\]\[0\]: is not a two-digit surgery number/);
    assert.match(two.stderr, /executionProvider: Invalid option/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
