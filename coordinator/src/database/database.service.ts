import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { Database } from './database';
import { isTransientRollback } from './database-errors';
import type { HeldConnection, PoolCounts } from './sql-driver';

/** A transaction's client: repositories take one so that several writes commit together. */
export type Tx = Prisma.TransactionClient;

/**
 * Limits for the transactions that open a step and carry a round forward. Their work is a few
 * writes, but on a starved coordinator each query waits its turn on the event loop: niced at load
 * 9-12, one such transaction ran past Prisma's default (maxWait 2 s, timeout 5 s) and failed a
 * round's aggregation. Their rows are written by one serial queue, so holding them longer blocks
 * no one.
 */
export const LONG_TRANSACTION = { timeout: 120_000, maxWait: 30_000 };

/** How often a round's transaction runs in all when the database keeps rolling it back for a passing reason, and the pause before each retry. */
const ROUND_TRANSACTION_ATTEMPTS = 3;
const RETRY_PAUSE_MS = 1000;

/** The open database as a Nest provider; closed when the application shuts down. */
@Injectable()
export class DatabaseService implements OnApplicationShutdown {
  constructor(private readonly db: Database) {}

  get prisma(): PrismaClient {
    return this.db.prisma;
  }

  get kind(): 'pglite' | 'postgres' {
    return this.db.driver.kind;
  }

  /** The connection pool's counts (null on PGlite): a stall with idle = 0 and waiting > 0 means connections are held. */
  poolCounts(): PoolCounts | null {
    return this.db.driver.poolCounts();
  }

  /** What each connection checked out of the pool is doing (see SqlDriver.heldConnections). */
  heldConnections(): HeldConnection[] {
    return this.db.driver.heldConnections();
  }

  /** Runs `fn` in one transaction: every repository call given its `tx` commits, or none does. */
  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: { timeout?: number; maxWait?: number }): Promise<T> {
    return this.db.prisma.$transaction(fn, options);
  }

  /**
   * transaction() for a round's state and what it caused, which must not fail on a busy machine:
   * LONG_TRANSACTION's limits, and run again (after a pause) when the database rolled it back for
   * a passing reason (isTransientRollback). `fn` may run more than once: it must do nothing outside `tx`.
   */
  async roundTransaction<T>(fn: (tx: Tx) => Promise<T>, options: { timeout: number; maxWait: number } = LONG_TRANSACTION): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transaction(fn, options);
      } catch (e) {
        if (attempt >= ROUND_TRANSACTION_ATTEMPTS || !isTransientRollback(e)) throw e;
        await new Promise((r) => setTimeout(r, RETRY_PAUSE_MS * attempt));
      }
    }
  }

  /** A query outside the shared pool, for the leader lease alone (SqlDriver.leaseQuery). */
  leaseQuery<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.db.driver.leaseQuery<T>(sql, params);
  }

  /** Resolves when the database answers a trivial query (readiness). */
  async ping(): Promise<void> {
    await this.db.prisma.$queryRawUnsafe('SELECT 1');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
