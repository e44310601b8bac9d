import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { status } from '@grpc/grpc-js';
import { CoordinatorFaultError, sleep, withBackoff } from './retry';

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

test('INTERNAL is not retried blindly: slower, capped waits, reported, then a clear error', async () => {
  const faults: number[] = [];
  const quick: number[] = [];
  let calls = 0;
  await assert.rejects(
    withBackoff(async () => {
      calls++;
      throw grpcError(status.INTERNAL, 'GetTask failed inside the coordinator (a bug; see its log)');
    }, { initialMs: 1, faultInitialMs: 4, faultMaxMs: 8, faultAttempts: 4, onRetry: (_, ms) => quick.push(ms), onCoordinatorFault: (_, ms) => faults.push(ms) }),
    (e: unknown) => e instanceof CoordinatorFaultError && e.attempts === 4 && /a bug on its side, not this site's\); send its operator the time/.test(e.message) && /GetTask failed inside/.test(e.message),
  );
  assert.equal(calls, 4, 'bounded attempts');
  assert.deepEqual(quick, [], 'not on the transient schedule');
  assert.equal(faults.length, 3);
  assert.ok(faults.every((ms) => ms >= 2 && ms <= 8), `waits within [initial/2, cap]: ${faults}`);
  // A fault that clears (the coordinator was fixed and restarted) lets the call succeed.
  let n = 0;
  assert.equal(await withBackoff(async () => {
    if (++n < 3) throw grpcError(status.INTERNAL, 'bug');
    return 'ok';
  }, { faultInitialMs: 1, faultMaxMs: 2 }), 'ok');
  // A stream reset is reported by grpc-js as INTERNAL too: that is the connection, retried as usual.
  n = 0;
  assert.equal(await withBackoff(async () => {
    if (++n < 3) throw grpcError(status.INTERNAL, 'Received RST_STREAM with code 2 triggered by internal client error');
    return 'ok';
  }, { initialMs: 1, faultInitialMs: 60_000 }), 'ok');
});

test('sleep: ends early on abort, and a wait that runs out leaves no listener on the signal', async () => {
  const stop = new AbortController();
  for (let i = 0; i < 20; i++) await sleep(1, stop.signal);
  assert.equal(getEventListeners(stop.signal, 'abort').length, 0, 'one listener per wait was left behind (an agent polls for days)');
  const started = Date.now();
  const long = sleep(60_000, stop.signal);
  stop.abort();
  await long;
  assert.ok(Date.now() - started < 1_000);
});
