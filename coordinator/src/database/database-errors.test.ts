// Which real Prisma failures count as transient (answered 503 / UNAVAILABLE) and which stay bugs:
// on the embedded database, a transaction past its timeout is transient, a transaction client used
// after its commit is a bug, a duplicate key is a race the calling service names; on PostgreSQL's
// driver, a connection lost or a name not resolved for now is transient.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase, type Database } from './database';
import { isUniqueViolation, transientDatabaseError } from './database-errors';
import { once } from 'node:events';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { Pool, type PoolConfig } from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient, type Prisma } from '../generated/prisma/client';

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

// The PostgreSQL driver's failures as Prisma hands them on: through the real client and adapter,
// against a local socket that misbehaves the way a container network briefly does.
describe('database errors: a PostgreSQL connection lost or not made is transient', { timeout: 60_000 }, () => {
  const servers: Server[] = [];
  const clients: PrismaClient[] = [];
  after(async () => {
    await Promise.all(clients.map((c) => c.$disconnect().catch(() => undefined)));
    for (const s of servers) s.close();
  });

  /** A Prisma client over a pg pool whose connections go through `server` (or the given stream). */
  async function clientVia(onSocket: (s: Socket) => void, pool: Partial<PoolConfig> = {}): Promise<PrismaClient> {
    const server = createServer(onSocket).listen(0, '127.0.0.1');
    servers.push(server);
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const client = new PrismaClient({ adapter: new PrismaPg(new Pool({ connectionString: `postgres://u:p@127.0.0.1:${port}/db`, max: 1, ...pool })) });
    clients.push(client);
    return client;
  }
  const failure = (p: Promise<unknown>) => p.then(() => assert.fail('should have failed'), (e: unknown) => e);

  test('the server closing the connection at once: node-postgres\'s plain Error becomes unavailable', async () => {
    const e = await failure((await clientVia((s) => s.destroy())).site.count());
    assert.equal((e as Error).message, 'Connection terminated unexpectedly', 'the form the driver gives');
    const domain = transientDatabaseError(e);
    assert.equal(domain?.kind, 'unavailable', String(e));
    assert.match(domain!.message, /connection to the database server was lost \(Connection terminated unexpectedly\); try again/);
  });

  test("a name the container network's DNS cannot resolve just now (EAI_AGAIN) is unavailable", async () => {
    // The lookup's failure as Node reports it, delivered through the driver's own socket.
    const lookupFailure = Object.assign(new Error('getaddrinfo EAI_AGAIN postgres'), { code: 'EAI_AGAIN', syscall: 'getaddrinfo', errno: -3001, hostname: 'postgres' });
    const stream = () => {
      const s = new Socket();
      s.connect = (() => {
        setImmediate(() => s.destroy(lookupFailure));
        return s;
      }) as Socket['connect'];
      return s;
    };
    const e = await failure((await clientVia(() => undefined, { stream })).site.count());
    assert.equal((e as { code?: string }).code, 'EAI_AGAIN', `Prisma passes the code on: ${String(e)}`);
    const domain = transientDatabaseError(e);
    assert.equal(domain?.kind, 'unavailable', String(e));
    assert.match(domain!.message, /could not be resolved just now; try again \(EAI_AGAIN\)/);
  });

  test('other plain Errors stay bugs', () => {
    assert.equal(transientDatabaseError(new Error('Connection terminated unexpectedly, or so')), undefined);
    assert.equal(transientDatabaseError(new TypeError('x is undefined')), undefined);
  });
});
