import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { PrismaClient } from '../generated/prisma/client';
import type { Database } from './database';

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

  async onApplicationShutdown(): Promise<void> {
    await this.db.close();
  }
}
