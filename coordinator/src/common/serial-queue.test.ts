// The serial queue runs one task at a time and tells how many wait and since when the running one runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialQueue } from './serial-queue';

test('load() counts the tasks queued or running and dates the running one; a failure frees the queue', async () => {
  const queue = new SerialQueue();
  assert.deepEqual(queue.load(), { length: 0, runningSince: null });
  let release!: () => void;
  const before = Date.now();
  const first = queue.run(() => new Promise<void>((r) => (release = r)).then(() => {
    throw new Error('first fails');
  }));
  const order: string[] = [];
  const second = queue.run(async () => void order.push('second'));
  await new Promise((r) => setImmediate(r));
  const busy = queue.load();
  assert.equal(busy.length, 2);
  assert.ok(busy.runningSince !== null && busy.runningSince >= before && busy.runningSince <= Date.now());
  assert.deepEqual(order, []); // the second waits for the first
  release();
  await assert.rejects(first, /first fails/);
  await second;
  assert.deepEqual(order, ['second']);
  assert.deepEqual(queue.load(), { length: 0, runningSince: null });
});
