/**
 * Opens the coordinator's database: the SQL driver for the configured location, migrations applied,
 * and a Prisma client over the same connection.
 */
import { PrismaClient } from '../generated/prisma/client';
import { applyMigrations, type MigrationResult } from './migrations';
import { openSqlDriver, type DatabaseLocation, type SqlDriver } from './sql-driver';

export interface Database {
  readonly prisma: PrismaClient;
  readonly driver: SqlDriver;
  readonly migrations: MigrationResult;
  close(): Promise<void>;
}

export async function openDatabase(location: DatabaseLocation): Promise<Database> {
  const driver = await openSqlDriver(location);
  try {
    const migrations = await applyMigrations(driver);
    const prisma = new PrismaClient({ adapter: driver.prismaAdapter() });
    return {
      prisma,
      driver,
      migrations,
      close: async () => {
        await prisma.$disconnect();
        await driver.close();
      },
    };
  } catch (e) {
    await driver.close();
    throw e;
  }
}
