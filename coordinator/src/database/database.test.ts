// Migrations apply to the embedded PGlite and to a real PostgreSQL server; a second start applies
// nothing; the Prisma client reads and writes every table through the same connection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from './database';
import { applyMigrations, DEFAULT_MIGRATIONS_DIR, loadMigrations } from './migrations';
import { openSqlDriver } from './sql-driver';
import { startPostgresServer, type PostgresServer } from '../testing/postgres-server';

async function exerciseEveryTable(db: Database): Promise<void> {
  const p = db.prisma;
  await p.site.create({ data: { id: 'site-a', displayName: 'Hospital A', status: 'approved' } });
  await p.certificate.create({ data: { serial: '01', siteId: 'site-a', pem: 'PEM', notAfter: new Date(Date.now() + 1e9) } });
  await p.rosterClass.create({ data: { id: 0, name: 'background', color: '#000000', stepAdded: 0 } });
  await p.step.create({ data: { index: 0, status: 'open' } });
  const sha = 'a'.repeat(64);
  await p.modelVersion.create({ data: { id: 'm0', kind: 'segmenter', sha256: sha, sizeBytes: 10n, stepIndex: 0, storageUri: `sha256:${sha}` } });
  await p.modelVersion.create({ data: { id: 'm1', kind: 'segmenter', sha256: sha, sizeBytes: 10n, stepIndex: 0, storageUri: `sha256:${sha}`, parentId: 'm0' } });
  await p.round.create({ data: { id: 'r0', stepIndex: 0, kind: 'segmenter', index: 0, status: 'collecting', quorum: 2, deadlineAt: new Date(), baseVersionId: 'm0' } });
  await p.siteUpdate.create({ data: { id: 'u0', roundId: 'r0', siteId: 'site-a', idempotencyKey: 'k0', status: 'accepted', sha256: sha, totalBytes: 10n, metrics: { loss: 0.5 } } });
  await p.evaluation.create({
    data: { id: 'e0', modelVersionId: 'm1', siteId: 'site-a', stepIndex: 0, split: 'test', images: 4, classes: { create: [{ classId: 1, truePositive: 5n, falsePositive: 1n, falseNegative: 2n }] } },
  });
  await p.adminUser.create({ data: { id: 'u', username: 'admin', passwordHash: 'scrypt$…', role: 'admin', sessions: { create: { tokenHash: 'h', expiresAt: new Date() } } } });
  await p.auditEntry.create({ data: { actor: 'admin', action: 'roster.add', target: 'liver', details: { color: '#ff0000' } } });
  await p.serverState.create({ data: { key: 'k', value: { a: 1 } } });

  const m1 = await p.modelVersion.findUniqueOrThrow({ where: { id: 'm1' }, include: { parent: true } });
  assert.equal(m1.parent?.id, 'm0');
  const e = await p.evaluation.findUniqueOrThrow({ where: { id: 'e0' }, include: { classes: true } });
  assert.equal(e.classes[0].truePositive, 5n);
  assert.deepEqual((await p.siteUpdate.findUniqueOrThrow({ where: { idempotencyKey: 'k0' } })).metrics, { loss: 0.5 });
  // The schema's own rules hold on both databases: a second accepted update of one site in one round is refused.
  await assert.rejects(
    p.siteUpdate.create({ data: { id: 'u1', roundId: 'r0', siteId: 'site-a', idempotencyKey: 'k1', status: 'accepted', sha256: sha, totalBytes: 10n } }),
  );
  await assert.rejects(p.rosterClass.create({ data: { id: 1, name: 'liver', color: 'red', stepAdded: 0 } }));
  // States are enums in the database itself: SQL that bypasses the client cannot store another value either.
  await assert.rejects(db.driver.exec("UPDATE rounds SET status = 'paused' WHERE id = 'r0'"), /round_status/);
  await assert.rejects(db.driver.exec("UPDATE site_updates SET status = 'done' WHERE id = 'u0'"), /update_status/);
  await assert.rejects(db.driver.exec("UPDATE steps SET status = 'training ' WHERE index = 0"), /step_status/);
}

describe('migration 0005 (states as enums)', () => {
  test('rows written before it keep their values and read back typed', { timeout: 120_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fedciss-enum-'));
    const before = loadMigrations().filter((m) => m.name < '0005');
    const driver = await openSqlDriver({ dataDir: join(dir, 'db') });
    try {
      await applyMigrations(driver, before);
      const sha = 'b'.repeat(64);
      await driver.exec(`
        INSERT INTO sites (id, display_name, status) VALUES ('site-a', 'A', 'revoked');
        INSERT INTO steps (index, status) VALUES (0, 'evaluating');
        INSERT INTO model_versions (id, kind, sha256, size_bytes, step_index, storage_uri) VALUES ('m0', 'generator', '${sha}', 1, 0, 'sha256:${sha}');
        INSERT INTO rounds (id, step_index, kind, index, status, quorum, deadline_at) VALUES ('r0', 0, 'evaluate', 0, 'aggregating', 1, now());
        INSERT INTO site_updates (id, round_id, site_id, idempotency_key, status, sha256, total_bytes) VALUES ('u0', 'r0', 'site-a', 'key-0000', 'accepted', '${sha}', 1);
        INSERT INTO admin_users (id, username, password_hash, role) VALUES ('u', 'v', 'h', 'viewer');
        INSERT INTO privacy_spend (round_id, site_id, kind, noise_multiplier, sampling_rate) VALUES ('r0', 'site-a', 'segmenter', 1, 0.1);`);
      await driver.close();
      const db = await openDatabase({ dataDir: join(dir, 'db') });
      try {
        // 0005 first; later migrations (0006 on) apply after it.
        assert.deepEqual(db.migrations.applied, loadMigrations().filter((m) => m.name >= '0005').map((m) => m.name));
        assert.equal(db.migrations.applied[0], '0005_rounds_state_enums');
        const p = db.prisma;
        assert.equal((await p.site.findUniqueOrThrow({ where: { id: 'site-a' } })).status, 'revoked');
        assert.equal((await p.step.findUniqueOrThrow({ where: { index: 0 } })).status, 'evaluating');
        assert.equal((await p.modelVersion.findUniqueOrThrow({ where: { id: 'm0' } })).kind, 'generator');
        const r = await p.round.findUniqueOrThrow({ where: { id: 'r0' } });
        assert.deepEqual([r.kind, r.status], ['evaluate', 'aggregating']);
        assert.equal((await p.siteUpdate.findUniqueOrThrow({ where: { id: 'u0' } })).status, 'accepted');
        assert.equal((await p.adminUser.findUniqueOrThrow({ where: { id: 'u' } })).role, 'viewer');
        assert.equal((await p.privacySpend.findFirstOrThrow()).kind, 'segmenter');
        // The rebuilt partial index still allows one accepted update per site and round, and only one.
        await assert.rejects(p.siteUpdate.create({ data: { id: 'u1', roundId: 'r0', siteId: 'site-a', idempotencyKey: 'key-0001', status: 'accepted', sha256: sha, totalBytes: 1n } }));
        await p.siteUpdate.create({ data: { id: 'u2', roundId: 'r0', siteId: 'site-a', idempotencyKey: 'key-0002', status: 'rejected', sha256: sha, totalBytes: 1n } });
      } finally {
        await db.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('embedded PGlite', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fedciss-db-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('migrations apply on first start, nothing on the second, data survives', { timeout: 120_000 }, async () => {
    const first = await openDatabase({ dataDir: dir });
    assert.deepEqual(first.migrations.applied, loadMigrations().map((m) => m.name));
    await exerciseEveryTable(first);
    await first.close();
    const second = await openDatabase({ dataDir: dir });
    assert.deepEqual(second.migrations.applied, []);
    assert.equal(second.migrations.alreadyApplied.length, loadMigrations().length);
    assert.equal(await second.prisma.site.count(), 1);
    // One in-process connection: no pool to count.
    assert.equal(second.driver.poolCounts(), null);
    assert.deepEqual(second.driver.heldConnections(), []);
    await second.close();
  });
});

describe('PostgreSQL server', () => {
  let server: PostgresServer;
  before(async () => {
    server = await startPostgresServer();
  });
  after(() => server?.stop());

  test('migrations apply on first start, nothing on the second, data survives', { timeout: 120_000 }, async () => {
    const url = server.createDatabase('migrate_twice');
    const first = await openDatabase({ url, dataDir: '/nonexistent' });
    assert.equal(first.driver.kind, 'postgres');
    assert.deepEqual(first.migrations.applied, loadMigrations().map((m) => m.name));
    await exerciseEveryTable(first);
    await first.close();
    const second = await openDatabase({ url, dataDir: '/nonexistent' });
    assert.deepEqual(second.migrations.applied, []);
    assert.equal(await second.prisma.modelVersion.count(), 2);
    await second.close();
  });

  test('the pool counts show connections held by open transactions and the queries waiting for one', { timeout: 120_000 }, async () => {
    const db = await openDatabase({ url: server.createDatabase('pool_counts'), dataDir: '' });
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    // The pool has 10 connections: 10 open transactions hold them all, an 11th query waits.
    // Each transaction says when its query has answered: a connection counts as held as soon as it is
    // checked out, before BEGIN, so the pool's counts alone do not say every transaction has started
    // (CI once failed here: an assertion closed the client under a transaction still starting).
    let inside = 0;
    const txs = Array.from({ length: 10 }, () => db.prisma.$transaction(async (tx) => {
      await tx.site.count();
      inside += 1;
      await held;
    }, { timeout: 60_000, maxWait: 60_000 }).then(() => undefined));
    try {
      while (inside < 10 || db.driver.heldConnections().some((c) => c.activeQuery)) await new Promise((r) => setTimeout(r, 20));
      const waiting = db.prisma.site.count().then((n) => n); // a Prisma query starts when awaited
      while (db.driver.poolCounts()!.waiting === 0) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(db.driver.poolCounts(), { total: 10, idle: 0, waiting: 1 });
      for (const c of db.driver.heldConnections()) assert.deepEqual(c, { activeQuery: null, queued: 0, readyForQuery: true, unreadBytes: 0, socketPaused: false });
      release();
      await Promise.all(txs);
      assert.equal(await waiting, 0);
      assert.deepEqual(db.driver.poolCounts(), { total: 10, idle: 10, waiting: 0 });
      assert.deepEqual(db.driver.heldConnections(), []);
    } finally {
      // Whatever failed, the transactions end before the client closes, so the failure reported is the first one.
      release();
      await Promise.allSettled(txs);
      await db.close();
    }
  });

  test('two coordinators starting at once migrate exactly once', { timeout: 120_000 }, async () => {
    const url = server.createDatabase('migrate_race');
    const [a, b] = await Promise.all([openDatabase({ url, dataDir: '' }), openDatabase({ url, dataDir: '' })]);
    assert.equal(a.migrations.applied.length + b.migrations.applied.length, loadMigrations().length);
    await Promise.all([a.close(), b.close()]);
  });

  test('a failing migration is rolled back whole and an edited applied one is refused', { timeout: 120_000 }, async () => {
    const url = server.createDatabase('migrate_bad');
    const dir = mkdtempSync(join(tmpdir(), 'fedciss-mig-'));
    cpSync(DEFAULT_MIGRATIONS_DIR, dir, { recursive: true });
    mkdirSync(join(dir, '9999_broken'));
    writeFileSync(join(dir, '9999_broken', 'migration.sql'), 'CREATE TABLE half_done (x int);\nSELECT * FROM no_such_table;');
    const driver = await openSqlDriver({ url, dataDir: '' });
    try {
      await assert.rejects(applyMigrations(driver, loadMigrations(dir)), /9999_broken failed and was rolled back/);
      const tables = await driver.query<{ n: string }>("SELECT count(*)::text AS n FROM information_schema.tables WHERE table_name = 'half_done'");
      assert.equal(tables[0].n, '0');
      rmSync(join(dir, '9999_broken'), { recursive: true });
      writeFileSync(join(dir, '0001_initial', 'migration.sql'), '-- edited\n', { flag: 'a' });
      await assert.rejects(applyMigrations(driver, loadMigrations(dir)), /0001_initial was changed after it was applied/);
    } finally {
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
