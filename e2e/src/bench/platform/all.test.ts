import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastJson } from './all';

test('a benchmark\'s JSON is found after the log lines it printed', () => {
  assert.deepEqual(lastJson('compiling...\n{"a": 1,\n "b": [2]}\n'), { a: 1, b: [2] });
  assert.deepEqual(lastJson('{not json at all\n{"ok": true}'), { ok: true });
  assert.throws(() => lastJson('no json here'), /no JSON document/);
});
