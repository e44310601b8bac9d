/** Noise schedules and the DDIM update, in plain JavaScript (float64 schedule, float32 images).
 *
 * Forward process: x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps, with abar_t = prod_{s<=t} (1 - beta_s)
 * and t in 0..T-1 (0-based, like the usual implementations). */

export type ScheduleKind = 'linear' | 'cosine';

export interface ScheduleConfig {
  readonly kind: ScheduleKind;
  /** Number of diffusion steps T (default 1000). */
  readonly timesteps?: number;
  /** Linear schedule: first and last beta (defaults 1e-4 and 0.02, DDPM's values for T = 1000). */
  readonly betaStart?: number;
  readonly betaEnd?: number;
  /** Cosine schedule: the small offset s of Nichol & Dhariwal (default 0.008). */
  readonly cosineOffset?: number;
}

export interface NoiseSchedule {
  readonly kind: ScheduleKind;
  readonly timesteps: number;
  readonly betas: Float64Array;
  /** abar_t = prod_{s<=t} (1 - beta_s). */
  readonly alphasCumprod: Float64Array;
}

/** Linear betas (DDPM) or the cosine schedule of "Improved DDPM" (betas clipped at 0.999). */
export function noiseSchedule(config: ScheduleConfig): NoiseSchedule {
  const T = config.timesteps ?? 1000;
  if (!Number.isInteger(T) || T < 1) throw new Error(`noise schedule: timesteps must be a positive integer, got ${T}`);
  const betas = new Float64Array(T);
  if (config.kind === 'linear') {
    const b0 = config.betaStart ?? 1e-4;
    const b1 = config.betaEnd ?? 0.02;
    if (!(b0 > 0 && b1 < 1 && b0 <= b1)) throw new Error(`linear schedule: need 0 < betaStart <= betaEnd < 1, got ${b0}, ${b1}`);
    for (let t = 0; t < T; t++) betas[t] = T === 1 ? b0 : b0 + ((b1 - b0) * t) / (T - 1);
  } else if (config.kind === 'cosine') {
    const s = config.cosineOffset ?? 0.008;
    const f = (t: number) => Math.cos((((t / T) + s) / (1 + s)) * (Math.PI / 2)) ** 2;
    for (let t = 0; t < T; t++) betas[t] = Math.min(1 - f(t + 1) / f(t), 0.999);
  } else {
    throw new Error(`unknown noise schedule '${(config as { kind: string }).kind}'`);
  }
  const alphasCumprod = new Float64Array(T);
  let prod = 1;
  for (let t = 0; t < T; t++) alphasCumprod[t] = prod *= 1 - betas[t];
  return { kind: config.kind, timesteps: T, betas, alphasCumprod };
}

/** x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, elementwise, written into `out` (default a new array). */
export function addNoise(x0: Float32Array, eps: Float32Array, alphaBar: number, out = new Float32Array(x0.length)): Float32Array {
  const a = Math.sqrt(alphaBar);
  const b = Math.sqrt(1 - alphaBar);
  for (let i = 0; i < x0.length; i++) out[i] = a * x0[i] + b * eps[i];
  return out;
}

/** How DDIM picks its timesteps: 'leading' (DDIM's own) starts below T - 1, where the images
 * still hold some signal although sampling starts from pure noise; 'trailing' starts at T - 1
 * (Lin et al. 2024, "Common diffusion noise schedules and sample steps are flawed"). */
export type DdimSpacing = 'leading' | 'trailing';

/** The DDIM timesteps, from the noisiest down. 'leading': floor(i T / steps), i = steps-1..0
 * (T = 1000, steps = 4 gives 750, 500, 250, 0); 'trailing': round(T - i T / steps) - 1,
 * i = 0..steps-1 (999, 749, 499, 249). The step after the last goes to abar = 1 (the clean image). */
export function ddimTimesteps(timesteps: number, steps: number, spacing: DdimSpacing = 'leading'): number[] {
  if (!Number.isInteger(steps) || steps < 1 || steps > timesteps) {
    throw new Error(`DDIM: steps must be an integer in 1..${timesteps}, got ${steps}`);
  }
  const out: number[] = [];
  if (spacing === 'trailing') for (let i = 0; i < steps; i++) out.push(Math.round(timesteps - (i * timesteps) / steps) - 1);
  else if (spacing === 'leading') for (let i = steps - 1; i >= 0; i--) out.push(Math.floor((i * timesteps) / steps));
  else throw new Error(`DDIM: spacing must be 'leading' or 'trailing', got '${String(spacing)}'`);
  return out;
}

/** sigma_t of DDIM: eta * sqrt((1 - abar_prev) / (1 - abar_t)) * sqrt(1 - abar_t / abar_prev).
 * eta = 0 is the deterministic DDIM sampler, eta = 1 matches DDPM's posterior variance. */
export function ddimSigma(alphaBar: number, alphaBarPrev: number, eta: number): number {
  if (eta === 0) return 0;
  return eta * Math.sqrt(((1 - alphaBarPrev) / (1 - alphaBar)) * (1 - alphaBar / alphaBarPrev));
}

export interface DdimStepOptions {
  readonly eta?: number;
  /** Clip the predicted x0 to [-clip, clip] (and re-derive eps from it); default 1, 0 = off. */
  readonly clip?: number;
  /** Standard normal noise, needed when sigma > 0. */
  readonly noise?: Float32Array;
}

/** One DDIM update from x_t to x_prev given the predicted noise (Song et al. 2021, eq. 12):
 *   x0     = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)            (clipped, eps re-derived)
 *   x_prev = sqrt(abar_prev) x0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z
 * Writes into `out` (may be `x`) and returns it. */
export function ddimStep(
  x: Float32Array,
  eps: Float32Array,
  alphaBar: number,
  alphaBarPrev: number,
  options: DdimStepOptions = {},
  out: Float32Array = new Float32Array(x.length),
): Float32Array {
  const eta = options.eta ?? 0;
  const clip = options.clip ?? 1;
  const sigma = ddimSigma(alphaBar, alphaBarPrev, eta);
  if (sigma > 0 && (!options.noise || options.noise.length < x.length)) throw new Error('DDIM: eta > 0 needs a noise array as long as x');
  const sa = Math.sqrt(alphaBar);
  const s1a = Math.sqrt(1 - alphaBar);
  const sap = Math.sqrt(alphaBarPrev);
  const dirCoef = Math.sqrt(Math.max(1 - alphaBarPrev - sigma * sigma, 0));
  const z = options.noise;
  for (let i = 0; i < x.length; i++) {
    let e = eps[i];
    let x0 = (x[i] - s1a * e) / sa;
    if (clip > 0 && (x0 > clip || x0 < -clip)) {
      x0 = x0 > clip ? clip : -clip;
      e = (x[i] - sa * x0) / s1a;
    }
    out[i] = sap * x0 + dirCoef * e + (sigma > 0 ? sigma * (z as Float32Array)[i] : 0);
  }
  return out;
}
