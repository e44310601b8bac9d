/**
 * The federation's privacy settings (the `privacy` key of the training settings), their defaults
 * and their validation. Pure: read by the rounds (what a task carries, whether a round may open) and
 * by the accountant.
 */

/** Differential privacy of the sites' updates (site-level: one site's whole data is the unit). */
export interface DifferentialPrivacySettings {
  /** C: each site clips its update (the delta from the round's global model) to this L2 norm. */
  readonly clipNorm: number;
  /** σ: the noise on the sum of the clipped updates has standard deviation σ·C per coordinate. */
  readonly noiseMultiplier: number;
  /**
   * Where the noise is added. `site`: every site adds N(0, σ²C²) to its own clipped update, so each
   * update is private even from the coordinator. `aggregate`: needs secure aggregation; each of the
   * round's sites adds N(0, σ²C²/t) (t = the secure aggregation threshold), so the sum of any t or
   * more updates carries at least N(0, σ²C²) and nobody, the coordinator included, sees it without.
   */
  readonly noise: 'site' | 'aggregate';
  /** δ of the (ε, δ) the accountant reports. */
  readonly delta: number;
  /** Largest ε a site may spend over the federation's life, per model (null: no limit). */
  readonly budget: { readonly segmenter: number | null; readonly generator: number | null };
}

export interface PrivacySettings {
  /** null: updates are sent without clipping or noise. */
  readonly differentialPrivacy: DifferentialPrivacySettings | null;
}

export const DEFAULT_PRIVACY: PrivacySettings = { differentialPrivacy: null };

export const DEFAULT_DIFFERENTIAL_PRIVACY: DifferentialPrivacySettings = {
  clipNorm: 1,
  noiseMultiplier: 1,
  noise: 'site',
  delta: 1e-5,
  budget: { segmenter: null, generator: null },
};

export class PrivacySettingsError extends Error {
  override readonly name = 'PrivacySettingsError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates `privacy` from a training-settings file (any subset of keys, over the defaults). */
export function parsePrivacySettings(raw: unknown, where = 'privacy'): PrivacySettings {
  if (raw === undefined) return DEFAULT_PRIVACY;
  if (!isObject(raw)) throw new PrivacySettingsError(`${where} must be an object`);
  for (const k of Object.keys(raw)) if (k !== 'differentialPrivacy') throw new PrivacySettingsError(`${where}.${k} is not a setting (differentialPrivacy)`);
  const dpRaw = raw.differentialPrivacy;
  if (dpRaw === undefined || dpRaw === null) return { differentialPrivacy: null };
  const at = `${where}.differentialPrivacy`;
  if (!isObject(dpRaw)) throw new PrivacySettingsError(`${at} must be an object or null`);
  const known = Object.keys(DEFAULT_DIFFERENTIAL_PRIVACY);
  for (const k of Object.keys(dpRaw)) if (!known.includes(k)) throw new PrivacySettingsError(`${at}.${k} is not a setting (${known.join(', ')})`);
  const dp = { ...DEFAULT_DIFFERENTIAL_PRIVACY, ...dpRaw } as DifferentialPrivacySettings;
  if (typeof dp.clipNorm !== 'number' || !(dp.clipNorm > 0) || !Number.isFinite(dp.clipNorm)) throw new PrivacySettingsError(`${at}.clipNorm must be a positive number`);
  if (typeof dp.noiseMultiplier !== 'number' || !(dp.noiseMultiplier > 0) || !Number.isFinite(dp.noiseMultiplier)) {
    throw new PrivacySettingsError(`${at}.noiseMultiplier must be a positive number (0 would be no privacy: set differentialPrivacy to null instead)`);
  }
  if (dp.noise !== 'site' && dp.noise !== 'aggregate') throw new PrivacySettingsError(`${at}.noise must be 'site' or 'aggregate'`);
  if (dp.noise === 'aggregate') throw new PrivacySettingsError(`${at}.noise 'aggregate' needs secure aggregation, which this coordinator does not offer yet: use 'site'`);
  if (typeof dp.delta !== 'number' || !(dp.delta > 0 && dp.delta < 1)) throw new PrivacySettingsError(`${at}.delta must be in (0, 1)`);
  const budget = { ...DEFAULT_DIFFERENTIAL_PRIVACY.budget, ...(isObject(dpRaw.budget) ? dpRaw.budget : dpRaw.budget === undefined ? {} : invalidBudget(at)) };
  for (const k of Object.keys(budget)) {
    if (k !== 'segmenter' && k !== 'generator') throw new PrivacySettingsError(`${at}.budget.${k} is not a setting (segmenter, generator)`);
    const v = (budget as Record<string, unknown>)[k];
    if (v !== null && (typeof v !== 'number' || !(v > 0))) throw new PrivacySettingsError(`${at}.budget.${k} must be a positive ε or null`);
  }
  return { differentialPrivacy: { ...dp, budget: budget as DifferentialPrivacySettings['budget'] } };
}

function invalidBudget(at: string): never {
  throw new PrivacySettingsError(`${at}.budget must be an object { segmenter, generator }`);
}

/** What a training task tells a site to do to its update (undefined: nothing). */
export function siteDifferentialPrivacy(privacy: PrivacySettings | undefined): { clipNorm: number; noiseStddev: number } | undefined {
  const dp = privacy?.differentialPrivacy;
  // `site` noise: each update carries the full N(0, σ²C²).
  return dp ? { clipNorm: dp.clipNorm, noiseStddev: dp.noiseMultiplier * dp.clipNorm } : undefined;
}
