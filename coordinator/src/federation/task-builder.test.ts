// A waiting site polls less often as the federation grows: its wait is 20 ms per site (of the round, once one is open), within 2-15 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pollAfterMs } from './task-builder.service';

test('a waiting site\'s poll interval grows with the federation: 2 s for a few sites, 10 s at 500, at most 15 s', () => {
  assert.equal(pollAfterMs(3), 2_000);
  assert.equal(pollAfterMs(100), 2_000);
  assert.equal(pollAfterMs(101), 2_020);
  assert.equal(pollAfterMs(500), 10_000);
  assert.equal(pollAfterMs(5_000), 15_000);
});
