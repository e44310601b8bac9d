/**
 * Splits and partitions (pure functions):
 * - the official DSAD split by surgery;
 * - a seeded, disjoint partition of surgeries over K sites;
 * - incremental schedules ("6-5", "6-1", "11-0" or explicit class groups);
 * - a plan giving every step patients not used in earlier steps;
 * - the label map of a step: only that step's classes, the rest background.
 */
import { IGNORE_LABEL, type RosterEntry } from '@fedciss/ml';
import { DSAD_SPLIT } from '@fedciss/ml/dsad';
import { mulberry32, shuffleInPlace } from '../synthetic/prng';
import { normaliseName } from './roster';
import { BACKGROUND, type SampleRef } from './types';

export type SplitName = 'train' | 'validation' | 'test';

/** Samples of one official split (by surgery id). */
export function officialSplit<T extends { surgery: string }>(samples: readonly T[], split: SplitName): T[] {
  const set = new Set<string>(DSAD_SPLIT[split]);
  return samples.filter((s) => set.has(s.surgery));
}

/** Distinct surgery ids of a list of samples, sorted. */
export function surgeriesOf(samples: readonly { surgery: string }[]): string[] {
  return [...new Set(samples.map((s) => s.surgery))].sort();
}

/**
 * Seeded partition of surgeries over `sites` sites: disjoint, every surgery used once, sizes differ
 * by at most one (or follow `weights`, relative shares per site). Throws when a site would be empty.
 */
export function partitionSurgeries(surgeries: readonly string[], sites: number, seed: number, weights?: readonly number[]): string[][] {
  const unique = [...new Set(surgeries)].sort();
  if (!Number.isInteger(sites) || sites < 1) throw new Error(`sites must be a positive integer, got ${sites}`);
  if (unique.length < sites) throw new Error(`cannot give ${sites} sites a surgery each: only ${unique.length} surgeries`);
  if (weights && (weights.length !== sites || weights.some((w) => !(w > 0)))) throw new Error(`weights must be ${sites} positive numbers`);
  const shuffled = shuffleInPlace(unique, mulberry32(seed));
  const counts = allocate(unique.length, weights ?? new Array<number>(sites).fill(1), 1);
  const out: string[][] = [];
  let at = 0;
  for (const c of counts) {
    out.push(shuffled.slice(at, at + c).sort());
    at += c;
  }
  return out;
}

/** Splits `total` items into shares proportional to `weights`, each at least `min` (largest remainder). */
function allocate(total: number, weights: readonly number[], min: number): number[] {
  const k = weights.length;
  if (total < min * k) throw new Error(`cannot allocate ${total} items to ${k} parts with at least ${min} each`);
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (total * w) / sum);
  const counts = exact.map((e) => Math.floor(e));
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => ({ i, r: e - Math.floor(e) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const o of order) {
    if (left <= 0) break;
    counts[o.i]!++;
    left--;
  }
  // Lift parts below the minimum by taking from the largest.
  for (let i = 0; i < k; i++) {
    while (counts[i]! < min) {
      let big = 0;
      for (let j = 1; j < k; j++) if (counts[j]! > counts[big]!) big = j;
      counts[big]!--;
      counts[i]!++;
    }
  }
  return counts;
}

/**
 * Class groups of an incremental schedule, as roster ids in roster order.
 * - "A-B": A classes at step 0, then steps of B classes until the roster is used up ("6-5", "6-1");
 *   "N-0" is one step with the first N classes ("11-0" = joint training on all 11).
 * - explicit groups: an array of arrays of class names, or a string "liver,colon;spleen".
 * Classes are taken in roster id order (0 = background is never part of a group).
 */
export function parseSchedule(spec: string | readonly (readonly string[])[], roster: readonly RosterEntry[]): number[][] {
  const ordered = [...roster].sort((a, b) => a.id - b.id);
  const m = typeof spec === 'string' ? /^\s*(\d+)-(\d+)\s*$/.exec(spec) : null;
  if (m) {
    const first = Number(m[1]);
    const inc = Number(m[2]);
    if (first < 1 || first > ordered.length) throw new Error(`schedule '${spec}': first step needs 1..${ordered.length} classes`);
    if (inc === 0) {
      if (first !== ordered.length) throw new Error(`schedule '${spec}': N-0 must cover the roster (${ordered.length} classes)`);
      return [ordered.map((e) => e.id)];
    }
    if ((ordered.length - first) % inc !== 0) throw new Error(`schedule '${spec}': ${ordered.length - first} remaining classes are not a multiple of ${inc}`);
    const groups = [ordered.slice(0, first).map((e) => e.id)];
    for (let at = first; at < ordered.length; at += inc) groups.push(ordered.slice(at, at + inc).map((e) => e.id));
    return groups;
  }
  const groupsByName =
    typeof spec === 'string'
      ? spec.split(';').map((g) => g.split(',').map((n) => n.trim()).filter((n) => n !== ''))
      : spec.map((g) => [...g]);
  const byName = new Map(roster.map((e) => [normaliseName(e.name), e.id]));
  const seen = new Set<number>();
  const groups = groupsByName.map((g, t) => {
    if (g.length === 0) throw new Error(`schedule: step ${t} has no class`);
    return g.map((name) => {
      const id = byName.get(normaliseName(name));
      if (id === undefined) throw new Error(`schedule: class '${name}' (step ${t}) is not in the roster`);
      if (seen.has(id)) throw new Error(`schedule: class '${name}' appears in two steps`);
      seen.add(id);
      return id;
    });
  });
  if (groups.length === 0) throw new Error('schedule: no step');
  return groups;
}

/**
 * Seeded, disjoint assignment of surgeries to the steps of a schedule (step t uses patients not used
 * in earlier steps). `weights` (default: equal) are relative shares per step; every step gets at
 * least one surgery, so there must be at least as many surgeries as steps.
 */
export function assignSurgeriesToSteps(surgeries: readonly string[], steps: number, seed: number, weights?: readonly number[]): string[][] {
  return partitionSurgeries(surgeries, steps, seed ^ 0x5eed5, weights);
}

export interface StepPlan {
  step: number;
  /** Roster ids learnt at this step. */
  classes: number[];
  /** Per site, the surgeries whose images this step uses (disjoint from every other step and site). */
  sites: string[][];
}

/**
 * Federated incremental plan: training surgeries are split over the sites (seeded, disjoint), then
 * each site's surgeries over the steps, so step t at every site uses only new patients. A site with
 * fewer surgeries than steps gets none in some steps (it does not take part in them).
 */
export function planIncremental(options: { surgeries: readonly string[]; sites: number; schedule: number[][]; seed: number }): StepPlan[] {
  const perSite = partitionSurgeries(options.surgeries, options.sites, options.seed);
  const steps = options.schedule.length;
  const plan: StepPlan[] = options.schedule.map((classes, step) => ({ step, classes: [...classes], sites: perSite.map(() => []) }));
  perSite.forEach((list, site) => {
    const rng = mulberry32((options.seed * 7919 + site * 104729) >>> 0);
    const shuffled = shuffleInPlace([...list], rng);
    // Round-robin from a seeded starting step so short sites do not all fill step 0 only.
    const offset = Math.floor(rng() * steps);
    shuffled.forEach((s, i) => plan[(i + offset) % steps]!.sites[site]!.push(s));
  });
  for (const p of plan) p.sites = p.sites.map((l) => l.sort());
  return plan;
}

/**
 * Samples a step trains on: those of the given surgeries that annotate at least one class of the
 * step (a liver-only image is useless to a colon step).
 */
export function stepSamples(samples: readonly SampleRef[], surgeries: readonly string[], classes: readonly number[]): SampleRef[] {
  const s = new Set(surgeries);
  return samples.filter((x) => s.has(x.surgery) && x.annotated.some((c) => classes.includes(c)));
}

/**
 * Label map of step t: classes of the step keep their id, every other class becomes background;
 * unknown pixels (IGNORE_LABEL) become background too (`unknown: 'background'`, the clinical
 * setting of the method) or stay ignored (`unknown: 'ignore'`).
 */
export function stepLabels(label: Uint8Array, classes: readonly number[], unknown: 'background' | 'ignore' = 'background'): Uint8Array {
  const keep = new Uint8Array(256);
  for (const c of classes) keep[c] = 1;
  const out = new Uint8Array(label.length);
  for (let i = 0; i < label.length; i++) {
    const v = label[i]!;
    out[i] = keep[v] ? v : v === IGNORE_LABEL && unknown === 'ignore' ? IGNORE_LABEL : BACKGROUND;
  }
  return out;
}
