/** A diffusion configuration read from untyped data (a model file's JSON metadata, a database
 * column, a settings file), the counterpart of segmentation's parseSegmenterConfig. */
import { diffusionConfig, type DiffusionConfig } from './unet';
import type { ScheduleConfig } from './schedule';

type Mutable<T> = { -readonly [K in keyof T]?: T[K] };

const INTEGER_KEYS = ['imageSize', 'imageWidth', 'channels', 'baseChannels', 'resBlocks', 'groups'] as const;
const LIST_KEYS = ['channelMults', 'attentionResolutions'] as const;
const KEYS: ReadonlySet<string> = new Set<keyof DiffusionConfig>([...INTEGER_KEYS, ...LIST_KEYS, 'prediction', 'schedule']);
const SCHEDULE_KEYS: ReadonlySet<string> = new Set<keyof ScheduleConfig>(['kind', 'timesteps', 'betaStart', 'betaEnd', 'cosineOffset']);

function objectOf(raw: unknown, what: string, where: string): Readonly<Record<string, unknown>> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: ${what} is not an object`);
  return { ...raw };
}

function scheduleOf(raw: unknown, where: string): ScheduleConfig {
  const o = objectOf(raw, 'the diffusion schedule', where);
  for (const k of Object.keys(o)) if (!SCHEDULE_KEYS.has(k)) throw new Error(`${where}: unknown diffusion setting 'schedule.${k}'`);
  if (o.kind !== 'linear' && o.kind !== 'cosine') throw new Error(`${where}: diffusion schedule.kind must be 'linear' or 'cosine', got ${JSON.stringify(o.kind)}`);
  const s: { -readonly [K in keyof ScheduleConfig]: ScheduleConfig[K] } = { kind: o.kind };
  if (o.timesteps !== undefined) {
    if (typeof o.timesteps !== 'number' || !Number.isInteger(o.timesteps)) throw new Error(`${where}: diffusion schedule.timesteps must be an integer, got ${JSON.stringify(o.timesteps)}`);
    s.timesteps = o.timesteps;
  }
  for (const k of ['betaStart', 'betaEnd', 'cosineOffset'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`${where}: diffusion schedule.${k} must be a number, got ${JSON.stringify(v)}`);
    s[k] = v;
  }
  return s;
}

/** Every key optional (DEFAULT_DIFFUSION_CONFIG fills in), each of its own type, no unknown key, the
 * whole validated; an error names the key and `where`. */
export function parseDiffusionConfig(raw: unknown, where: string): DiffusionConfig {
  const o = objectOf(raw, 'the diffusion configuration', where);
  for (const k of Object.keys(o)) if (!KEYS.has(k)) throw new Error(`${where}: unknown diffusion setting '${k}'`);
  const c: Mutable<DiffusionConfig> = {};
  for (const k of INTEGER_KEYS) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${where}: diffusion ${k} must be an integer, got ${JSON.stringify(v)}`);
    c[k] = v;
  }
  for (const k of LIST_KEYS) {
    const v = o[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isInteger(x))) throw new Error(`${where}: diffusion ${k} must be a list of integers, got ${JSON.stringify(v)}`);
    c[k] = [...v];
  }
  if (o.prediction !== undefined) {
    if (o.prediction !== 'eps' && o.prediction !== 'v') throw new Error(`${where}: diffusion prediction must be 'eps' or 'v', got ${JSON.stringify(o.prediction)}`);
    c.prediction = o.prediction;
  }
  if (o.schedule !== undefined) c.schedule = scheduleOf(o.schedule, where);
  try {
    return diffusionConfig(c);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
}
