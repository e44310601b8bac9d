/**
 * The memorisation gate: a generator whose samples come too close to this site's own images must
 * not leave the site (a memorised patient image would leave as "synthetic"). The distance test is
 * ml's privacy check (diffusion/checks.ts); this file only turns its report into a decision and the
 * numbers the coordinator is told.
 */
import type { PrivacyReport } from '@fedciss/ml';

export type GateVerdict =
  | { readonly pass: true; readonly metrics: Record<string, number> }
  | { readonly pass: false; readonly reason: string; readonly metrics: Record<string, number> };

/** Retrains before giving up: a fresh run from the global model may not memorise. */
export const MEMORISATION_RETRAINS = 1;

export function memorisationGate(privacy: PrivacyReport): GateVerdict {
  const metrics = {
    privacyMinDistance: privacy.minDistance,
    privacyThreshold: privacy.threshold,
    privacyFlagged: privacy.flagged.length,
    privacySamples: privacy.nearestDistance.length,
  };
  if (!privacy.flagged.length) return { pass: true, metrics };
  const worst = privacy.flagged.reduce((a, b) => (b.distance < a.distance ? b : a));
  return {
    pass: false,
    metrics,
    reason:
      `memorisation gate: ${privacy.flagged.length} of ${privacy.nearestDistance.length} generated samples lie within the threshold ` +
      `${privacy.threshold.toFixed(4)} (RMS) of this site's training images (closest ${worst.distance.toFixed(4)}); the generator's weights were not sent`,
  };
}
