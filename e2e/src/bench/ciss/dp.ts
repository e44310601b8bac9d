/**
 * The learning cost of differential privacy (issue 23): `--dp-epsilon 8,1` adds, next to "ours",
 * one run of "ours" per target ε with site-level DP of the updates (each site clips its round delta
 * to `--dp-clip` and adds Gaussian noise). The noise multiplier is calibrated with the coordinator's
 * own accountant (privacy/rdp.ts) so that each site's ε over this run's training rounds, at δ, is the
 * target; the run's budget is that ε, so the coordinator would refuse a round beyond it. Step 0 is
 * the shared, imported non-private model: the ε covers the rounds of this run (steps 1..), not it.
 */
import { noiseMultiplierFor } from '@fedciss/coordinator';
import { BenchUserError } from '@fedciss/ml/bench';
import { methodById, type MethodSpec, type Profile } from './methods';
import type { Schedule } from './settings';

export const DP_DELTA = 1e-5;

/** Every live site is invited to every round (privacy-ledger.service.ts PARTICIPATION_RATE). */
const PARTICIPATION = 1;

/**
 * Training releases per site in a run of "ours" from the imported step 0: segmenter rounds at every
 * later step; generator rounds at every later step but the last (run.ts skips those nobody uses).
 * One noise multiplier serves both models, so it is sized for the larger count.
 */
export function releasesPerSite(profile: Profile, schedule: Schedule): number {
  const later = schedule.steps.length - 1;
  return Math.max(profile.segmenterRounds * later, profile.generatorRounds * Math.max(0, later - 1));
}

/** "ours" with DP at each target ε (the ids read `ours-dp-eps8`). */
export function dpMethods(epsilons: readonly number[], clipNorm: number, profile: Profile, schedule: Schedule): MethodSpec[] {
  const ours = methodById('ours');
  const releases = releasesPerSite(profile, schedule);
  if (releases < 1) throw new BenchUserError('--dp-epsilon needs a setting with at least one step after step 0');
  return epsilons.map((epsilon) => {
    const noiseMultiplier = noiseMultiplierFor(epsilon, releases, PARTICIPATION, DP_DELTA);
    return {
      ...ours,
      id: `ours-dp-eps${epsilon}`,
      label: `Ours, DP ε ${epsilon}`,
      recipe: `ours with site-level DP: clip ${clipNorm}, σ ${noiseMultiplier.toFixed(4)} (ε ${epsilon} at δ ${DP_DELTA} over ${releases} rounds per site)`,
      training: {
        privacy: { differentialPrivacy: { clipNorm, noiseMultiplier, noise: 'site', delta: DP_DELTA, budget: { segmenter: epsilon * 1.0001, generator: epsilon * 1.0001 } } },
      },
    };
  });
}

/** Parses `--dp-epsilon 8,1`. */
export function parseEpsilons(v: string): number[] {
  const list = v.split(',').map((x) => Number(x.trim()));
  if (!list.length || list.some((e) => !(e > 0) || !Number.isFinite(e))) throw new BenchUserError(`--dp-epsilon needs positive numbers, comma-separated (got '${v}')`);
  return list;
}
