/**
 * The site agent's settings: a JSON file (--config), overridden by FEDCISS_SITE_* environment
 * variables, overridden by flags. Relative paths are relative to the config file's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { PrivacyOptions } from '@fedciss/ml';

export type ExecutionProviderName = 'cpu' | 'cuda' | 'webgpu';

export interface AgentConfig {
  /** Hospital name shown to the coordinator's admins. */
  siteName: string;
  /** host:port of the coordinator's federation endpoint (mutual TLS). */
  coordinator: string;
  /** host:port where a site without a certificate enrols (server-side TLS); default: coordinator port + 1. */
  enrollAddress: string;
  /** Plaintext gRPC, loopback demo only (the coordinator must run with --insecure too). */
  insecure: boolean;
  /** Key, certificate request, certificate and the federation's CA certificate. */
  identityDir: string;
  /** The hospital's images: DSAD layout or a plain folder with a manifest. */
  dataRoot: string;
  dataFormat: 'auto' | 'dsad' | 'folder';
  /** Caches, models, replay sets, checkpoints, logs and the outbound audit. */
  workDir: string;
  executionProvider: ExecutionProviderName;
  /** Threads for ONNX Runtime (default: every core; lower it when several agents share a machine). */
  threads?: number;
  /** Surgeries used for training; default: the official DSAD training split. */
  trainSurgeries?: string[];
  /**
   * Which training surgeries belong to which incremental step (step t trains on new patients, as in
   * the clinic); default: every training surgery at every step.
   */
  stepSurgeries?: string[][];
  /** Surgeries used for evaluation; default: the official DSAD test split. */
  testSurgeries?: string[];
  /** Seconds between heartbeats (the coordinator may ask for another interval). */
  heartbeatSeconds: number;
  /** Size of upload chunks (default 1 MiB). */
  uploadChunkBytes: number;
  /** Bandwidth cap for uploads, bytes per second (0: none); hospitals often must not saturate their link. */
  uploadBytesPerSecond: number;
  /**
   * Faults to inject once, for resilience tests only (FEDCISS_SITE_FAULTS, comma-separated):
   * `corrupt-chunk` corrupts one chunk of the first upload attempt; `nan-update` makes the first
   * update carry a NaN.
   */
  faults: Fault[];
  /**
   * Thresholds of the memorisation check on this site's generator (ml's PrivacyOptions; default:
   * ml's defaults). A generator that fails it is retrained once, then withheld.
   */
  memorisationCheck?: PrivacyOptions;
}

export const FAULTS = ['corrupt-chunk', 'nan-update'] as const;
export type Fault = (typeof FAULTS)[number];

export class AgentConfigError extends Error {
  override readonly name = 'AgentConfigError';
}

const ENV: Record<string, keyof AgentConfig> = {
  FEDCISS_SITE_NAME: 'siteName',
  FEDCISS_COORDINATOR: 'coordinator',
  FEDCISS_ENROLL_ADDRESS: 'enrollAddress',
  FEDCISS_SITE_INSECURE: 'insecure',
  FEDCISS_SITE_IDENTITY_DIR: 'identityDir',
  FEDCISS_SITE_DATA: 'dataRoot',
  FEDCISS_SITE_DATA_FORMAT: 'dataFormat',
  FEDCISS_SITE_WORK_DIR: 'workDir',
  FEDCISS_EXECUTION_PROVIDER: 'executionProvider',
  FEDCISS_SITE_THREADS: 'threads',
  FEDCISS_SITE_FAULTS: 'faults',
};

function nextPort(address: string): string {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) throw new AgentConfigError(`coordinator address '${address}' must be host:port`);
  return `${m[1]}:${Number(m[2]) + 1}`;
}

function positiveInt(name: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new AgentConfigError(`${name} must be a positive integer (got '${v}')`);
  return n;
}

export function loadAgentConfig(options: { file?: string; env?: NodeJS.ProcessEnv; flags?: Partial<Record<keyof AgentConfig, unknown>> } = {}): AgentConfig {
  const env = options.env ?? process.env;
  let fromFile: Record<string, unknown> = {};
  let base = process.cwd();
  if (options.file) {
    if (!existsSync(options.file)) throw new AgentConfigError(`config file ${options.file} does not exist`);
    try {
      fromFile = JSON.parse(readFileSync(options.file, 'utf8'));
    } catch (e) {
      throw new AgentConfigError(`config file ${options.file} is not valid JSON: ${(e as Error).message}`);
    }
    base = dirname(resolve(options.file));
  }
  const merged: Record<string, unknown> = { ...fromFile };
  for (const [name, key] of Object.entries(ENV)) if (env[name] !== undefined && env[name] !== '') merged[key] = env[name];
  for (const [k, v] of Object.entries(options.flags ?? {})) if (v !== undefined) merged[k] = v;
  const str = (k: keyof AgentConfig, fallback?: string): string => {
    const v = merged[k] ?? fallback;
    if (typeof v !== 'string' || !v) throw new AgentConfigError(`setting '${k}' is required (config file, ${Object.keys(ENV).find((e) => ENV[e] === k) ?? 'flag'})`);
    return v;
  };
  const coordinator = str('coordinator', '127.0.0.1:50051');
  const provider = str('executionProvider', 'cpu');
  if (!['cpu', 'cuda', 'webgpu'].includes(provider)) throw new AgentConfigError(`executionProvider must be cpu, cuda or webgpu (got '${provider}')`);
  const format = str('dataFormat', 'auto');
  if (!['auto', 'dsad', 'folder'].includes(format)) throw new AgentConfigError(`dataFormat must be auto, dsad or folder (got '${format}')`);
  const list = (k: 'trainSurgeries' | 'testSurgeries') => {
    const v = merged[k];
    if (v === undefined) return undefined;
    const items = Array.isArray(v) ? v.map(String) : String(v).split(',').map((s) => s.trim()).filter(Boolean);
    for (const s of items) if (!/^\d{2}$/.test(s)) throw new AgentConfigError(`${k}: '${s}' is not a two-digit surgery number`);
    return items;
  };
  let stepSurgeries: string[][] | undefined;
  if (merged.stepSurgeries !== undefined) {
    if (!Array.isArray(merged.stepSurgeries) || !merged.stepSurgeries.every((s) => Array.isArray(s))) throw new AgentConfigError('stepSurgeries must be a list of lists of surgery numbers');
    stepSurgeries = (merged.stepSurgeries as unknown[][]).map((l, t) => l.map((x) => {
      if (!/^\d{2}$/.test(String(x))) throw new AgentConfigError(`stepSurgeries[${t}]: '${x}' is not a two-digit surgery number`);
      return String(x);
    }));
  }
  const faults = (Array.isArray(merged.faults) ? merged.faults.map(String) : String(merged.faults ?? '').split(',')).map((f) => f.trim()).filter(Boolean);
  for (const f of faults) if (!(FAULTS as readonly string[]).includes(f)) throw new AgentConfigError(`unknown fault '${f}' (known: ${FAULTS.join(', ')})`);
  const nonNegative = (k: 'uploadChunkBytes' | 'uploadBytesPerSecond', fallback: number) => {
    const v = Number(merged[k] ?? fallback);
    if (!Number.isInteger(v) || v < 0) throw new AgentConfigError(`${k} must be a non-negative integer`);
    return v;
  };
  const heartbeat = Number(merged.heartbeatSeconds ?? 5);
  if (!(heartbeat > 0)) throw new AgentConfigError('heartbeatSeconds must be a positive number');
  return {
    siteName: str('siteName'),
    coordinator,
    enrollAddress: str('enrollAddress', nextPort(coordinator)),
    insecure: merged.insecure === true || merged.insecure === 'true' || merged.insecure === '1',
    identityDir: resolve(base, str('identityDir', 'identity')),
    dataRoot: resolve(base, str('dataRoot', 'data')),
    dataFormat: format as AgentConfig['dataFormat'],
    workDir: resolve(base, str('workDir', 'work')),
    executionProvider: provider as ExecutionProviderName,
    threads: merged.threads === undefined ? undefined : positiveInt('threads', merged.threads),
    trainSurgeries: list('trainSurgeries'),
    testSurgeries: list('testSurgeries'),
    stepSurgeries,
    heartbeatSeconds: heartbeat,
    uploadChunkBytes: nonNegative('uploadChunkBytes', 1024 * 1024) || 1024 * 1024,
    uploadBytesPerSecond: nonNegative('uploadBytesPerSecond', 0),
    faults: faults as Fault[],
    memorisationCheck: memorisationCheck(merged.memorisationCheck),
  };
}

/** `memorisationCheck` from the config file: thresholds of the generator's memorisation check. */
function memorisationCheck(v: unknown): PrivacyOptions | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new AgentConfigError('memorisationCheck must be an object');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!['relativeThreshold', 'absoluteThreshold'].includes(k)) throw new AgentConfigError(`memorisationCheck.${k} is not a setting (relativeThreshold, absoluteThreshold)`);
    if (typeof o[k] !== 'number' || !((o[k] as number) >= 0)) throw new AgentConfigError(`memorisationCheck.${k} must be a non-negative number`);
  }
  return o as PrivacyOptions;
}
