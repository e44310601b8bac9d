/**
 * Two bench:ciss results compared method by method, paired by seed: how a change to a recipe moved
 * it. Each seed has its own data and step-0 model, so a difference is measured seed by seed (run −
 * reference) and given as the mean ± sd of those differences; only a mean larger than its sd is
 * beyond the seeds' spread. Pure functions; the command is compare-main.ts.
 */
import { BenchUserError } from '@fedciss/ml/bench';
import { mean, pairedDifference, type BenchResult, type MethodSummary } from './table';

/** A figure's difference run − reference over the shared seeds. */
export interface FigureDelta {
  reference: number | null;
  run: number | null;
  /** Null below two shared seeds measured on both sides. */
  delta: { mean: number; sd: number } | null;
  beyondSpread: boolean | null;
}

export interface MethodComparison {
  reference: string;
  run: string;
  seeds: number[];
  old: FigureDelta;
  new: FigureDelta;
  all: FigureDelta;
  /** Per class (by name): the means over the shared seeds and the mean of the per-seed differences. */
  perClass: Record<string, { reference: number | null; run: number | null; delta: number | null }>;
}

export interface Comparison {
  setting: string;
  scenes: string;
  profile: string;
  /** Seeds where the two runs' shared step-0 models scored differently: not one starting model. */
  step0Differs: Array<{ seed: number; reference: number; run: number }>;
  methods: MethodComparison[];
}

/** Which method of the reference is compared with which of the run. */
export interface MethodPair {
  reference: string;
  run: string;
}

/** Step-0 scores that agree to this (percent) are one model: reruns of bench:ciss agree to 0.05. */
const SAME_STEP0 = 0.1;

function methodOf(result: BenchResult, id: string, side: string): MethodSummary {
  const m = result.methods[id];
  if (!m) throw new BenchUserError(`the ${side} has no method "${id}"; it has: ${Object.keys(result.methods).join(', ') || 'none'}`);
  return m;
}

function sharedSeeds(a: MethodSummary, b: MethodSummary): number[] {
  const theirs = new Set(b.perSeed.filter((r) => !r.error).map((r) => r.seed));
  return a.perSeed.filter((r) => !r.error && theirs.has(r.seed)).map((r) => r.seed).sort((x, y) => x - y);
}

/** A method's runs of `seeds`, in their order (the means a paired comparison is about). */
function onSeeds(m: MethodSummary, seeds: readonly number[]): MethodSummary['perSeed'] {
  return seeds.map((s) => m.perSeed.find((r) => r.seed === s)!);
}

function figure(ref: MethodSummary, run: MethodSummary, seeds: readonly number[], key: 'old' | 'new' | 'all'): FigureDelta {
  const delta = pairedDifference(run, ref, key);
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    reference: mean(onSeeds(ref, seeds).map((r) => r[key])),
    run: mean(onSeeds(run, seeds).map((r) => r[key])),
    delta: delta && { mean: round(delta.mean), sd: round(delta.sd) },
    beyondSpread: delta && Math.abs(delta.mean) > delta.sd,
  };
}

function perClass(ref: MethodSummary, run: MethodSummary, seeds: readonly number[]): MethodComparison['perClass'] {
  const a = onSeeds(run, seeds);
  const b = onSeeds(ref, seeds);
  const names = [...new Set([...b, ...a].flatMap((r) => Object.keys(r.perClass)))];
  return Object.fromEntries(
    names.map((n) => {
      const diffs = seeds.map((_, i) => {
        const x = a[i].perClass[n];
        const y = b[i].perClass[n];
        return typeof x === 'number' && typeof y === 'number' ? x - y : null;
      });
      return [n, { reference: mean(b.map((r) => r.perClass[n])), run: mean(a.map((r) => r.perClass[n])), delta: mean(diffs) }];
    }),
  );
}

/** The seeds on which the two runs' step-0 models differ (neither reports step 0: none). */
function step0Differences(ref: BenchResult, run: BenchResult): Comparison['step0Differs'] {
  if (!ref.step0 || !run.step0) return [];
  const theirs = new Map(run.step0.perSeed.map((r) => [r.seed, r.all]));
  return ref.step0.perSeed.flatMap((r) => {
    const other = theirs.get(r.seed);
    return typeof r.all === 'number' && typeof other === 'number' && Math.abs(r.all - other) > SAME_STEP0 ? [{ seed: r.seed, reference: r.all, run: other }] : [];
  });
}

/** Compares `run` with `reference`, method pair by method pair. Runs of another setting, scene
 * kind or profile measure something else, and are refused. */
export function compareResults(reference: BenchResult, run: BenchResult, pairs: readonly MethodPair[]): Comparison {
  for (const key of ['setting', 'scenes', 'profile'] as const) {
    if (reference[key] !== run[key]) throw new BenchUserError(`the runs differ in ${key}: the reference's is "${reference[key]}", the run's "${run[key]}"`);
  }
  if (!pairs.length) throw new BenchUserError('no method to compare: the two results share none');
  return {
    setting: reference.setting,
    scenes: reference.scenes,
    profile: reference.profile,
    step0Differs: step0Differences(reference, run),
    methods: pairs.map((p) => {
      const ref = methodOf(reference, p.reference, 'reference');
      const r = methodOf(run, p.run, 'run');
      const seeds = sharedSeeds(ref, r);
      if (seeds.length < 2) {
        throw new BenchUserError(`${p.reference} and ${p.run} share ${seeds.length ? `only seed ${seeds[0]}` : 'no seed'} measured on both sides; a paired comparison needs two or more`);
      }
      return { reference: p.reference, run: p.run, seeds, old: figure(ref, r, seeds, 'old'), new: figure(ref, r, seeds, 'new'), all: figure(ref, r, seeds, 'all'), perClass: perClass(ref, r, seeds) };
    }),
  };
}

/** The method pairs of `REF[:method] RUN[:method]`: a method named on one side only is looked for
 * on both; none named, every method both results hold. */
export function methodPairs(reference: BenchResult, run: BenchResult, referenceMethod?: string, runMethod?: string): MethodPair[] {
  if (referenceMethod || runMethod) return [{ reference: (referenceMethod ?? runMethod)!, run: (runMethod ?? referenceMethod)! }];
  return Object.keys(reference.methods).filter((id) => id in run.methods).map((id) => ({ reference: id, run: id }));
}

const num = (v: number | null, digits = 1) => (v === null ? '—' : v.toFixed(digits));
const plus = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
const signed = (d: FigureDelta['delta']) => (d ? `${plus(d.mean)} ± ${d.sd.toFixed(1)}` : '—');
const marked = (f: FigureDelta) => (f.beyondSpread ? `**${signed(f.delta)}**` : signed(f.delta));

/** The comparison as Markdown: one row a method pair, then each pair's per-class table. */
export function comparisonMarkdown(c: Comparison, names: { reference: string; run: string }): string {
  const lines = [
    `bench:ciss ${c.setting}, ${c.scenes} scenes, ${c.profile} profile: ${names.run} against ${names.reference}, paired by seed`,
    '(Δ = run − reference, mean ± sd of the per-seed differences; bold: beyond the seeds\' spread)',
    '',
    '| reference | run | seeds | old | new | all | Δold | Δnew | Δall |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...c.methods.map((m) => {
      const f = (x: FigureDelta) => `${num(x.reference)} -> ${num(x.run)}`;
      return `| ${m.reference} | ${m.run} | ${m.seeds.join(', ')} | ${f(m.old)} | ${f(m.new)} | ${f(m.all)} | ${marked(m.old)} | ${marked(m.new)} | ${marked(m.all)} |`;
    }),
  ];
  for (const d of c.step0Differs) {
    lines.push('', `Seed ${d.seed}: the step-0 models differ (all-class mIoU ${num(d.reference, 2)} in the reference, ${num(d.run, 2)} in the run), so its differences include the starting model's.`);
  }
  for (const m of c.methods) {
    lines.push('', `${m.reference} -> ${m.run}, per class (IoU, mean over seeds ${m.seeds.join(', ')}):`, '', '| class | reference | run | Δ |', '| --- | ---: | ---: | ---: |');
    for (const [name, v] of Object.entries(m.perClass)) lines.push(`| ${name} | ${num(v.reference)} | ${num(v.run)} | ${v.delta === null ? '—' : plus(v.delta)} |`);
  }
  return lines.join('\n');
}
