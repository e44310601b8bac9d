/**
 * Everything the coordinator is configured with, resolved once at start-up from defaults,
 * environment variables and command-line flags (flags win), and validated against the schemas
 * (coordinator-settings.schema.ts, training-settings.schema.ts) with messages that name the setting.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_TRAINING, TrainingSettingsError, validateTrainingSettings, type TrainingSettings } from './training-settings.schema';
import {
  checkCoordinatorSettings, DEFAULT_ENROLLMENT, DEFAULT_ROUNDS,
  type CoordinatorConfig, type CoordinatorSettingsInput, type EnrollmentSettings, type RoundSettings, type StragglerPolicy,
} from './coordinator-settings.schema';

export { DEFAULT_TRAINING, type TrainingSettings };

export { DEFAULT_ENROLLMENT, DEFAULT_ROUNDS, type CoordinatorConfig, type EnrollmentSettings, type RoundSettings, type StragglerPolicy };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** Flag values by setting name, from the CLI; they override the environment. */
  flags?: Partial<Record<string, string | boolean | undefined>>;
}

/** Each setting that can be given as text: its path, its flag's name in ConfigSources.flags, its variable. */
const SOURCES: ReadonlyArray<[path: string, flag: string, env: string]> = [
  ['dataDir', 'dataDir', 'FEDCISS_DATA_DIR'],
  ['databaseUrl', 'databaseUrl', 'DATABASE_URL'],
  ['grpcAddress', 'grpcAddress', 'FEDCISS_GRPC_ADDRESS'],
  ['enrollAddress', 'enrollAddress', 'FEDCISS_ENROLL_ADDRESS'],
  ['tlsHostnames', 'tlsHostnames', 'FEDCISS_TLS_HOSTNAMES'], // --tls-hostname, repeatable
  ['httpHost', 'httpHost', 'FEDCISS_HTTP_HOST'],
  ['httpPort', 'httpPort', 'FEDCISS_HTTP_PORT'],
  ['pkiDir', 'pkiDir', 'FEDCISS_PKI_DIR'],
  ['rounds.quorum', 'quorum', 'FEDCISS_QUORUM'],
  ['rounds.deadlineSeconds', 'deadline', 'FEDCISS_ROUND_DEADLINE_S'],
  ['rounds.hardLimitSeconds', 'hardLimit', 'FEDCISS_ROUND_HARD_LIMIT_S'],
  ['rounds.stragglers', 'stragglers', 'FEDCISS_STRAGGLERS'],
  ['rounds.heartbeatTimeoutSeconds', 'heartbeatTimeout', 'FEDCISS_HEARTBEAT_TIMEOUT_S'],
  ['rounds.segmenterRounds', 'segmenterRounds', 'FEDCISS_SEGMENTER_ROUNDS'],
  ['rounds.generatorRounds', 'generatorRounds', 'FEDCISS_GENERATOR_ROUNDS'],
  ['rounds.laterStepGeneratorRounds', 'laterStepGeneratorRounds', 'FEDCISS_LATER_STEP_GENERATOR_ROUNDS'],
  ['rounds.generatorFailuresPerStep', 'generatorFailures', 'FEDCISS_GENERATOR_FAILURES'],
  ['enrollment.maxPendingPerAddress', 'maxPendingPerAddress', 'FEDCISS_MAX_PENDING_PER_ADDRESS'],
  ['enrollment.maxPending', 'maxPending', 'FEDCISS_MAX_PENDING'],
  ['enrollment.pendingExpirySeconds', 'pendingExpiry', 'FEDCISS_PENDING_EXPIRY_S'],
  ['tickMs', 'tickMs', 'FEDCISS_TICK_MS'],
  ['leadership.leaseSeconds', 'leaseSeconds', 'FEDCISS_LEASE_S'],
  ['leadership.renewSeconds', 'leaseRenewSeconds', 'FEDCISS_LEASE_RENEW_S'],
];

const kebab = (flag: string) => (flag === 'tlsHostnames' ? '--tls-hostname' : `--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);

/** host:port → host:(port+1); port 0 stays 0 (both picked by the system). */
function nextPort(address: string): string | undefined {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return undefined; // the schema reports the address itself
  const port = Number(m[2]);
  return `${m[1]}:${port === 0 ? 0 : port + 1}`;
}

/**
 * Resolves the configuration from flags (which win) and environment variables (FEDCISS_*, and
 * DATABASE_URL) over the schema's defaults, then reads the training settings file; throws a
 * ConfigError listing every problem with its setting's flag and variable.
 */
export function resolveConfig({ env = process.env, flags = {} }: ConfigSources = {}): CoordinatorConfig {
  const text: Record<string, string | undefined> = {};
  for (const [path, flag, envName] of SOURCES) {
    const f = flags[flag];
    const v = f === undefined ? env[envName] : String(f);
    text[path] = v === '' ? undefined : v;
  }
  const dataDir = resolve(text.dataDir ?? '.data/coordinator');
  const grpcAddress = text.grpcAddress ?? '127.0.0.1:50051';
  const insecure = flags.insecure === true || env.FEDCISS_INSECURE === '1';
  const input: CoordinatorSettingsInput = {
    dataDir,
    databaseUrl: text.databaseUrl,
    grpcAddress,
    enrollAddress: text.enrollAddress ?? nextPort(grpcAddress) ?? grpcAddress,
    tlsHostnames: (text.tlsHostnames ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    httpHost: text.httpHost,
    httpPort: text.httpPort,
    insecure,
    pkiDir: resolve(text.pkiDir ?? join(dataDir, 'pki')),
    rounds: {
      quorum: text['rounds.quorum'], deadlineSeconds: text['rounds.deadlineSeconds'], hardLimitSeconds: text['rounds.hardLimitSeconds'],
      stragglers: text['rounds.stragglers'] as StragglerPolicy | undefined, heartbeatTimeoutSeconds: text['rounds.heartbeatTimeoutSeconds'],
      segmenterRounds: text['rounds.segmenterRounds'], generatorRounds: text['rounds.generatorRounds'], laterStepGeneratorRounds: text['rounds.laterStepGeneratorRounds'],
      generatorFailuresPerStep: text['rounds.generatorFailuresPerStep'],
    },
    enrollment: {
      mode: insecure || flags.openEnrollment === true || env.FEDCISS_OPEN_ENROLLMENT === '1' ? 'open' : 'invitation',
      maxPendingPerAddress: text['enrollment.maxPendingPerAddress'], maxPending: text['enrollment.maxPending'], pendingExpirySeconds: text['enrollment.pendingExpirySeconds'],
    },
    leadership: { leaseSeconds: text['leadership.leaseSeconds'], renewSeconds: text['leadership.renewSeconds'] },
    training: DEFAULT_TRAINING,
    autoApprove: flags.autoApprove === true || env.FEDCISS_AUTO_APPROVE === '1',
    tickMs: text.tickMs,
  };
  const checked = checkCoordinatorSettings(input, (path) => {
    const source = SOURCES.find(([p]) => p === path);
    return source && `${kebab(source[1])} or ${source[2]}`;
  });
  if (!checked.ok) throw new ConfigError(checked.problems.length === 1 ? checked.problems[0]! : `${checked.problems.length} problems with the settings:\n  ${checked.problems.join('\n  ')}`);
  const config = checked.value;
  const trainingFile = flags.trainingFile === undefined ? env.FEDCISS_TRAINING_FILE : String(flags.trainingFile);
  if (trainingFile) {
    let json: string;
    try {
      json = readFileSync(trainingFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`training settings file ${trainingFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    config.training = parseTrainingSettings(json, trainingFile);
  }
  checkGeneratorRoundFits(config, trainingFile ?? 'the default training settings');
  return config;
}

/** What a site does in a generator round besides training, within the round's time: fetch the
 * task and the global generator, sample for the memorisation check, upload. */
const GENERATOR_ROUND_OVERHEAD_SECONDS = 60;

/** A site trains its generator for `generatorTraining.seconds` after the round opens; a round that
 * stops collecting before that fails every time, and the step goes on without a generator. */
function checkGeneratorRoundFits(config: CoordinatorConfig, trainingSource: string): void {
  const seconds = config.training.generatorTraining.seconds;
  const r = config.rounds;
  if ((r.generatorRounds === 0 && r.laterStepGeneratorRounds === 0) || seconds === 0) return;
  const [path, limit] = r.stragglers === 'wait' ? ['rounds.hardLimitSeconds', r.hardLimitSeconds] : ['rounds.deadlineSeconds', r.deadlineSeconds];
  if (seconds + GENERATOR_ROUND_OVERHEAD_SECONDS <= limit) return;
  const [, flag, env] = SOURCES.find(([p]) => p === path)!;
  throw new ConfigError(
    `${trainingSource}: generatorTraining.seconds is ${seconds}, but a generator round stops collecting after ${path} = ${limit} s ` +
      `(straggler policy ${r.stragglers}); sites need the training time and about ${GENERATOR_ROUND_OVERHEAD_SECONDS} s more. ` +
      `Shorten generatorTraining.seconds to at most ${Math.max(0, limit - GENERATOR_ROUND_OVERHEAD_SECONDS)} or raise ${path} (${kebab(flag)} or ${env}) to at least ${seconds + GENERATOR_ROUND_OVERHEAD_SECONDS}.`,
  );
}

/** Reads training settings from a JSON file's text (any subset of keys), over the defaults; see training-settings.schema.ts. */
export function parseTrainingSettings(json: string, source: string): TrainingSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new ConfigError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  try {
    return validateTrainingSettings(raw, source);
  } catch (e) {
    if (e instanceof TrainingSettingsError) throw new ConfigError(e.message);
    throw e;
  }
}
