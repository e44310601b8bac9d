/** `coordinator sites invite`: an invitation bundle for one hospital, written to a file. */
import { InvalidArgumentError, type Command } from 'commander';
import { join, resolve } from 'node:path';
import { resolveConfig, type CoordinatorConfig } from '../../config/coordinator-config';
import { openDatabase } from '../../database/database';
import { DatabaseService } from '../../database/database.service';
import { AuditService } from '../../audit/audit.service';
import { systemClock } from '../../common/tokens';
import { SiteCertificates } from '../../sites/site-certificates';
import { InvitationsService, MAX_INVITATION_HOURS, type InviteInput } from '../../sites/invitations.service';
import { writeFileAtomic, PRIVATE_FILE_MODE } from '../../pki';

export interface InviteContext {
  config: CoordinatorConfig;
  invite: InviteInput;
  out: string;
}

export type InviteAction = (ctx: InviteContext) => Promise<void>;

export const runInvite: InviteAction = async ({ config, invite, out }) => {
  const database = await openDatabase({ url: config.databaseUrl, dataDir: join(config.dataDir, 'db') });
  try {
    const db = new DatabaseService(database);
    const service = new InvitationsService(db, new AuditService(db), new SiteCertificates(config), config, systemClock);
    const bundle = await service.create('cli', invite);
    const json = JSON.stringify(bundle, null, 2) + '\n';
    // `--out -`: the bundle on stdout (from inside a container), the summary on stderr.
    if (out === '-') process.stdout.write(json);
    // The token inside is a secret until it is used: readable by the operator only.
    else writeFileAtomic(out, json, PRIVATE_FILE_MODE);
    (out === '-' ? process.stderr : process.stdout).write(
      `invitation ${bundle.invitationId} for "${bundle.siteName}"${out === '-' ? '' : ` written to ${out}`}\n` +
        `  valid until ${bundle.expiresAt}, one enrolment only\n` +
        `  federation ${bundle.federationAddress}, enrolment ${bundle.enrollAddress}\n` +
        `  CA fingerprint (SHA-256, tell the site by another channel): ${bundle.caFingerprint256}\n` +
        `  the site runs: site-agent enroll --bundle ${out === '-' ? 'FILE' : out.split('/').pop()} --wait\n`,
    );
  } finally {
    await database.close();
  }
};

export function register(program: Command, action: InviteAction = runInvite): void {
  program
    .command('sites')
    .description('hospitals of the federation')
    .command('invite')
    .description(
      'invite a hospital: writes one file with the CA certificate and its fingerprint, the endpoints and a one-time ' +
        'enrolment token that expires. With the embedded database, run it while the coordinator is stopped (or use ' +
        'POST /api/sites/invitations); with PostgreSQL, any time.',
    )
    .requiredOption('--name <name>', 'the hospital\'s name, as admins will see it')
    .option('--out <file>', 'where to write the bundle (default: <name>.invitation.json; - for stdout)')
    .option('--expires-hours <n>', `hours until the token expires (1..${MAX_INVITATION_HOURS})`, (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > MAX_INVITATION_HOURS) throw new InvalidArgumentError(`must be an integer 1..${MAX_INVITATION_HOURS}, got '${v}'`);
      return n;
    }, 72)
    .option('--federation-address <host:port>', 'the federation endpoint as the site reaches it (default: from --grpc-address / --tls-hostname)')
    .option('--enroll-address <host:port>', 'the enrolment endpoint as the site reaches it (default: federation port + 1)')
    .option('--data-dir <dir>', 'coordinator data folder (env FEDCISS_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL URL (env DATABASE_URL); default: the embedded database')
    .action(async (o: { name: string; out?: string; expiresHours: number; federationAddress?: string; enrollAddress?: string; dataDir?: string; databaseUrl?: string }) => {
      const config = resolveConfig({ flags: { dataDir: o.dataDir, databaseUrl: o.databaseUrl } });
      const slug = o.name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'site';
      await action({ config, out: o.out === '-' ? '-' : resolve(o.out ?? `${slug}.invitation.json`), invite: { siteName: o.name, expiresHours: o.expiresHours, federationAddress: o.federationAddress, enrollAddress: o.enrollAddress } });
    });
}
