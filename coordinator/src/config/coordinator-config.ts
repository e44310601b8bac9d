/**
 * Everything the coordinator is configured with, resolved once at start-up from defaults,
 * environment variables and command-line flags (flags win), and validated with messages that name
 * the setting.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_TRAINING, TrainingSettingsError, validateTrainingSettings, type TrainingSettings } from './training-settings.schema';

export { DEFAULT_TRAINING, type TrainingSettings };

export type StragglerPolicy = 'wait' | 'drop' | 'accept-late-same-round';

export interface RoundSettings {
  /** Minimum number of accepted updates for a round to aggregate. */
  quorum: number;
  /** How long sites have to upload, from the round's opening. */
  deadlineSeconds: number;
  /** Under `wait`, how long past the deadline a round may wait for its quorum before it fails. */
  hardLimitSeconds: number;
  stragglers: StragglerPolicy;
  /** A site without a heartbeat for this long counts as dead and is not waited for. */
  heartbeatTimeoutSeconds: number;
  /** Segmenter rounds per incremental step. */
  segmenterRounds: number;
  /** Generator rounds per step (0: no diffusion replay). */
  generatorRounds: number;
}

/** Bounds of enrolment, the one call that needs no certificate. */
export interface EnrollmentSettings {
  /** Pending requests (not yet approved or rejected) from one peer address. */
  maxPendingPerAddress: number;
  /** Pending requests in total. */
  maxPending: number;
  /** A request nobody approved or rejected within this time is removed (the site may ask again). */
  pendingExpirySeconds: number;
}

export const DEFAULT_ENROLLMENT: EnrollmentSettings = { maxPendingPerAddress: 10, maxPending: 200, pendingExpirySeconds: 7 * 24 * 3600 };

export interface CoordinatorConfig {
  dataDir: string;
  /** postgres://… to use a PostgreSQL server; unset: embedded PGlite under dataDir/db. */
  databaseUrl?: string;
  grpcAddress: string;
  /** Server-side-TLS port where sites without a certificate yet may call Enroll (mTLS mode only). */
  enrollAddress: string;
  /** Extra names the coordinator's TLS certificate must cover (besides localhost). */
  tlsHostnames: string[];
  httpHost: string;
  httpPort: number;
  /** Plaintext gRPC: only for a loopback demo; otherwise mutual TLS with the federation's CA. */
  insecure: boolean;
  pkiDir: string;
  rounds: RoundSettings;
  enrollment: EnrollmentSettings;
  training: TrainingSettings;
  /** Sites enrolling in insecure (loopback demo) mode are approved without an admin. */
  autoApprove: boolean;
  /** How often the round clock checks deadlines and heartbeats. */
  tickMs: number;
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export const DEFAULT_ROUNDS: RoundSettings = {
  quorum: 2,
  deadlineSeconds: 600,
  hardLimitSeconds: 1800,
  stragglers: 'drop',
  heartbeatTimeoutSeconds: 60,
  segmenterRounds: 2,
  generatorRounds: 1,
};

function int(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer >= ${min} (got '${raw}')`);
  return n;
}

export interface ConfigSources {
  env?: NodeJS.ProcessEnv;
  /** Flag values by setting name, from the CLI; they override the environment. */
  flags?: Partial<Record<string, string | boolean | undefined>>;
}

/** host:port → host:(port+1); port 0 stays 0 (both picked by the system). */
function nextPort(address: string): string {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw new ConfigError(`grpc address '${address}' must be host:port`);
  const port = Number(m[2]);
  return `${m[1]}:${port === 0 ? 0 : port + 1}`;
}

/** Resolves the configuration; environment variables are FEDCISS_* (and DATABASE_URL). */
export function resolveConfig({ env = process.env, flags = {} }: ConfigSources = {}): CoordinatorConfig {
  const pick = (flag: string, envName: string) => {
    const f = flags[flag];
    return f === undefined ? env[envName] : String(f);
  };
  const dataDir = resolve(pick('dataDir', 'FEDCISS_DATA_DIR') ?? '.data/coordinator');
  const stragglers = (pick('stragglers', 'FEDCISS_STRAGGLERS') ?? DEFAULT_ROUNDS.stragglers) as StragglerPolicy;
  if (!['wait', 'drop', 'accept-late-same-round'].includes(stragglers)) {
    throw new ConfigError(`stragglers must be wait, drop or accept-late-same-round (got '${stragglers}')`);
  }
  const rounds: RoundSettings = {
    quorum: int('quorum', pick('quorum', 'FEDCISS_QUORUM'), DEFAULT_ROUNDS.quorum, 1),
    deadlineSeconds: int('deadline', pick('deadline', 'FEDCISS_ROUND_DEADLINE_S'), DEFAULT_ROUNDS.deadlineSeconds, 1),
    hardLimitSeconds: int('hardLimit', pick('hardLimit', 'FEDCISS_ROUND_HARD_LIMIT_S'), DEFAULT_ROUNDS.hardLimitSeconds, 1),
    stragglers,
    heartbeatTimeoutSeconds: int('heartbeatTimeout', pick('heartbeatTimeout', 'FEDCISS_HEARTBEAT_TIMEOUT_S'), DEFAULT_ROUNDS.heartbeatTimeoutSeconds, 1),
    segmenterRounds: int('segmenterRounds', pick('segmenterRounds', 'FEDCISS_SEGMENTER_ROUNDS'), DEFAULT_ROUNDS.segmenterRounds, 1),
    generatorRounds: int('generatorRounds', pick('generatorRounds', 'FEDCISS_GENERATOR_ROUNDS'), DEFAULT_ROUNDS.generatorRounds, 0),
  };
  const insecure = flags.insecure === true || env.FEDCISS_INSECURE === '1';
  const grpcAddress = pick('grpcAddress', 'FEDCISS_GRPC_ADDRESS') ?? '127.0.0.1:50051';
  const trainingFile = pick('trainingFile', 'FEDCISS_TRAINING_FILE');
  const config: CoordinatorConfig = {
    dataDir,
    databaseUrl: pick('databaseUrl', 'DATABASE_URL') || undefined,
    grpcAddress,
    enrollAddress: pick('enrollAddress', 'FEDCISS_ENROLL_ADDRESS') ?? nextPort(grpcAddress),
    tlsHostnames: (pick('tlsHostnames', 'FEDCISS_TLS_HOSTNAMES') ?? '').split(',').map((h) => h.trim()).filter(Boolean),
    httpHost: pick('httpHost', 'FEDCISS_HTTP_HOST') ?? '127.0.0.1',
    httpPort: int('httpPort', pick('httpPort', 'FEDCISS_HTTP_PORT'), 8080, 0),
    insecure,
    pkiDir: resolve(pick('pkiDir', 'FEDCISS_PKI_DIR') ?? join(dataDir, 'pki')),
    rounds,
    enrollment: {
      maxPendingPerAddress: int('maxPendingPerAddress', pick('maxPendingPerAddress', 'FEDCISS_MAX_PENDING_PER_ADDRESS'), DEFAULT_ENROLLMENT.maxPendingPerAddress, 1),
      maxPending: int('maxPending', pick('maxPending', 'FEDCISS_MAX_PENDING'), DEFAULT_ENROLLMENT.maxPending, 1),
      pendingExpirySeconds: int('pendingExpiry', pick('pendingExpiry', 'FEDCISS_PENDING_EXPIRY_S'), DEFAULT_ENROLLMENT.pendingExpirySeconds, 1),
    },
    training: DEFAULT_TRAINING,
    autoApprove: flags.autoApprove === true || env.FEDCISS_AUTO_APPROVE === '1',
    tickMs: int('tickMs', pick('tickMs', 'FEDCISS_TICK_MS'), 1000, 10),
  };
  if (trainingFile) {
    let text: string;
    try {
      text = readFileSync(trainingFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`training settings file ${trainingFile} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    config.training = parseTrainingSettings(text, trainingFile);
  }
  return config;
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
