/** `coordinator serve`: parses flags into the coordinator's configuration and starts it. */
import type { Command } from 'commander';
import { ConfigError, resolveConfig, type CoordinatorConfig } from '../../config/coordinator-config';
import { architectureProblems } from '../../config/architecture-check';
import { startCoordinator } from '../../main';
import { MlModelFactory } from '../../models/ml-model-factory';
import { Logger } from '@nestjs/common';
import { growHeapForTransfers, mallocTuningWarning } from '@fedciss/proto';
import { AdminAuthService } from '../../auth/admin-auth.service';

export interface ServeContext {
  config: CoordinatorConfig;
  /** Only validate the settings (done before the action runs), report them, and exit. */
  checkOnly?: boolean;
  /** Environment variable with the first admin's password (used only while there is no user). */
  adminPasswordEnv?: string;
}

export type ServeAction = (ctx: ServeContext) => Promise<void>;

export const runServe: ServeAction = async ({ config, adminPasswordEnv, checkOnly }) => {
  // resolveConfig has validated every flag, variable and the training file's keys by now; the
  // architecture overrides are checked against the model factory that will build them.
  const factory = new MlModelFactory();
  const problems = architectureProblems(config.training, factory);
  if (problems.length) throw new ConfigError(`training settings: ${problems.join('; ')}`);
  if (checkOnly) {
    process.stdout.write(`configuration valid; effective training settings:\n${JSON.stringify(config.training, null, 2)}\n`);
    return;
  }
  growHeapForTransfers();
  const running = await startCoordinator(config, factory);
  // Through the coordinator's logger: one JSON line each when the output goes to a log collector.
  const log = new Logger('Coordinator');
  const allocator = mallocTuningWarning();
  if (allocator) log.warn(allocator);
  try {
    const auth = running.app.get(AdminAuthService);
    if ((await auth.userCount()) === 0) {
      const password = adminPasswordEnv ? process.env[adminPasswordEnv] : undefined;
      if (password) {
        await auth.createUser('cli', 'admin', password, 'admin');
        log.log(`created the first console user 'admin' (password from ${adminPasswordEnv})`);
      } else {
        log.warn('no console user yet: create one with "coordinator users add --username NAME" (password in FEDCISS_NEW_USER_PASSWORD)');
      }
    }
  } catch (e) {
    await running.close();
    throw e;
  }
  log.log(
    `coordinator ready: console and REST API ${running.httpUrl} (OpenAPI ${running.httpUrl}/api/docs), ` +
      `federation gRPC port ${running.grpcPort}${running.enrollPort ? `, enrolment port ${running.enrollPort}` : ''}`,
  );
};

const intFlag = (name: string) => (v: string) => {
  if (!/^\d+$/.test(v)) throw new Error(`${name} must be a non-negative integer, got '${v}'`);
  return v;
};

export function register(program: Command, action: ServeAction = runServe): void {
  program
    .command('serve')
    .description('run the coordinator: REST API and console, and the federation gRPC endpoint (mutual TLS unless --insecure)')
    .option('--data-dir <dir>', 'database (embedded), model store, uploads and CA (env FEDCISS_DATA_DIR; default .data/coordinator)')
    .option('--database-url <url>', 'use this PostgreSQL server instead of the embedded database (env DATABASE_URL)')
    .option('--grpc-address <host:port>', 'federation endpoint (env FEDCISS_GRPC_ADDRESS; default 127.0.0.1:50051)')
    .option('--enroll-address <host:port>', 'enrolment endpoint for sites without a certificate yet (default: federation port + 1)')
    .option('--http-host <host>', 'REST API and console host (default 127.0.0.1)')
    .option('--http-port <port>', 'REST API and console port (default 8080)', intFlag('--http-port'))
    .option('--tls-hostname <name...>', 'extra names the coordinator is reached at, for its TLS certificate')
    .option('--insecure', 'plaintext gRPC, loopback only: for a demo on one machine', false)
    .option('--auto-approve', 'approve enrolling sites without an admin (demo)', false)
    .option('--open-enrollment', 'accept enrolment requests without an invitation (env FEDCISS_OPEN_ENROLLMENT=1); an admin still approves each', false)
    .option('--quorum <n>', 'minimum accepted updates per round', intFlag('--quorum'))
    .option('--deadline <seconds>', 'upload deadline of a round', intFlag('--deadline'))
    .option('--hard-limit <seconds>', 'how long a round may wait past its deadline (straggler policy wait)', intFlag('--hard-limit'))
    .option('--stragglers <policy>', 'wait | drop | accept-late-same-round')
    .option('--heartbeat-timeout <seconds>', 'a site silent this long counts as dead', intFlag('--heartbeat-timeout'))
    .option('--segmenter-rounds <n>', 'segmenter rounds per step', intFlag('--segmenter-rounds'))
    .option('--generator-rounds <n>', 'generator rounds of step 0, or of a later step without a generator (0: no diffusion replay; default 4)', intFlag('--generator-rounds'))
    .option('--later-step-generator-rounds <n>', 'generator rounds of a later step that has a generator, training it on that step\'s images (default 0: every step replays from the generator it has)', intFlag('--later-step-generator-rounds'))
    .option('--generator-failures <n>', 'failed generator rounds a step tries before it goes on with the generator it has (default 3)', intFlag('--generator-failures'))
    .option('--max-pending-per-address <n>', 'pending enrolment requests allowed from one address (default 10)', intFlag('--max-pending-per-address'))
    .option('--max-pending <n>', 'pending enrolment requests allowed in total (default 200)', intFlag('--max-pending'))
    .option('--pending-expiry <seconds>', 'an enrolment request not approved or rejected within this time is removed (default 7 days)', intFlag('--pending-expiry'))
    .option('--training-file <file>', 'JSON with training settings (epochs, learning rate, loss weights, aggregation strategy, architecture ...)')
    .option('--tick-ms <ms>', 'how often round deadlines are checked', intFlag('--tick-ms'))
    .option('--lease-seconds <s>', 'coordinators sharing a database: a standby takes over when the leader has not renewed its lease this long (default 15)', intFlag('--lease-seconds'))
    .option('--lease-renew-seconds <s>', 'how often the leader renews its lease and a standby tries to take it (default 5)', intFlag('--lease-renew-seconds'))
    .option('--admin-password-env <VAR>', 'create the user "admin" with the password in this variable when there is no user yet')
    .option('--check-config', 'validate the settings (flags, environment, training file), print the effective training settings and exit (status 1 naming each bad key)', false)
    .action(async (o: Record<string, string | boolean | string[] | undefined> & { adminPasswordEnv?: string; tlsHostname?: string[]; checkConfig?: boolean }) => {
      const config = resolveConfig({
        flags: {
          dataDir: o.dataDir as string, databaseUrl: o.databaseUrl as string, grpcAddress: o.grpcAddress as string, enrollAddress: o.enrollAddress as string,
          httpHost: o.httpHost as string, httpPort: o.httpPort as string, insecure: o.insecure === true, autoApprove: o.autoApprove === true, openEnrollment: o.openEnrollment === true,
          quorum: o.quorum as string, deadline: o.deadline as string, hardLimit: o.hardLimit as string, stragglers: o.stragglers as string,
          heartbeatTimeout: o.heartbeatTimeout as string, segmenterRounds: o.segmenterRounds as string, generatorRounds: o.generatorRounds as string, laterStepGeneratorRounds: o.laterStepGeneratorRounds as string,
          generatorFailures: o.generatorFailures as string, trainingFile: o.trainingFile as string, tickMs: o.tickMs as string, leaseSeconds: o.leaseSeconds as string, leaseRenewSeconds: o.leaseRenewSeconds as string,
          maxPendingPerAddress: o.maxPendingPerAddress as string, maxPending: o.maxPending as string, pendingExpiry: o.pendingExpiry as string, tlsHostnames: o.tlsHostname?.join(','),
        },
      });
      await action({ config, adminPasswordEnv: o.adminPasswordEnv, checkOnly: o.checkConfig === true });
    });
}
