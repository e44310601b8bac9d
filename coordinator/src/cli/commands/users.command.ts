/** `coordinator users add`: console accounts (admins and viewers), written straight to the database. */
import type { Command } from 'commander';
import { join } from 'node:path';
import { resolveConfig } from '../../config/coordinator-config';
import { openDatabase } from '../../database/database';
import { DatabaseService } from '../../database/database.service';
import { AuditService } from '../../audit/audit.service';
import { AdminAuthService } from '../../auth/admin-auth.service';
import type { Role } from '../../auth/roles';

export interface AddUserContext {
  dataDir?: string;
  databaseUrl?: string;
  username: string;
  role: Role;
  /** Read from the environment variable named by --password-env, never from a flag (shell history). */
  password: string;
}

export type AddUserAction = (ctx: AddUserContext) => Promise<void>;

export const runAddUser: AddUserAction = async (ctx) => {
  const config = resolveConfig({ flags: { dataDir: ctx.dataDir, databaseUrl: ctx.databaseUrl } });
  const database = await openDatabase({ url: config.databaseUrl, dataDir: join(config.dataDir, 'db') });
  try {
    const db = new DatabaseService(database);
    const user = await new AdminAuthService(db, new AuditService(db)).createUser('cli', ctx.username, ctx.password, ctx.role);
    process.stdout.write(`user ${user.username} (${user.role}) created\n`);
  } finally {
    await database.close();
  }
};

export function register(program: Command, action: AddUserAction = runAddUser): void {
  program
    .command('users')
    .description('console accounts')
    .command('add')
    .description('create a console user; the password is read from an environment variable')
    .requiredOption('--username <name>', 'lower-case login name')
    .option('--role <role>', 'admin or viewer', 'admin')
    .option('--password-env <VAR>', 'environment variable holding the password', 'FEDCISS_NEW_USER_PASSWORD')
    .option('--data-dir <dir>', 'coordinator data folder (env FEDCISS_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL); default: the embedded database')
    .action(async (o: { username: string; role: string; passwordEnv: string; dataDir?: string; databaseUrl?: string }) => {
      if (o.role !== 'admin' && o.role !== 'viewer') throw new Error(`--role must be admin or viewer (got '${o.role}')`);
      const password = process.env[o.passwordEnv];
      if (!password) throw new Error(`set the password in the environment variable ${o.passwordEnv}`);
      await action({ username: o.username, role: o.role, password, dataDir: o.dataDir, databaseUrl: o.databaseUrl });
    });
}
