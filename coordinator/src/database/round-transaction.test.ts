// A round's transaction on the embedded database: rolled back for a passing reason (here: past its
// timeout), it runs again and its writes land once; a failure that is a bug is not retried; one
// that keeps passing gives up after three tries.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from './database';
import { DatabaseService, type Tx } from './database.service';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Limits that a transaction sleeping 300 ms runs past. */
const SHORT = { timeout: 100, maxWait: 2000 };

describe('round transactions: retried when rolled back for a passing reason', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'round-tx-'));
  let db: Database;
  let service: DatabaseService;
  const createSite = (tx: Tx, id: string) => tx.site.create({ data: { id, displayName: id, status: 'pending' } });

  before(async () => {
    db = await openDatabase({ dataDir: join(dir, 'db') });
    service = new DatabaseService(db);
  });
  after(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a transaction that ran past its timeout once runs again and writes once', async () => {
    let attempts = 0;
    const id = await service.roundTransaction(async (tx) => {
      if (++attempts === 1) await sleep(300); // a starved event loop, once
      return (await createSite(tx, 'slow-once')).id;
    }, SHORT);
    assert.equal(id, 'slow-once');
    assert.equal(attempts, 2);
    assert.equal(await db.prisma.site.count({ where: { id: 'slow-once' } }), 1);
  });

  test('a bug is not retried; a timeout every time gives up after three tries, nothing written', async () => {
    let attempts = 0;
    await assert.rejects(service.roundTransaction(async () => {
      attempts++;
      throw new Error('a bug');
    }, SHORT), /a bug/);
    assert.equal(attempts, 1);

    attempts = 0;
    await assert.rejects(service.roundTransaction(async (tx) => {
      attempts++;
      await sleep(300);
      await createSite(tx, 'slow-always');
    }, SHORT), (e: { code?: string }) => e.code === 'P2028');
    assert.equal(attempts, 3);
    assert.equal(await db.prisma.site.count({ where: { id: 'slow-always' } }), 0);
  });
});
