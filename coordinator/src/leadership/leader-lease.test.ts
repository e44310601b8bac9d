// The leader lease on both databases the coordinator runs on: one holder at a time, renewals by
// the holder only, a takeover once the lease has lapsed, a release that hands over at once.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { openDatabase, type Database } from '../database/database';
import { DatabaseService } from '../database/database.service';
import { startPostgresServer, type PostgresServer } from '../testing/postgres-server';
import { LeaderLease } from './leader-lease';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function exercise(db: Database): Promise<void> {
  const lease = new LeaderLease(new DatabaseService(db));
  assert.equal(await lease.current(), null);
  assert.equal(await lease.tryAcquire('a', 800), true, 'a free lease is taken');
  assert.equal(await lease.tryAcquire('b', 800), false, 'a held lease is not');
  assert.equal(await lease.tryAcquire('a', 800), true, 'its holder renews it');
  const held = await lease.current();
  assert.equal(held?.holder, 'a');
  // now() is the database's wall clock, which is not monotonic: a CI run saw 800.045 ms left of an
  // 800 ms lease, its clock set back 45 µs between the two statements. One millisecond over is allowed.
  assert.ok(held!.remainingMs > 0 && held!.remainingMs <= 801, `remaining ${held!.remainingMs} ms`);
  await sleep(1000);
  assert.equal(await lease.current(), null, 'lapsed');
  assert.equal(await lease.tryAcquire('b', 60_000), true, 'a lapsed lease is taken over');
  assert.equal(await lease.tryAcquire('a', 800), false, 'the old holder cannot take it back');
  await lease.release('a');
  assert.equal((await lease.current())?.holder, 'b', 'only the holder can release');
  await lease.release('b');
  assert.equal(await lease.tryAcquire('a', 800), true, 'a released lease is free at once');
}

describe('leader lease', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lease-'));
  let pg: PostgresServer | undefined;
  after(() => {
    pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('on embedded PGlite', { timeout: 60_000 }, async () => {
    const db = await openDatabase({ dataDir: dir });
    try {
      await exercise(db);
    } finally {
      await db.close();
    }
  });

  test('on PostgreSQL, and two contenders at once get it once', { timeout: 60_000 }, async () => {
    pg = await startPostgresServer();
    const url = pg.createDatabase('lease');
    const [one, two] = [await openDatabase({ url, dataDir: '/nonexistent' }), await openDatabase({ url, dataDir: '/nonexistent' })];
    try {
      await exercise(one);
      await new LeaderLease(new DatabaseService(one)).release('a');
      const contenders = [new LeaderLease(new DatabaseService(one)), new LeaderLease(new DatabaseService(two))];
      for (let i = 0; i < 5; i++) {
        const got = await Promise.all(contenders.map((l, k) => l.tryAcquire(`c${i}-${k}`, 60_000)));
        assert.equal(got.filter(Boolean).length, i === 0 ? 1 : 0, `round ${i}: ${got}`);
      }
    } finally {
      await one.close();
      await two.close();
    }
  });

  test('on PostgreSQL, a renewal does not wait behind a pool full of slow queries', { timeout: 60_000 }, async () => {
    pg ??= await startPostgresServer();
    const db = await openDatabase({ url: pg.createDatabase('lease_busy'), dataDir: '/nonexistent' });
    try {
      const lease = new LeaderLease(new DatabaseService(db));
      assert.equal(await lease.tryAcquire('a', 60_000), true);
      // Every pooled connection busy for 3 s, and as many queries again waiting for one (6 s in all).
      // (A Prisma query starts only once something awaits it.)
      const busy = Array.from({ length: 20 }, () => db.prisma.$queryRawUnsafe('SELECT 1 AS done FROM pg_sleep(3)').then(() => undefined));
      await sleep(300);
      assert.ok(db.driver.poolCounts()!.waiting > 0, 'the pool is saturated');
      const t0 = performance.now();
      assert.equal(await lease.tryAcquire('a', 60_000), true);
      const ms = performance.now() - t0;
      assert.ok(ms < 1500, `renewed in ${ms.toFixed(0)} ms (the slow queries hold the pool for 6 s)`);
      await Promise.all(busy);
    } finally {
      await db.close();
    }
  });
});
