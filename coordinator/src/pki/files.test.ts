// copyFileAtomic (what `coordinator models export` writes a version's weights with): the bytes of
// the source under the asked mode, whatever the source's mode; a failed copy leaves the target as
// it was and no temporary file behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyFileAtomic, PUBLIC_FILE_MODE } from './files';

test('copyFileAtomic: the same bytes under the asked mode; a failed copy changes nothing and leaves nothing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'copy-atomic-'));
  try {
    const bytes = randomBytes(3 * 1024 * 1024 + 7);
    writeFileSync(join(dir, 'blob'), bytes, { mode: 0o600 });
    copyFileAtomic(join(dir, 'blob'), join(dir, 'out', 'model.safetensors'), PUBLIC_FILE_MODE);
    assert.ok(readFileSync(join(dir, 'out', 'model.safetensors')).equals(bytes));
    assert.equal(statSync(join(dir, 'out', 'model.safetensors')).mode & 0o777, PUBLIC_FILE_MODE);

    assert.throws(() => copyFileAtomic(join(dir, 'missing'), join(dir, 'out', 'model.safetensors'), PUBLIC_FILE_MODE), /ENOENT/);
    assert.ok(readFileSync(join(dir, 'out', 'model.safetensors')).equals(bytes), 'the target is as it was');
    assert.deepEqual(readdirSync(join(dir, 'out')), ['model.safetensors'], 'no temporary file left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
