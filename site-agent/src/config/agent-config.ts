/**
 * The site agent's settings: a JSON file (--config), overridden by FEDCISS_SITE_* environment
 * variables, overridden by flags. Relative paths are relative to the config file's folder.
 *
 * `agentSettingsSchema` is the one source of the settings' type, defaults and checks: a key the
 * file has and the schema does not is refused with its path (a typo stops `site-agent run` at
 * start-up instead of being ignored), and every problem names its key. Environment variables and
 * flags arrive as text; the schema accepts a setting's text form too (`"4"`, `"true"`, `"01,04"`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { describeSettingsIssues } from '@fedciss/proto';
import { EXECUTION_PROVIDERS, type ExecutionProvider } from '@fedciss/ml';

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

const ENV: Readonly<Record<string, string>> = {
  FEDCISS_SITE_NAME: 'siteName',
  FEDCISS_COORDINATOR: 'coordinator',
  FEDCISS_STANDBY_COORDINATORS: 'standbyCoordinators',
  FEDCISS_ENROLL_ADDRESS: 'enrollAddress',
  FEDCISS_SITE_INSECURE: 'insecure',
  FEDCISS_SITE_IDENTITY_DIR: 'identityDir',
  FEDCISS_SITE_DATA: 'dataRoot',
  FEDCISS_SITE_DATA_FORMAT: 'dataFormat',
  FEDCISS_SITE_WORK_DIR: 'workDir',
  FEDCISS_EXECUTION_PROVIDER: 'executionProvider',
  FEDCISS_TRAINING_EXECUTION_PROVIDER: 'trainingExecutionProvider',
  FEDCISS_SITE_THREADS: 'threads',
};

const text = (max: number) => z.string().min(1).max(max).refine((s) => !s.includes('\u0000'), 'must not contain a NUL character');
const hostPort = text(300).regex(/^.+:\d{1,5}$/, 'must be host:port');
/** A number given as a number or as its text (environment variables and flags are text). */
const numeric = (inner: z.ZodNumber) =>
  z.preprocess((v) => (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v), inner);
const surgery = z.string().regex(/^\d{2}$/, 'is not a two-digit surgery number');
/** A list given as a JSON array or as comma-separated text. */
const list = <T extends z.ZodType>(item: T) =>
  z.preprocess((v) => (typeof v === 'string' ? v.split(',').map((x) => x.trim()).filter(Boolean) : v), z.array(item));
const flag = z.preprocess((v) => (v === 'true' || v === '1' ? true : v === 'false' || v === '0' ? false : v), z.boolean());

export const agentSettingsSchema = z.strictObject({
  /** Hospital name shown to the coordinator's admins. */
  siteName: text(120).optional(),
  /** host:port of the coordinator's federation endpoint (mutual TLS). */
  coordinator: hostPort.default('127.0.0.1:50051'),
  /**
   * host:port of standby coordinators (same database and CA as `coordinator`): when the one in use
   * is unreachable or answers as a standby (UNAVAILABLE), the agent moves on to the next address.
   */
  standbyCoordinators: list(hostPort).default([]),
  /** host:port where a site without a certificate enrols (server-side TLS); default: coordinator port + 1. */
  enrollAddress: hostPort.optional(),
  /** Plaintext gRPC, loopback demo only (the coordinator must run with --insecure too). */
  insecure: flag.default(false),
  /** Key, certificate request, certificate and the federation's CA certificate. */
  identityDir: text(4096).default('identity'),
  /** The hospital's images: DSAD layout or a plain folder with a manifest. */
  dataRoot: text(4096).default('data'),
  dataFormat: z.enum(['auto', 'dsad', 'folder']).default('auto'),
  /** Caches, models, replay sets, checkpoints, logs and the outbound audit. */
  workDir: text(4096).default('work'),
  /** Where ONNX Runtime runs the agent's models; with `trainingExecutionProvider` set, only inference
   * (evaluation, the teacher's passes, replay sampling). */
  executionProvider: z.enum(EXECUTION_PROVIDERS).default('cpu'),
  /** Where training runs (the segmenter's steps, the generator's, the replay check's student);
   * default: `executionProvider`. A site with an NVIDIA GPU on WebGPU sets 'cpu' here: WebGPU ran
   * inference about twice as fast as 16 cores on an H200, training 1.4-2x slower (README, "Using a GPU"). */
  trainingExecutionProvider: z.enum(EXECUTION_PROVIDERS).optional(),
  /** Threads for ONNX Runtime (default: every core; lower it when several agents share a machine). */
  threads: numeric(z.number().int().min(1).max(1024)).optional(),
  /** Surgeries used for training; default: the official DSAD training split. */
  trainSurgeries: list(surgery).optional(),
  /**
   * Which training surgeries belong to which incremental step (step t trains on new patients, as in
   * the clinic); default: every training surgery at every step.
   */
  stepSurgeries: z.array(z.array(surgery)).optional(),
  /** Surgeries used for evaluation; default: the official DSAD test split. */
  testSurgeries: list(surgery).optional(),
  /** Size the test images are read at for evaluation (default: the model's input size). Set it to
   * the images' own size to score at label resolution, where thin structures do not vanish. */
  evaluationSize: z.strictObject({ width: z.number().int().min(1).max(16384), height: z.number().int().min(1).max(16384) }).optional(),
  /** Mixed into every training seed of this site (default: none); benchmarks repeat runs with other seeds. */
  trainingSeed: numeric(z.number().int().min(0).max(2 ** 31 - 1)).optional(),
  /** Seconds between heartbeats (the coordinator may ask for another interval). */
  heartbeatSeconds: numeric(z.number().positive().max(3600)).default(5),
  /** Size of upload chunks (0: the default 1 MiB). */
  uploadChunkBytes: numeric(z.number().int().min(0).max(1024 * 1024)).default(0).transform((n) => n || 1024 * 1024),
  /** Bandwidth cap for uploads, bytes per second (0: none); hospitals often must not saturate their link. */
  uploadBytesPerSecond: numeric(z.number().int().min(0)).default(0),
  /**
   * Thresholds of the memorisation check on this site's generator (ml's PrivacyOptions; default:
   * ml's defaults). A generator that fails it is retrained once, then withheld.
   */
  memorisationCheck: z.strictObject({ relativeThreshold: z.number().min(0).max(1).optional(), absoluteThreshold: z.number().min(0).max(1).optional() }).optional(),
});

/** The resolved settings: every default filled in, paths absolute, the site's name required. */
export type AgentConfig = Omit<z.output<typeof agentSettingsSchema>, 'siteName' | 'enrollAddress' | 'trainingExecutionProvider'> & {
  siteName: string;
  enrollAddress: string;
  trainingExecutionProvider: ExecutionProvider;
};

/** The providers this site runs models on, as it tells the coordinator at enrolment: inference's first. */
export function executionProvidersOf(c: Pick<AgentConfig, 'executionProvider' | 'trainingExecutionProvider'>): ExecutionProvider[] {
  return [...new Set([c.executionProvider, c.trainingExecutionProvider])];
}

function nextPort(address: string): string {
  const m = /^(.*):(\d+)$/.exec(address)!;
  return `${m[1]}:${Number(m[2]) + 1}`;
}

export function loadAgentConfig(options: { file?: string; env?: NodeJS.ProcessEnv; flags?: Partial<Record<keyof AgentConfig, unknown>> } = {}): AgentConfig {
  const env = options.env ?? process.env;
  let fromFile: unknown = {};
  let base = process.cwd();
  if (options.file) {
    if (!existsSync(options.file)) throw new AgentConfigError(`config file ${options.file} does not exist`);
    try {
      fromFile = JSON.parse(readFileSync(options.file, 'utf8'));
    } catch (e) {
      throw new AgentConfigError(`config file ${options.file} is not valid JSON: ${(e as Error).message}`);
    }
    if (typeof fromFile !== 'object' || fromFile === null || Array.isArray(fromFile)) throw new AgentConfigError(`config file ${options.file} must hold a JSON object`);
    base = dirname(resolve(options.file));
  }
  const merged: Record<string, unknown> = { ...(fromFile as Record<string, unknown>) };
  for (const [name, key] of Object.entries(ENV)) if (env[name] !== undefined && env[name] !== '') merged[key] = env[name];
  for (const [k, v] of Object.entries(options.flags ?? {})) if (v !== undefined) merged[k] = v;
  const parsed = agentSettingsSchema.safeParse(merged);
  const where = options.file ? `settings (${options.file}, FEDCISS_SITE_* variables, flags)` : 'settings (FEDCISS_SITE_* variables, flags)';
  if (!parsed.success) throw new AgentConfigError(`${where}: ${describeSettingsIssues(parsed.error.issues).join('; ')}`);
  const s = parsed.data;
  if (!s.siteName) throw new AgentConfigError(`${where}: siteName is required (config file key siteName, FEDCISS_SITE_NAME or --site-name)`);
  return {
    ...s,
    siteName: s.siteName,
    enrollAddress: s.enrollAddress ?? nextPort(s.coordinator),
    trainingExecutionProvider: s.trainingExecutionProvider ?? s.executionProvider,
    identityDir: resolve(base, s.identityDir),
    dataRoot: resolve(base, s.dataRoot),
    workDir: resolve(base, s.workDir),
  };
}
