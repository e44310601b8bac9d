// Heartbeats and task polls are refused while too many queries wait for a database connection; nothing else is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_WAITING_QUERIES, overloadRefusal } from './load-shedding';

test('heartbeat and getTask are refused past the waiting bound, other calls and PGlite never', () => {
  const busy = { total: 10, idle: 0, waiting: MAX_WAITING_QUERIES + 1 };
  const bound = { total: 10, idle: 0, waiting: MAX_WAITING_QUERIES };
  assert.match(overloadRefusal('heartbeat', busy) ?? '', /65 database queries waiting.*heartbeat refused/);
  assert.match(overloadRefusal('getTask', busy) ?? '', /getTask refused/);
  assert.equal(overloadRefusal('heartbeat', bound), null);
  for (const method of ['uploadUpdate', 'downloadModel', 'getUploadStatus', 'reportEvaluation']) assert.equal(overloadRefusal(method, busy), null);
  assert.equal(overloadRefusal('heartbeat', null), null);
});
