import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { Prisma, PrismaClient } from '../generated/prisma/client';
import type { Database } from './database';
import type { HeldConnection, PoolCounts } from './sql-driver';

/** A transaction's client: repositories take one so that several writes commit together. */
export type Tx = Prisma.TransactionClient;

/** Long enough for writing a large model inside the transaction that opens a step or completes a round. */
export const LONG_TRANSACTION = { timeout: 120_000, maxWait: 30_000 };

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

  /** Resolves when the database answers a trivial query (readiness). */
  async ping(): Promise<void> {
    await this.db.prisma.$queryRawUnsafe('SELECT 1');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
