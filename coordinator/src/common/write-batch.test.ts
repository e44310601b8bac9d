import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SerialQueue } from './serial-queue';
import { WriteBatch } from './write-batch';

/** A write that records its entries and waits until released. */
function gatedWrites() {
  const batches: Array<Array<[string, number]>> = [];
  const gates: Array<() => void> = [];
  let failNext = false;
  const write = (entries: Array<[string, number]>) => {
    batches.push(entries);
    const fail = failNext;
    failNext = false;
    return new Promise<void>((resolve, reject) => gates.push(() => (fail ? reject(new Error('disk full')) : resolve())));
  };
  return { batches, release: () => gates.shift()!(), failNextWrite: () => void (failNext = true), write };
}

const tick = () => new Promise((r) => setImmediate(r));

test('entries added while a batch waits join it (the latest value of a key wins); those added during a write go to the next', async () => {
  const w = gatedWrites();
  const queue = new SerialQueue();
  const batch = new WriteBatch(w.write, (run) => queue.run(run));
  const first = [batch.add('a', 1), batch.add('b', 1), batch.add('a', 2)];
  await tick();
  assert.deepEqual(w.batches, [[['a', 2], ['b', 1]]], 'one write for the three adds');
  // The first write is running: these wait for the next one, which starts only after it.
  const second = [batch.add('c', 1), batch.add('a', 3)];
  await tick();
  assert.equal(w.batches.length, 1, 'one write at a time');
  w.release();
  await Promise.all(first);
  await tick();
  assert.deepEqual(w.batches[1], [['c', 1], ['a', 3]]);
  let settled = false;
  void Promise.all(second).then(() => (settled = true));
  await tick();
  assert.equal(settled, false, 'a caller settles only once its own batch is written');
  w.release();
  await Promise.all(second);
});

test('a failed write fails every caller of its batch, and the next batch is still written', async () => {
  const w = gatedWrites();
  const queue = new SerialQueue();
  const batch = new WriteBatch(w.write, (run) => queue.run(run));
  w.failNextWrite();
  const failing = [batch.add('a', 1), batch.add('b', 1)];
  await tick();
  const later = batch.add('c', 1);
  w.release();
  for (const p of failing) await assert.rejects(p, /disk full/);
  await tick();
  assert.deepEqual(w.batches[1], [['c', 1]]);
  w.release();
  await later;
});

test('a batch waits for its turn in the given schedule, and entries keep joining it until it starts', async () => {
  const w = gatedWrites();
  let start!: () => void;
  const turn = new Promise<void>((r) => (start = r));
  const batch = new WriteBatch(w.write, (run) => turn.then(run));
  const adds = [batch.add('a', 1)];
  await tick();
  adds.push(batch.add('b', 1));
  assert.equal(w.batches.length, 0, 'nothing written before its turn');
  start();
  await tick();
  assert.deepEqual(w.batches, [[['a', 1], ['b', 1]]]);
  w.release();
  await Promise.all(adds);
});
