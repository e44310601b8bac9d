import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { growHeapForTransfers } from './heap-tuning';

// V8 ignores a flag it does not know without a word (setFlagsFromString returns nothing), so a
// Node.js whose V8 renamed this one would quietly lose the setting: this V8 must list it.
test('this V8 knows --heap-growing-percent', () => {
  const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
  assert.match(options, /^\s*--heap-growing-percent\b/m);
});

// The setting's effect is measured where it shows, in a real round: bench:scale's models section
// counts each end's full collections (majorGcs).
test('an operator\'s own --heap-growing-percent wins; without one the setting is made', () => {
  assert.equal(growHeapForTransfers(['--heap-growing-percent=50']), false);
  assert.equal(growHeapForTransfers(['--heap_growing_percent', '50']), false);
  assert.equal(growHeapForTransfers(['--max-old-space-size=4096']), true);
});
