// Which real Prisma failures count as transient (answered 503 / UNAVAILABLE) and which stay bugs,
// on the embedded database: a transaction past its timeout is transient; a transaction client used
// after its commit is a bug; a duplicate key is a race the calling service names.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from './database';
import { isUniqueViolation, transientDatabaseError } from './database-errors';
import type { Prisma } from '../generated/prisma/client';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('database errors: transient or a bug', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'db-errors-'));
  let db: Database;
  const failure = (p: Promise<unknown>) => p.then(() => assert.fail('should have failed'), (e: unknown) => e);

  before(async () => {
    db = await openDatabase({ dataDir: join(dir, 'db') });
  });
  after(async () => {
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a transaction that ran past its timeout is unavailable, worth a retry', async () => {
    const e = await failure(db.prisma.$transaction(async (tx) => {
      await sleep(300);
      await tx.site.create({ data: { id: 'late', displayName: 'Late', status: 'pending' } });
    }, { timeout: 100 }));
    const domain = transientDatabaseError(e);
    assert.equal(domain?.kind, 'unavailable', String(e));
    assert.match(domain!.message, /did not complete in time.*rolled back; try again \(Prisma P2028\)/);
    assert.equal(await db.prisma.site.count({ where: { id: 'late' } }), 0, 'rolled back');
  });

  test('a transaction client used after its commit stays a bug (500 / INTERNAL)', async () => {
    let kept: Prisma.TransactionClient | undefined;
    await db.prisma.$transaction(async (tx) => {
      kept = tx;
    });
    const e = await failure(kept!.site.count());
    assert.equal((e as { code?: string }).code, 'P2028', String(e));
    assert.equal(transientDatabaseError(e), undefined);
  });

  test('a duplicate key is a unique violation, not a transient failure', async () => {
    await db.prisma.site.create({ data: { id: 'twice', displayName: 'Twice', status: 'pending' } });
    const e = await failure(db.prisma.site.create({ data: { id: 'twice', displayName: 'Twice', status: 'pending' } }));
    assert.equal(isUniqueViolation(e), true, String(e));
    assert.equal(transientDatabaseError(e), undefined);
    assert.equal(isUniqueViolation(new Error('P2002')), false);
  });
});
