/**
 * The two databases the coordinator runs on, behind one small interface: PGlite (embedded
 * PostgreSQL compiled to WebAssembly, stored in a data folder; the default, so a demo needs no
 * server) and a real PostgreSQL server when DATABASE_URL points at one. Both speak the same SQL, so
 * one migration set serves both. Queries go through Prisma; migrations run on the raw driver.
 */
import { mkdirSync } from 'node:fs';
import type { Prisma } from '../generated/prisma/client';

/** Whatever driver adapter the generated Prisma client accepts. */
export type PrismaAdapter = NonNullable<Prisma.PrismaClientOptions['adapter']>;

export interface SqlDriver {
  readonly kind: 'pglite' | 'postgres';
  /** Runs one or more statements without parameters (the simple query protocol). */
  exec(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /**
   * query() on a connection of its own, outside the pool that the federation's queries share: the
   * leader lease's renewal must not wait behind them. At 500 sites the pool had thousands of
   * queries waiting, the renewal came too late, and the only coordinator stepped down and refused
   * every call as a standby.
   */
  leaseQuery<T>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` while holding a database-wide lock, so two coordinators never migrate at once. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  /** The Prisma driver adapter over this same connection (pool). */
  prismaAdapter(): PrismaAdapter;
  /** The connection pool's counts now (PostgreSQL); null for PGlite, which is one in-process connection. */
  poolCounts(): PoolCounts | null;
  /**
   * What each connection checked out of the pool is doing (node-postgres internals, best effort):
   * the diagnosis of a stall where every connection is out and PostgreSQL sees them idle.
   */
  heldConnections(): HeldConnection[];
  close(): Promise<void>;
}

/** Connections open, those idle in the pool, and queries waiting for one (all checked out when idle < total). */
export interface PoolCounts {
  total: number;
  idle: number;
  waiting: number;
}

export interface HeldConnection {
  /** The query sent and not answered yet (first 80 characters), or null. */
  activeQuery: string | null;
  /** Queries waiting behind it on this connection. */
  queued: number;
  readyForQuery: boolean;
  /** Bytes received from the server and not read by the client yet; whether its socket is paused. */
  unreadBytes: number;
  socketPaused: boolean;
}

export interface DatabaseLocation {
  /** postgres://… or postgresql://…; when absent the embedded PGlite in `dataDir` is used. */
  url?: string;
  dataDir: string;
}

export async function openSqlDriver(location: DatabaseLocation): Promise<SqlDriver> {
  if (location.url) {
    if (!/^postgres(ql)?:\/\//.test(location.url)) {
      throw new Error(`DATABASE_URL must start with postgres:// or postgresql:// (got '${location.url.replace(/:[^:@/]*@/, ':***@')}')`);
    }
    return openPostgres(location.url);
  }
  return openPglite(location.dataDir);
}

async function openPglite(dataDir: string): Promise<SqlDriver> {
  mkdirSync(dataDir, { recursive: true });
  const { PGlite } = await import('@electric-sql/pglite');
  const { PrismaPGlite } = await import('pglite-prisma-adapter');
  const db = await PGlite.create(dataDir);
  const query = async <T>(sql: string, params: unknown[] = []) => (await db.query<T>(sql, params)).rows;
  return {
    kind: 'pglite',
    exec: async (sql) => void (await db.exec(sql)),
    query,
    // One in-process connection: nothing queues in front of it in a pool.
    leaseQuery: query,
    // PGlite is one connection inside this process: opening the same folder twice is not supported,
    // so there is nobody to race with.
    withMigrationLock: (fn) => fn(),
    prismaAdapter: () => new PrismaPGlite(db),
    poolCounts: () => null,
    heldConnections: () => [],
    close: async () => {
      if (!db.closed) await db.close();
    },
  };
}

/** A fixed key for pg_advisory_lock: "fedciss migrations". */
const MIGRATION_LOCK_KEY = 0x6665_6463;

async function openPostgres(url: string): Promise<SqlDriver> {
  const pg = await import('pg');
  const { PrismaPg } = await import('@prisma/adapter-pg');
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const leasePool = new pg.Pool({ connectionString: url, max: 1 });
  // Fail fast with a clear message when the server is not there.
  await pool.query('SELECT 1').catch((e: Error) => {
    void pool.end();
    void leasePool.end();
    throw new Error(`cannot reach PostgreSQL at DATABASE_URL: ${e.message}`);
  });
  return {
    kind: 'postgres',
    exec: async (sql) => void (await pool.query(sql)),
    query: async <T>(sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows as T[],
    leaseQuery: async <T>(sql: string, params: unknown[] = []) => (await leasePool.query(sql, params)).rows as T[],
    withMigrationLock: async (fn) => {
      const client = await pool.connect();
      try {
        await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
        return await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => undefined);
        client.release();
      }
    },
    prismaAdapter: () => new PrismaPg(pool),
    poolCounts: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }),
    heldConnections: () => heldConnectionsOf(pool),
    close: async () => {
      await Promise.all([pool.end(), leasePool.end()]);
    },
  };
}

/** node-postgres's private fields read by heldConnectionsOf (absent ones read as empty). */
interface PgPoolInternals {
  _clients?: PgClientInternals[];
  _idle?: Array<{ client: PgClientInternals }>;
}
interface PgClientInternals {
  _activeQuery?: { text?: string } | null;
  _queryQueue?: unknown[];
  readyForQuery?: boolean;
  connection?: { stream?: { readableLength?: number; isPaused?: () => boolean } };
}

function heldConnectionsOf(pool: unknown): HeldConnection[] {
  const p = pool as PgPoolInternals;
  const idle = new Set((p._idle ?? []).map((i) => i.client));
  return (p._clients ?? [])
    .filter((c) => !idle.has(c))
    .map((c) => ({
      activeQuery: c._activeQuery ? (c._activeQuery.text ?? '(no text)').slice(0, 80) : null,
      queued: c._queryQueue?.length ?? 0,
      readyForQuery: c.readyForQuery === true,
      unreadBytes: c.connection?.stream?.readableLength ?? 0,
      socketPaused: c.connection?.stream?.isPaused?.() ?? false,
    }));
}
