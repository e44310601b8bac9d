// A site whose update is in polls less often as the round grows: its wait is 20 ms per site of the round, within 2-15 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { retryAfterDoneMs } from './task-builder.service';

test('the wait of a site that is done grows with the round: 2 s for a few sites, 10 s at 500, at most 15 s', () => {
  assert.equal(retryAfterDoneMs(3), 2_000);
  assert.equal(retryAfterDoneMs(100), 2_000);
  assert.equal(retryAfterDoneMs(101), 2_020);
  assert.equal(retryAfterDoneMs(500), 10_000);
  assert.equal(retryAfterDoneMs(5_000), 15_000);
});
