import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConcurrencyLimit } from './concurrency-limit';

test('at most `limit` tasks run at once, the others start in arrival order, failures free their place', async () => {
  const limit = new ConcurrencyLimit(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const task = (i: number) => async () => {
    started.push(i);
    running++;
    most = Math.max(most, running);
    await new Promise((r) => setTimeout(r, 5 + (i % 3)));
    running--;
    if (i === 3) throw new Error('task 3 failed');
    return i;
  };
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => limit.run(task(i))));
  assert.equal(most, 2);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : 'failed')), [0, 1, 2, 'failed', 4, 5, 6, 7]);
  assert.equal(await limit.run(async () => 'after'), 'after');
  assert.throws(() => new ConcurrencyLimit(0), /positive integer/);
});

test('a task holding its place longer than holdAtMostMs gives it up and runs on outside the limit', async () => {
  const limit = new ConcurrencyLimit(1);
  let finishSlow!: () => void;
  const slow = limit.run(() => new Promise<string>((r) => (finishSlow = () => r('slow'))), 30);
  const t0 = Date.now();
  assert.equal(await limit.run(async () => 'next'), 'next', 'the next task got the place');
  assert.ok(Date.now() - t0 >= 25, 'after the slow task had held it for holdAtMostMs');
  finishSlow();
  assert.equal(await slow, 'slow', 'the slow task still finished, with its result');
  const failing = limit.run(async () => Promise.reject(new Error('boom')), 1000);
  await assert.rejects(failing, /boom/);
  assert.equal(await limit.run(async () => 'free'), 'free');
});
