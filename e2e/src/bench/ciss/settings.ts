/**
 * The class-incremental schedule of a benchmark run, from the field's "X-Y" notation (X classes of
 * the DSAD order first, then Y per step: 6-5, 6-1, 11-0) or an explicit list of steps
 * ("liver,stomach;ureter": steps separated by ';', classes by ','). Pure functions.
 */
import { DSAD_STRUCTURES } from '@fedciss/ml/dsad';
import { BenchUserError } from '@fedciss/ml/bench';

export interface Schedule {
  /** The setting as written on the command line (the name the tables carry). */
  name: string;
  /** Class names added at each step, in order. */
  steps: string[][];
}

/** Parses a setting against the class order `order` (default: DSAD's 11 structures). */
export function parseSetting(spec: string, order: readonly string[] = DSAD_STRUCTURES): Schedule {
  const s = spec.trim();
  const xy = /^(\d+)-(\d+)$/.exec(s);
  if (xy) {
    const x = Number(xy[1]);
    const y = Number(xy[2]);
    if (x < 1 || x > order.length) throw new BenchUserError(`setting ${s}: the first step must have 1..${order.length} classes (got ${x})`);
    if (y === 0 && x !== order.length) {
      // "X-0": only the first step (a one-step run of X classes).
      return { name: s, steps: [order.slice(0, x)] };
    }
    const steps: string[][] = [order.slice(0, x)];
    for (let i = x; i < order.length && y > 0; i += y) steps.push(order.slice(i, i + y));
    return { name: s, steps };
  }
  const steps = s.split(';').map((part) => part.split(',').map((c) => c.trim()).filter(Boolean));
  if (!steps.length || steps.some((st) => !st.length)) throw new BenchUserError(`setting '${spec}': every step needs at least one class (write e.g. 6-5 or liver,stomach;ureter)`);
  const seen = new Set<string>();
  for (const c of steps.flat()) {
    if (!order.includes(c)) throw new BenchUserError(`setting '${spec}': unknown class '${c}' (known: ${order.join(', ')})`);
    if (seen.has(c)) throw new BenchUserError(`setting '${spec}': class '${c}' appears twice`);
    seen.add(c);
  }
  return { name: s, steps };
}

/** Classes of the first step (with background: the field's "old" group) and of the later steps ("new"). */
export function classGroups(schedule: Schedule): { old: string[]; new: string[] } {
  return { old: ['background', ...schedule.steps[0]], new: schedule.steps.slice(1).flat() };
}

/**
 * How a step's training images relate to the earlier steps' structures. 'overlapped' (the field's
 * usual setting, and DSAD's): any structure may appear, the old ones unlabelled. 'disjoint': a step's
 * training surgeries never show an earlier step's structures, so nothing but replay reminds the
 * model of them (test surgeries show everything either way).
 */
export const SCENES = ['overlapped', 'disjoint'] as const;
export type Scenes = (typeof SCENES)[number];

/** Per step, the structures its training surgeries show unannotated when each patient is labelled for
 * its own step's classes only (what the incremental methods learn from): every other step's. */
export function othersByStep(schedule: Schedule): string[][] {
  return schedule.steps.map((_, t) => schedule.steps.filter((__, u) => u !== t).flat());
}

/** Per step, the structures its training surgeries never show. */
export function absentByStep(schedule: Schedule, scenes: Scenes): string[][] {
  return schedule.steps.map((_, t) => (scenes === 'disjoint' ? schedule.steps.slice(0, t).flat() : []));
}
