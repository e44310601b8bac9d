/** `coordinator pki init|show`: the federation's certificate authority. */
import type { Command } from 'commander';
import { resolveConfig } from '../../config/coordinator-config';
import { initCertificateAuthority, loadCertificateAuthority } from '../../pki';

export interface PkiInitContext {
  pkiDir: string;
  commonName: string;
  validDays: number;
  force: boolean;
  hostnames: string[];
}

export type PkiInitAction = (ctx: PkiInitContext) => Promise<void>;

export const runPkiInit: PkiInitAction = async (ctx) => {
  const ca = initCertificateAuthority(ctx.pkiDir, { commonName: ctx.commonName, validDays: ctx.validDays, force: ctx.force });
  const server = ca.ensureServerCertificate({ hostnames: ctx.hostnames });
  process.stdout.write(
    `certificate authority created in ${ctx.pkiDir}\n` +
      `  CA certificate: ${ca.dir}/ca.cert.pem (give it to each site; its private key stays here)\n` +
      `  CA fingerprint (SHA-256): ${ca.fingerprint256}\n` +
      `  server certificate for: ${server.hostnames.join(', ')}\n`,
  );
};

export function register(program: Command, action: PkiInitAction = runPkiInit): void {
  const pki = program.command('pki').description('the federation\'s certificate authority (mutual TLS between sites and coordinator)');
  pki
    .command('init')
    .description('create the certificate authority and the coordinator\'s server certificate')
    .option('--data-dir <dir>', 'coordinator data folder (env FEDCISS_DATA_DIR)')
    .option('--pki-dir <dir>', 'where the CA lives (default: <data-dir>/pki; env FEDCISS_PKI_DIR)')
    .option('--common-name <name>', 'name of the CA', 'fedciss federation CA')
    .option('--valid-days <n>', 'validity of the CA certificate', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 36500) throw new Error(`--valid-days must be 1..36500, got '${v}'`);
      return n;
    }, 3650)
    .option('--hostname <name...>', 'extra names or addresses the coordinator is reached at (localhost is always included)', [])
    .option('--force', 'replace an existing CA (every site certificate becomes useless)', false)
    .action(async (o: { dataDir?: string; pkiDir?: string; commonName: string; validDays: number; hostname: string[]; force: boolean }) => {
      const config = resolveConfig({ flags: { dataDir: o.dataDir, pkiDir: o.pkiDir } });
      await action({ pkiDir: config.pkiDir, commonName: o.commonName, validDays: o.validDays, force: o.force, hostnames: o.hostname });
    });
  pki
    .command('show')
    .description('print the CA certificate and fingerprint (what a new site needs)')
    .option('--data-dir <dir>', 'coordinator data folder')
    .option('--pki-dir <dir>', 'where the CA lives')
    .action((o: { dataDir?: string; pkiDir?: string }) => {
      const ca = loadCertificateAuthority(resolveConfig({ flags: { dataDir: o.dataDir, pkiDir: o.pkiDir } }).pkiDir);
      process.stdout.write(`# fingerprint (SHA-256): ${ca.fingerprint256}\n${ca.certificatePem}`);
    });
}
