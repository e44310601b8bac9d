/**
 * Adaptive clipping: the clip bound C follows a target quantile γ of the sites' update norms.
 * Written from Andrew, Thakkar, McMahan, Ramaswamy, "Differentially Private Learning with Adaptive
 * Clipping", NeurIPS 2021 (arXiv:1905.03871), Algorithm 1 and Theorem 1. Pure maths.
 *
 * - Each site reports b = 1 if its update's norm is <= C (0 otherwise), privatised: the sum of the
 *   bits carries Gaussian noise N(0, σ_b²).
 * - The server takes the noisy fraction b̃ = (Σ b + noise) / m (m: sites in the sum) and moves C
 *   geometrically: C ← C · exp(−η_C (b̃ − γ)). Too many updates within C (b̃ > γ): C shrinks; too
 *   few: C grows. The fixed point is where a fraction γ of the norms is at most C.
 * - Privacy: for the accounting, the bits are seen as b − ½ (sensitivity ½, the same sum up to a
 *   known constant). Releasing the clipped updates with noise multiplier z_Δ together with the bits'
 *   sum with noise σ_b is one Gaussian mechanism of multiplier z with z⁻² = z_Δ⁻² + (2σ_b)⁻²
 *   (each part's sensitivity over its noise, squared, adds). So, for a configured total z, the
 *   updates get z_Δ = (z⁻² − (2σ_b)⁻²)^(−½) and the accountant charges z, unchanged. Needs 2σ_b > z.
 */

export interface AdaptiveClippingSettings {
  /** γ: the fraction of sites whose update should be within the clip bound. */
  readonly targetQuantile: number;
  /** η_C: step of the geometric update of C (the paper uses 0.2). */
  readonly learningRate: number;
  /**
   * σ_b: standard deviation of the noise on the count of sites within the bound. Must exceed half
   * the noise multiplier; the larger, the less noise the updates lose to it, the noisier C's path.
   */
  readonly countNoiseStddev: number;
}

export const DEFAULT_ADAPTIVE_CLIPPING: AdaptiveClippingSettings = { targetQuantile: 0.5, learningRate: 0.2, countNoiseStddev: 1 };

/** z_Δ, the noise multiplier left for the updates when the bits take their share of the total z. */
export function updateNoiseMultiplier(totalNoiseMultiplier: number, countNoiseStddev: number): number {
  const z = totalNoiseMultiplier;
  const rest = z ** -2 - (2 * countNoiseStddev) ** -2;
  if (!(rest > 0)) throw new RangeError(`the count noise σ_b ${countNoiseStddev} must exceed half the noise multiplier (${z / 2}): the bits alone would spend the whole budget`);
  return 1 / Math.sqrt(rest);
}

/** b̃: the noisy fraction of sites whose update was within the bound. */
export function noisyUnclippedFraction(noisyCount: number, sites: number): number {
  if (!(sites > 0)) throw new RangeError(`the fraction needs at least one site (got ${sites})`);
  return noisyCount / sites;
}

/** The next round's clip bound: C · exp(−η_C (b̃ − γ)). */
export function nextClipNorm(clipNorm: number, unclippedFraction: number, s: Pick<AdaptiveClippingSettings, 'targetQuantile' | 'learningRate'>): number {
  if (!(clipNorm > 0)) throw new RangeError(`clip norm ${clipNorm} must be positive`);
  return clipNorm * Math.exp(-s.learningRate * (unclippedFraction - s.targetQuantile));
}
