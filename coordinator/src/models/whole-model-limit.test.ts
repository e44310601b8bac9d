import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WHOLE_MODEL_LIMIT_BYTES, wholeModelRefusal } from './whole-model-limit';

test('a step that holds the whole model is refused above the limit, with the sizes and the steps named', () => {
  const gib = 1024 ** 3;
  assert.equal(wholeModelRefusal(2.5 * gib, []), null, 'nothing needs the whole model');
  assert.equal(wholeModelRefusal(WHOLE_MODEL_LIMIT_BYTES, ['clipping']), null, 'at the limit it still fits');
  assert.equal(
    wholeModelRefusal(2.5 * gib, ['the fedadam strategy (server state)', 'clipping']),
    'the fedadam strategy (server state) and clipping need the whole model in memory, and this model is 2560 MiB, above the 1024 MiB a round holds whole',
  );
  assert.match(wholeModelRefusal(2 * 1024 ** 2, ['server-side distillation'], 1024 ** 2)!, /^server-side distillation needs the whole model in memory, and this model is 2 MiB, above the 1 MiB/);
});
