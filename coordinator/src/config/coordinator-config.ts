/**
 * Everything the coordinator is configured with, resolved once at start-up from defaults,
 * environment variables and command-line flags (flags win), and validated with messages that name
 * the setting.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DEFAULT_SERVER_DISTILLATION, type ServerDistillationSettings } from '../models/model-factory';
import { checkSecureAggregationFits, DEFAULT_PRIVACY, parsePrivacySettings, PrivacySettingsError, type PrivacySettings } from '../privacy/privacy-settings';

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
    training: DEFAULT_TRAINING,
    autoApprove: flags.autoApprove === true || env.FEDCISS_AUTO_APPROVE === '1',
    tickMs: int('tickMs', pick('tickMs', 'FEDCISS_TICK_MS'), 1000, 10),
  };
  if (trainingFile) config.training = parseTrainingSettings(readFileSync(trainingFile, 'utf8'), trainingFile);
  return config;
}

/** What sites are told to train with, and what the coordinator does after aggregating. */
export interface TrainingSettings {
  localEpochs: number;
  batchSize: number;
  learningRate: number;
  /** Synthetic images each site generates (and the teacher labels) for replay at steps > 0. */
  replayImages: number;
  pseudoLabelThreshold: number;
  lossWeights: Record<string, number>;
  /** Local training of the diffusion generator in generator rounds. */
  generatorTraining: { epochs: number; batchSize: number; learningRate: number };
  /** Steps of server-side distillation on generated images after each aggregation (0: off). */
  serverDistillSteps: number;
  /** Images generated for it, their DDIM steps, and the optimizer's batch size and learning rate. */
  serverDistillation: ServerDistillationSettings;
  /** Aggregation strategy and its options (see aggregation/registry.ts). */
  aggregation: { strategy: string } & Record<string, unknown>;
  /**
   * Also evaluate every site's local model (its update in the step's last segmenter round) on
   * every site's test patients: the cross-site matrix of the report.
   */
  crossSiteEvaluation: boolean;
  /** Largest L2 norm of an update's delta that is accepted. */
  maxUpdateNorm: number;
  /** Differential privacy of the updates and its budget (privacy/privacy-settings.ts). */
  privacy: PrivacySettings;
  /** Architecture overrides; unset: the model factory's defaults. */
  segmenter?: Record<string, unknown>;
  generator?: Record<string, unknown>;
}

export const DEFAULT_TRAINING: TrainingSettings = {
  localEpochs: 1,
  batchSize: 8,
  learningRate: 1e-3,
  replayImages: 32,
  pseudoLabelThreshold: 0.7,
  // The keys of ml's LossWeights (incremental/train.ts), plus the pseudoLabels switch.
  lossWeights: { ce: 1, kd: 1, pod: 0.5, contrastive: 0.1 },
  generatorTraining: { epochs: 2, batchSize: 16, learningRate: 5e-4 },
  serverDistillSteps: 10,
  serverDistillation: DEFAULT_SERVER_DISTILLATION,
  aggregation: { strategy: 'fedavg' },
  crossSiteEvaluation: false,
  maxUpdateNorm: 1e4,
  privacy: DEFAULT_PRIVACY,
};

/** Reads training settings from a JSON file's text (any subset of keys), over the defaults. */
export function parseTrainingSettings(json: string, source: string): TrainingSettings {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    throw new ConfigError(`${source}: not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${source}: must be a JSON object`);
  const merged = { ...DEFAULT_TRAINING, ...(raw as Partial<TrainingSettings>) };
  merged.serverDistillation = { ...DEFAULT_SERVER_DISTILLATION, ...merged.serverDistillation };
  try {
    merged.privacy = parsePrivacySettings((raw as { privacy?: unknown }).privacy);
    checkSecureAggregationFits(merged.privacy, merged);
  } catch (e) {
    if (e instanceof PrivacySettingsError) throw new ConfigError(`${source}: ${e.message}`);
    throw e;
  }
  for (const key of ['localEpochs', 'batchSize', 'replayImages', 'serverDistillSteps'] as const) {
    if (!Number.isInteger(merged[key]) || merged[key] < 0) throw new ConfigError(`${source}: ${key} must be a non-negative integer`);
  }
  for (const key of ['learningRate', 'pseudoLabelThreshold', 'maxUpdateNorm'] as const) {
    if (typeof merged[key] !== 'number' || !(merged[key] > 0)) throw new ConfigError(`${source}: ${key} must be a positive number`);
  }
  return merged;
}
