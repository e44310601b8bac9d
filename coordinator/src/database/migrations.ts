/**
 * Applies the SQL migrations under prisma/migrations (one folder per migration, applied in name
 * order, each in its own transaction) and records them with a checksum. Applying twice is a no-op;
 * an applied migration whose file changed afterwards is an error, because the databases in the
 * field would no longer match the schema in the repository.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqlDriver } from './sql-driver';

export interface Migration {
  name: string;
  sql: string;
  checksum: string;
}

/** prisma/migrations of the repository, found from the compiled file's place. */
export const DEFAULT_MIGRATIONS_DIR = join(__dirname, '..', '..', '..', 'prisma', 'migrations');

export function loadMigrations(dir = DEFAULT_MIGRATIONS_DIR): Migration[] {
  if (!existsSync(dir)) throw new Error(`migrations folder ${dir} does not exist`);
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .map((name) => {
      const file = join(dir, name, 'migration.sql');
      if (!existsSync(file)) throw new Error(`migration ${name} has no migration.sql (${file})`);
      const sql = readFileSync(file, 'utf8');
      return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
    });
}

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

export async function applyMigrations(driver: SqlDriver, migrations = loadMigrations()): Promise<MigrationResult> {
  return driver.withMigrationLock(async () => {
    await driver.exec(`CREATE TABLE IF NOT EXISTS _fedciss_migrations (
      name text PRIMARY KEY, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Map(
      (await driver.query<{ name: string; checksum: string }>('SELECT name, checksum FROM _fedciss_migrations')).map((r) => [r.name, r.checksum]),
    );
    const result: MigrationResult = { applied: [], alreadyApplied: [] };
    for (const m of migrations) {
      const previous = done.get(m.name);
      if (previous !== undefined) {
        if (previous !== m.checksum) {
          throw new Error(`migration ${m.name} was changed after it was applied (checksum ${previous.slice(0, 12)} in the database, ${m.checksum.slice(0, 12)} on disk): add a new migration instead`);
        }
        result.alreadyApplied.push(m.name);
        continue;
      }
      // One transaction per migration: a failure leaves the database as it was before it.
      const record = `INSERT INTO _fedciss_migrations (name, checksum) VALUES ('${m.name.replace(/'/g, "''")}', '${m.checksum}');`;
      try {
        await driver.exec(`BEGIN;\n${m.sql}\n;${record}\nCOMMIT;`);
      } catch (e) {
        await driver.exec('ROLLBACK').catch(() => undefined);
        throw new Error(`migration ${m.name} failed and was rolled back: ${(e as Error).message}`);
      }
      result.applied.push(m.name);
    }
    return result;
  });
}
