import { DEFAULT_ADAPTIVE_CLIPPING, updateNoiseMultiplier, type AdaptiveClippingSettings } from './adaptive-clipping';

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
  /**
   * null: C stays clipNorm. Otherwise C starts at clipNorm and follows a target quantile of the
   * sites' update norms (adaptive-clipping.ts); noiseMultiplier stays the total the accountant
   * charges, part of it spent on the sites' privatised "within C" bits.
   */
  readonly adaptiveClipping?: AdaptiveClippingSettings | null;
}

/**
 * Secure aggregation (SecAgg+): the coordinator learns only the sum of the sites' updates. What it
 * costs: no per-update validation (only the length of a masked update can be checked), no robust
 * aggregation (FedAvg only), no per-site local models (no cross-site evaluation). What stays: the
 * sites' clipping, and the checks of the aggregate (finite, norm bound).
 */
export interface SecureAggregationSettings {
  /** Shares needed to recover a site's secret: a round needs this many sites answering the unmasking. */
  readonly threshold: number;
  /** SecAgg+ neighbours each site masks with and shares its secrets among (0: every other site). */
  readonly neighbours: number;
  /** L2 bound each site clips its update to (without differential privacy; with it, its clipNorm). */
  readonly clipNorm: number;
  /** FedAvg weight of a site = min(its samples, this cap) (bounds one site's influence); under DP every site weighs 1. */
  readonly sampleWeightCap: number;
}

export interface PrivacySettings {
  /** null: updates are sent without clipping or noise. */
  readonly differentialPrivacy: DifferentialPrivacySettings | null;
  /** null: the coordinator receives each site's update in the clear. */
  readonly secureAggregation?: SecureAggregationSettings | null;
}

export const DEFAULT_PRIVACY: PrivacySettings = { differentialPrivacy: null, secureAggregation: null };

export const DEFAULT_SECURE_AGGREGATION: SecureAggregationSettings = { threshold: 2, neighbours: 0, clipNorm: 10, sampleWeightCap: 1000 };

export const DEFAULT_DIFFERENTIAL_PRIVACY: DifferentialPrivacySettings = {
  clipNorm: 1,
  noiseMultiplier: 1,
  noise: 'site',
  delta: 1e-5,
  budget: { segmenter: null, generator: null },
  adaptiveClipping: null,
};

export class PrivacySettingsError extends Error {
  override readonly name = 'PrivacySettingsError';
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates `privacy` from a training-settings file (any subset of keys, over the defaults). */
export function parsePrivacySettings(raw: unknown, where = 'privacy'): PrivacySettings {
  if (raw === undefined) return DEFAULT_PRIVACY;
  if (!isObject(raw)) throw new PrivacySettingsError(`${where} must be an object`);
  for (const k of Object.keys(raw)) if (k !== 'differentialPrivacy' && k !== 'secureAggregation') throw new PrivacySettingsError(`${where}.${k} is not a setting (differentialPrivacy, secureAggregation)`);
  const secureAggregation = parseSecureAggregation(raw.secureAggregation, `${where}.secureAggregation`);
  const differentialPrivacy = parseDifferentialPrivacy(raw.differentialPrivacy, `${where}.differentialPrivacy`);
  if (differentialPrivacy?.noise === 'aggregate' && !secureAggregation) {
    throw new PrivacySettingsError(`${where}.differentialPrivacy.noise 'aggregate' needs ${where}.secureAggregation (without it the coordinator would see each update before the noise): use 'site' or turn secure aggregation on`);
  }
  return { differentialPrivacy, secureAggregation };
}

function parseSecureAggregation(raw: unknown, at: string): SecureAggregationSettings | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) throw new PrivacySettingsError(`${at} must be an object or null`);
  const known = Object.keys(DEFAULT_SECURE_AGGREGATION);
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw new PrivacySettingsError(`${at}.${k} is not a setting (${known.join(', ')})`);
  const sa = { ...DEFAULT_SECURE_AGGREGATION, ...raw } as SecureAggregationSettings;
  if (!Number.isInteger(sa.threshold) || sa.threshold < 2 || sa.threshold > 255) throw new PrivacySettingsError(`${at}.threshold must be an integer in 2..255 (Shamir shares)`);
  if (!Number.isInteger(sa.neighbours) || sa.neighbours < 0) throw new PrivacySettingsError(`${at}.neighbours must be a non-negative integer (0: every other site)`);
  if (sa.neighbours > 0 && sa.neighbours + 1 < sa.threshold) throw new PrivacySettingsError(`${at}.neighbours ${sa.neighbours} leaves fewer holders (${sa.neighbours + 1}) than the threshold ${sa.threshold}`);
  for (const k of ['clipNorm', 'sampleWeightCap'] as const) {
    if (typeof sa[k] !== 'number' || !(sa[k] > 0) || !Number.isFinite(sa[k])) throw new PrivacySettingsError(`${at}.${k} must be a positive number`);
  }
  return sa;
}

function parseDifferentialPrivacy(dpRaw: unknown, at: string): DifferentialPrivacySettings | null {
  if (dpRaw === undefined || dpRaw === null) return null;
  if (!isObject(dpRaw)) throw new PrivacySettingsError(`${at} must be an object or null`);
  const known = Object.keys(DEFAULT_DIFFERENTIAL_PRIVACY);
  for (const k of Object.keys(dpRaw)) if (!known.includes(k)) throw new PrivacySettingsError(`${at}.${k} is not a setting (${known.join(', ')})`);
  const dp = { ...DEFAULT_DIFFERENTIAL_PRIVACY, ...dpRaw } as DifferentialPrivacySettings;
  if (typeof dp.clipNorm !== 'number' || !(dp.clipNorm > 0) || !Number.isFinite(dp.clipNorm)) throw new PrivacySettingsError(`${at}.clipNorm must be a positive number`);
  if (typeof dp.noiseMultiplier !== 'number' || !(dp.noiseMultiplier > 0) || !Number.isFinite(dp.noiseMultiplier)) {
    throw new PrivacySettingsError(`${at}.noiseMultiplier must be a positive number (0 would be no privacy: set differentialPrivacy to null instead)`);
  }
  if (dp.noise !== 'site' && dp.noise !== 'aggregate') throw new PrivacySettingsError(`${at}.noise must be 'site' or 'aggregate'`);
  if (typeof dp.delta !== 'number' || !(dp.delta > 0 && dp.delta < 1)) throw new PrivacySettingsError(`${at}.delta must be in (0, 1)`);
  const budget = { ...DEFAULT_DIFFERENTIAL_PRIVACY.budget, ...(isObject(dpRaw.budget) ? dpRaw.budget : dpRaw.budget === undefined ? {} : invalidBudget(at)) };
  for (const k of Object.keys(budget)) {
    if (k !== 'segmenter' && k !== 'generator') throw new PrivacySettingsError(`${at}.budget.${k} is not a setting (segmenter, generator)`);
    const v = (budget as Record<string, unknown>)[k];
    if (v !== null && (typeof v !== 'number' || !(v > 0))) throw new PrivacySettingsError(`${at}.budget.${k} must be a positive ε or null`);
  }
  const adaptiveClipping = parseAdaptiveClipping(dpRaw.adaptiveClipping, dp.noiseMultiplier, `${at}.adaptiveClipping`);
  return { ...dp, budget: budget as DifferentialPrivacySettings['budget'], adaptiveClipping };
}

function parseAdaptiveClipping(raw: unknown, noiseMultiplier: number, at: string): AdaptiveClippingSettings | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) throw new PrivacySettingsError(`${at} must be an object or null`);
  const known = Object.keys(DEFAULT_ADAPTIVE_CLIPPING);
  for (const k of Object.keys(raw)) if (!known.includes(k)) throw new PrivacySettingsError(`${at}.${k} is not a setting (${known.join(', ')})`);
  const a = { ...DEFAULT_ADAPTIVE_CLIPPING, ...raw } as AdaptiveClippingSettings;
  if (typeof a.targetQuantile !== 'number' || !(a.targetQuantile > 0 && a.targetQuantile < 1)) throw new PrivacySettingsError(`${at}.targetQuantile must be in (0, 1)`);
  if (typeof a.learningRate !== 'number' || !(a.learningRate > 0) || !Number.isFinite(a.learningRate)) throw new PrivacySettingsError(`${at}.learningRate must be a positive number`);
  if (typeof a.countNoiseStddev !== 'number' || !Number.isFinite(a.countNoiseStddev) || !(2 * a.countNoiseStddev > noiseMultiplier)) {
    throw new PrivacySettingsError(`${at}.countNoiseStddev must exceed half of noiseMultiplier (${noiseMultiplier / 2}): below that the bits alone would spend the whole privacy of the round`);
  }
  return a;
}

function invalidBudget(at: string): never {
  throw new PrivacySettingsError(`${at}.budget must be an object { segmenter, generator }`);
}

/** What a site does to its update in a round (a task's DifferentialPrivacy). */
export interface SiteDifferentialPrivacy {
  readonly clipNorm: number;
  /** Per-coordinate standard deviation of the noise on the clipped delta. */
  readonly noiseStddev: number;
  /** Adaptive clipping: standard deviation of the noise on the site's "within C" bit (0: no bit is sent). */
  readonly countNoiseStddev: number;
}

/**
 * What a training task tells a site to do to its update (undefined: nothing). Under secure
 * aggregation the site always clips (the masked sum needs bounded inputs); `aggregate` noise is
 * split so that any `threshold` or more sites' noises add up to at least the full noise (on the
 * updates and on the bits alike). `clipNorm`: the round's bound (it moves under adaptive clipping).
 */
export function siteDifferentialPrivacy(privacy: PrivacySettings | undefined, clipNorm = privacy?.differentialPrivacy?.clipNorm): SiteDifferentialPrivacy | undefined {
  const dp = privacy?.differentialPrivacy;
  const sa = privacy?.secureAggregation;
  if (!dp) return sa ? { clipNorm: sa.clipNorm, noiseStddev: 0, countNoiseStddev: 0 } : undefined;
  const C = clipNorm ?? dp.clipNorm;
  const ac = dp.adaptiveClipping;
  const z = ac ? updateNoiseMultiplier(dp.noiseMultiplier, ac.countNoiseStddev) : dp.noiseMultiplier;
  const share = dp.noise === 'aggregate' && sa ? 1 / Math.sqrt(sa.threshold) : 1;
  return { clipNorm: C, noiseStddev: z * C * share, countNoiseStddev: ac ? ac.countNoiseStddev * share : 0 };
}

/** What secure aggregation rules out, checked against the rest of the training settings. */
export function checkSecureAggregationFits(privacy: PrivacySettings, training: { aggregation: { strategy: string }; crossSiteEvaluation: boolean }): void {
  if (!privacy.secureAggregation) return;
  if (training.aggregation.strategy !== 'fedavg') {
    throw new PrivacySettingsError(`privacy.secureAggregation: the coordinator sees only the sum of the updates, so it can aggregate with fedavg only (not ${training.aggregation.strategy}: robust statistics need every update)`);
  }
  if (training.crossSiteEvaluation) throw new PrivacySettingsError('privacy.secureAggregation: crossSiteEvaluation needs each site\'s own update, which the coordinator never sees: set it to false');
}

/**
 * How a secure round's updates are weighted and quantised (the task tells the sites; the
 * coordinator decodes the sum with the same numbers). Each site sends weight · clipped delta
 * (+ noise), weight = min(samples, cap), or 1 under differential privacy (sensitivity C per site);
 * the range covers the clip bound and 8 standard deviations of the noise.
 */
export function secureQuantisation(privacy: PrivacySettings, sharers: number, clipNorm?: number): { range: number; sites: number; sampleWeightCap: number } {
  const sa = privacy.secureAggregation;
  const site = siteDifferentialPrivacy(privacy, clipNorm);
  if (!sa || !site) throw new PrivacySettingsError('secure quantisation asked for a round without secure aggregation');
  const sampleWeightCap = privacy.differentialPrivacy ? 0 : sa.sampleWeightCap;
  return { range: site.clipNorm * Math.max(1, sampleWeightCap) + 8 * site.noiseStddev, sites: Math.max(1, sharers), sampleWeightCap };
}

/** A site's FedAvg weight under secure aggregation (see secureQuantisation). */
export const secureWeight = (samples: number, sampleWeightCap: number): number => (sampleWeightCap > 0 ? Math.min(samples, sampleWeightCap) : 1);

/**
 * The norm limits of an update under differential privacy (null: no DP, the configured ones apply).
 * The largest delta norm an honest noisy update can have is the clip bound plus the norm of d
 * Gaussian coordinates of the site's standard deviation s (√d·s on average, with a spread under s;
 * 8s more is beyond any honest draw); a securely aggregated mean of m such updates has less noise
 * (s/√m), so the same bound holds for it. It replaces maxUpdateNorm, so a site that did not clip is
 * caught, and the limit relative to the model's norm is lifted: honest noise can exceed it by far.
 */
export function dpNormLimits(privacy: PrivacySettings | undefined, parameters: number, clipNorm?: number): { maxDeltaNorm: number; maxRelativeDeltaNorm: null } | null {
  const site = privacy?.differentialPrivacy ? siteDifferentialPrivacy(privacy, clipNorm) : undefined;
  return site ? { maxDeltaNorm: site.clipNorm + site.noiseStddev * (Math.sqrt(parameters) + 8), maxRelativeDeltaNorm: null } : null;
}
