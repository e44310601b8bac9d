/**
 * `--set KEY=JSON`: a profile with some fields replaced from the command line. KEY is a field of
 * the profile or a dotted path into one (`segmenter.width`, `training.warmupFraction`), so one
 * setting can change without restating its object. Every field on the path must already exist,
 * except below `training`: that object holds the coordinator's training settings (training.json),
 * which the coordinator checks key by key (checkTrainingSettings runs that check before anything
 * trains); those the profile sets from fields of its own (PROFILE_TRAINING_KEYS) are set there.
 */
import { ConfigError, parseTrainingSettings } from '@fedciss/coordinator';
import { BenchUserError } from '@fedciss/ml/bench';
import { PROFILE_TRAINING_KEYS, STEP0, trainingSettings, type MethodSpec, type Profile } from './methods';
import { isObject } from './plain-object';

/** The profile field whose object takes new keys (the coordinator's training settings). */
const OPEN_FIELD = 'training';

/** `base` with each override applied in order; an unknown path is an error naming the key. */
export function applyOverrides(base: Profile, overrides: Readonly<Record<string, unknown>>): Profile {
  let profile: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const path = key.split('.');
    const [head, second] = path;
    const trainingKeys = head !== OPEN_FIELD ? [] : second !== undefined ? [second] : isObject(value) ? Object.keys(value) : [];
    const owned = PROFILE_TRAINING_KEYS.find((k) => trainingKeys.includes(k));
    if (owned) throw new BenchUserError(`--set ${key}: the profile's own ${owned} sets that training setting (--set ${owned}=...)`);
    profile = withValue(profile, path, value, key);
  }
  return profile as unknown as Profile;
}

/** A copy of `obj` with `path` set to `value` (the objects along the path copied, not changed).
 * Below `training` a missing field is created (an object where the path goes on). */
function withValue(obj: Record<string, unknown>, path: readonly string[], value: unknown, key: string, depth = 0): Record<string, unknown> {
  const [field, ...rest] = path;
  const open = depth > 0 && key.startsWith(`${OPEN_FIELD}.`);
  if (!field) throw new BenchUserError(`--set ${key}: an empty field name in the path`);
  const at = (n: number) => key.split('.').slice(0, n).join('.');
  if (!(field in obj) && !open) throw new BenchUserError(`--set ${key}: ${depth ? `the profile's ${at(depth)}` : 'the profile'} has no field "${field}" (${Object.keys(obj).join(', ')})`);
  if (!rest.length) {
    if (isObject(obj[field]) && !isObject(value)) throw new BenchUserError(`--set ${key}: the profile's ${key} is an object; give a JSON object, or a dotted path into it`);
    return { ...obj, [field]: value };
  }
  const inner = obj[field] ?? (open ? {} : undefined);
  if (!isObject(inner)) throw new BenchUserError(`--set ${key}: the profile's ${at(depth + 1)} is not an object`);
  return { ...obj, [field]: withValue(inner, rest, value, key, depth + 1) };
}

/** Each method's training settings at each step, and step 0's, parsed as the coordinator parses
 * training.json: a `--set training.*` typo or a bad value stops the bench before anything trains,
 * naming the method, the step and the key's path. */
export function checkTrainingSettings(methods: readonly MethodSpec[], profile: Profile, steps: number): void {
  for (const m of [STEP0, ...methods]) {
    for (let t = 0; t < (m === STEP0 ? 1 : steps); t++) {
      try {
        parseTrainingSettings(JSON.stringify(trainingSettings(m, profile, t)), `${m.id}'s training settings at step ${t}`);
      } catch (e) {
        throw e instanceof ConfigError ? new BenchUserError(e.message) : e;
      }
    }
  }
}
