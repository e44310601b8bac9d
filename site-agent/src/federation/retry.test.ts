import { test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { withBackoff } from './retry';

const grpcError = (code: number, details = '') => Object.assign(new Error(details), { code, details });

test('transient failures are retried with growing waits; other errors are not', async () => {
  const waits: number[] = [];
  let calls = 0;
  const value = await withBackoff(async () => {
    if (++calls < 4) throw grpcError(status.UNAVAILABLE, 'coordinator restarting');
    return 'ok';
  }, { initialMs: 1, maxMs: 4, onRetry: (_, ms) => waits.push(ms) });
  assert.equal(value, 'ok');
  assert.equal(calls, 4);
  assert.equal(waits.length, 3);
  assert.ok(waits[2] <= 4, 'waits are capped');
  calls = 0;
  await assert.rejects(withBackoff(async () => {
    calls++;
    throw grpcError(status.PERMISSION_DENIED, 'not yours');
  }, { initialMs: 1 }), /not yours/);
  assert.equal(calls, 1);
});

test('a refused corrupted chunk is retried a bounded number of times', async () => {
  let calls = 0;
  await assert.rejects(withBackoff(async () => {
    calls++;
    throw grpcError(status.INVALID_ARGUMENT, 'chunk at offset 0 failed its sha256 check');
  }, { initialMs: 1, retryIf: (e) => /sha256 check/.test((e as Error).message), maxAttempts: 3 }));
  assert.equal(calls, 3);
});
