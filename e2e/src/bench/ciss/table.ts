/**
 * Turns the coordinator's federated reports (GET /api/reports) of each method's run into the
 * field's table: per-class IoU after the last step and mIoU of old / new / all classes, in percent.
 * "Old" is background plus the first step's classes and "new" every class added later (as MiB and
 * PLOP report X-Y settings); "all" is every class including background. The same figures after
 * every segmenter round (roundFigures) where the run evaluated each round. Pure functions.
 */
import type { ReplayStepReport } from '@fedciss/coordinator';
import { classGroups, type Scenes, type Schedule } from './settings';

/** What the benchmark reads of a coordinator StepReport. */
export interface ReportLike {
  step: number;
  classes: Array<{ id: number; name: string; stepAdded: number }>;
  images: number;
  perClassIoU: Record<string, number | null>;
  mIoU: { old: number | null; new: number | null; all: number | null };
  perSite?: unknown[];
}

/** What the benchmark reads of GET /api/reports/replay: each step's generator and the sites' replay check. */
export type ReplayLike = Pick<ReplayStepReport, 'step' | 'fidelity' | 'noiseFidelity' | 'skippedSites' | 'realism' | 'generatorSteps' | 'generatorRoundsFailed' | 'generatorGivenUp'> & {
  fidelityBySite: ReadonlyArray<Pick<ReplayStepReport['fidelityBySite'][number], 'skipReason' | 'oldClassShare'>>;
};

/** A step's replay, as the sites measured it: fidelity of a student taught only by the step's replay
 * images (and of one taught by the untrained generator's noise), how many sites skipped replay and
 * why, how much of the old classes the step's own images show, and the generator's realism and
 * training steps in the step's generator rounds. */
export interface StepReplayFigures {
  fidelity: number | null;
  noiseFidelity: number | null;
  sitesSkipping: number;
  /** Of sitesSkipping, the sites whose step images already showed the old classes (the rest: fidelity). */
  sitesSkippingOldClassesShown: number;
  /** Share of the step images' pixels the teacher's pseudo-labels give to old classes, in percent, mean over the sites that measured it. */
  oldClassSharePercent: number | null;
  realism: number | null;
  generatorSteps: number;
  /** The step's generator rounds that failed (e.g. every site withheld its generator at the memorisation gate). */
  generatorRoundsFailed: number;
  /** The step went on without its planned generator rounds (they failed too often, or the privacy budget). */
  generatorGivenUp: boolean;
}

/** What the benchmark reads of GET /api/reports/steps/:step/rounds: one point per evaluated
 * segmenter round of the step (training setting evaluateEveryRound), in round order. */
export interface RoundSeriesLike {
  step: number;
  points: Array<{
    round: number;
    images: number;
    /** The coordinator's figures, fractions, old = classes before the step (as ReportLike.mIoU). */
    mIoU: { old: number | null; new: number | null; all: number | null };
    /** Class id → IoU. Not in the coordinator's answer today; with it the point gets the final figures' groups. */
    perClassIoU?: Record<string, number | null>;
  }>;
}

/** What the benchmark reads of GET /api/rounds?step=N (RoundDto). */
export interface RoundLike {
  step: number;
  kind: string;
  index: number;
  status: string;
  baseVersionId: string | null;
  resultVersionId: string | null;
  openedAt: string;
  closedAt: string | null;
}

/** The global model after one segmenter round, scored on every site's test patients, percent. */
export interface RoundFigures {
  step: number;
  round: number;
  images: number;
  /** 'final': old / new as in the final figures (background + step-0 classes / every later class),
   * from the point's per-class IoU; 'step': the coordinator's own (classes before the step / the
   * step's classes), where the point has no per-class IoU. The same at step 1 of a two-step setting. */
  groups: 'final' | 'step';
  old: number | null;
  new: number | null;
  all: number | null;
}

/** A round's figures over the seeds: means (percent) with their sample standard deviations. */
export interface RoundSummary extends Omit<RoundFigures, 'images'> {
  oldSd: number | null;
  newSd: number | null;
  allSd: number | null;
  /** Seeds with this round (failed runs left out). */
  seeds: number;
}

export interface StepFigures {
  step: number;
  classesAdded: string[];
  images: number;
  /** The coordinator's own figures for the step (old = classes before the step), percent. */
  old: number | null;
  new: number | null;
  all: number | null;
  perClass: Record<string, number | null>;
  /** Wall-clock seconds from opening the step to its completion. */
  seconds: number | null;
  /** Null where the step neither replayed nor trained the generator. */
  replay: StepReplayFigures | null;
}

export interface MethodResult {
  id: string;
  label: string;
  recipe: string;
  old: number | null;
  new: number | null;
  all: number | null;
  perClass: Record<string, number | null>;
  steps: StepFigures[];
  /** Old / new / all after every segmenter round of every step the run trained, in step and round order. */
  rounds: RoundFigures[];
  /** Wall-clock seconds of the per-round evaluation rounds (training waits for them), from the
   * coordinator's round timestamps; null where they could not be read. */
  roundEvaluationSeconds: number | null;
  seconds: number;
  error?: string;
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
}

/** A method's figures over the seeds: means (percent) with their sample standard deviations. */
export interface MethodSummary {
  id: string;
  label: string;
  recipe: string;
  old: number | null;
  new: number | null;
  all: number | null;
  oldSd: number | null;
  newSd: number | null;
  allSd: number | null;
  perClass: Record<string, number | null>;
  perClassSd: Record<string, number | null>;
  /** Each seed's own figures (and its per-step figures). */
  perSeed: Array<MethodResult & { seed: number }>;
  /** Per step and segmenter round, over the seeds. */
  rounds: RoundSummary[];
  /** Mean wall-clock seconds of one run, and of its per-round evaluations. */
  seconds: number;
  roundEvaluationSeconds: number | null;
  errors: string[];
}

export interface BenchResult {
  setting: string;
  /** Whether a step's training images showed the earlier steps' structures (settings.ts SCENES). */
  scenes: Scenes;
  schedule: string[][];
  profile: string;
  sites: number;
  seeds: number[];
  /** The shared step-0 model of each seed (its own report, before any incremental step). */
  step0: MethodSummary | null;
  methods: Record<string, MethodSummary>;
  machine: Machine;
  startedAt: string;
  seconds: number;
  gates: Gate[];
  options: Record<string, unknown>;
}

/** One gate of the issue: a measured margin, the seeds' spread it must exceed, and the verdict. */
export interface Gate {
  name: string;
  /** What is compared, in words. */
  rule: string;
  margin: number | null;
  /** The seeds' spread of the compared difference: the sd over seeds of the per-seed difference
   * (the methods of a seed share its data and step-0 model), or, where the two sides do not share
   * two seeds, the sum of their standard deviations (0 where one side is a constant). */
  spread: number | null;
  met: boolean | null;
}

export const pct = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(v * 10000) / 100);

/** The mean of the numbers among `values`, to the hundredth (null when there is none). */
export function mean(values: ReadonlyArray<number | null | undefined>): number | null {
  const v = values.filter((x): x is number => typeof x === 'number');
  return v.length ? Math.round((v.reduce((a, b) => a + b, 0) / v.length) * 100) / 100 : null;
}

/** Per-class IoU (percent) by class name, from one step's report. */
export function perClassByName(r: ReportLike): Record<string, number | null> {
  return Object.fromEntries(r.classes.map((c) => [c.name, pct(r.perClassIoU[String(c.id)])]));
}

/** The field's figures after the last step of `reports` (the step whose report has the most classes). */
export function finalFigures(reports: readonly ReportLike[], schedule: Schedule): Pick<MethodResult, 'old' | 'new' | 'all' | 'perClass'> {
  if (!reports.length) return { old: null, new: null, all: null, perClass: {} };
  const last = [...reports].sort((a, b) => a.step - b.step).at(-1)!;
  const perClass = perClassByName(last);
  const groups = classGroups(schedule);
  const wanted = [...groups.old, ...groups.new];
  const full: Record<string, number | null> = Object.fromEntries(wanted.map((n) => [n, perClass[n] ?? null]));
  return {
    old: mean(groups.old.map((n) => full[n])),
    new: groups.new.length ? mean(groups.new.map((n) => full[n])) : null,
    all: mean(wanted.map((n) => full[n])),
    perClass: full,
  };
}

export function stepFigures(reports: readonly ReportLike[], seconds: ReadonlyArray<number | null> = [], replay: readonly ReplayLike[] = []): StepFigures[] {
  const replayOf = (step: number): StepReplayFigures | null => {
    const x = replay.find((y) => y.step === step);
    if (!x || (x.fidelity === null && x.generatorSteps === 0 && x.generatorRoundsFailed === 0)) return null;
    return {
      fidelity: x.fidelity, noiseFidelity: x.noiseFidelity, sitesSkipping: x.skippedSites.length,
      sitesSkippingOldClassesShown: x.fidelityBySite.filter((f) => f.skipReason === 'old-classes-shown').length,
      oldClassSharePercent: mean(numbers(x.fidelityBySite.map((f) => f.oldClassShare)).map((v) => v * 100)),
      realism: x.realism, generatorSteps: x.generatorSteps,
      generatorRoundsFailed: x.generatorRoundsFailed, generatorGivenUp: x.generatorGivenUp !== null,
    };
  };
  return [...reports].sort((a, b) => a.step - b.step).map((r) => ({
    step: r.step,
    classesAdded: r.classes.filter((c) => c.stepAdded === r.step && c.id !== 0).map((c) => c.name),
    images: r.images,
    old: pct(r.mIoU.old),
    new: pct(r.mIoU.new),
    all: pct(r.mIoU.all),
    perClass: perClassByName(r),
    seconds: seconds[r.step] ?? null,
    replay: replayOf(r.step),
  }));
}

/**
 * Each step's per-round series as figures, in step and round order. A point with per-class IoU goes
 * through finalFigures (the final figures' groups, by class name; a class the point has no IoU for,
 * one added after its step, is left out of the means); one without keeps the coordinator's
 * step-relative figures. Class names come from the run's last report (the roster).
 */
export function roundFigures(series: readonly RoundSeriesLike[], reports: readonly ReportLike[], schedule: Schedule): RoundFigures[] {
  const classes = [...reports].sort((a, b) => a.step - b.step).at(-1)?.classes ?? [];
  return [...series].sort((a, b) => a.step - b.step).flatMap((s) => [...s.points].sort((a, b) => a.round - b.round).map((p): RoundFigures => {
    const at = { step: s.step, round: p.round, images: p.images };
    if (!p.perClassIoU) return { ...at, groups: 'step', old: pct(p.mIoU.old), new: pct(p.mIoU.new), all: pct(p.mIoU.all) };
    const f = finalFigures([{ step: s.step, classes, images: p.images, perClassIoU: p.perClassIoU, mIoU: p.mIoU }], schedule);
    return { ...at, groups: 'final', old: f.old, new: f.new, all: f.all };
  }));
}

/**
 * Seconds the per-round evaluations took (opened to closed), from a run's rounds: the evaluation
 * rounds whose model is the result of a segmenter round other than its step's last (that one is
 * the step's own evaluation, run with or without evaluateEveryRound).
 */
export function roundEvaluationSeconds(rounds: readonly RoundLike[]): number {
  let ms = 0;
  for (const step of new Set(rounds.map((r) => r.step))) {
    const trained = rounds.filter((r) => r.step === step && r.kind === 'segmenter' && r.status === 'completed' && r.resultVersionId).sort((a, b) => a.index - b.index);
    const scored = new Set(trained.slice(0, -1).map((r) => r.resultVersionId));
    for (const r of rounds) {
      if (r.step === step && r.kind === 'evaluate' && r.closedAt && scored.has(r.baseVersionId)) ms += Date.parse(r.closedAt) - Date.parse(r.openedAt);
    }
  }
  return Math.round(ms / 100) / 10;
}

function sd(values: readonly number[], digits = 2): number | null {
  if (values.length < 2) return values.length ? 0 : null;
  const m = values.reduce((a, b) => a + b, 0) / values.length;
  return Math.round(Math.sqrt(values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1)) * 10 ** digits) / 10 ** digits;
}

const numbers = (v: Array<number | null | undefined>): number[] => v.filter((x): x is number => typeof x === 'number');

/** Per step and round, the mean and sd over the runs that have the round (in the first run's groups). */
function summariseRounds(runs: readonly MethodResult[]): RoundSummary[] {
  const first = new Map<string, RoundFigures>();
  for (const f of runs.flatMap((r) => r.rounds)) if (!first.has(`${f.step}/${f.round}`)) first.set(`${f.step}/${f.round}`, f);
  return [...first.values()].sort((a, b) => a.step - b.step || a.round - b.round).map((k) => {
    const same = runs.flatMap((r) => r.rounds.filter((f) => f.step === k.step && f.round === k.round && f.groups === k.groups));
    const of = (key: 'old' | 'new' | 'all') => same.map((f) => f[key]);
    return {
      step: k.step, round: k.round, groups: k.groups,
      old: mean(of('old')), new: mean(of('new')), all: mean(of('all')),
      oldSd: sd(numbers(of('old'))), newSd: sd(numbers(of('new'))), allSd: sd(numbers(of('all'))),
      seeds: same.length,
    };
  });
}

/** Means and standard deviations of a method over its seeds' runs (failed runs are left out and listed). */
export function summarise(runs: ReadonlyArray<MethodResult & { seed: number }>): MethodSummary {
  const ok = runs.filter((r) => !r.error);
  const of = (k: 'old' | 'new' | 'all') => ok.map((r) => r[k]);
  const classes = [...new Set(ok.flatMap((r) => Object.keys(r.perClass)))];
  const first = runs[0];
  return {
    id: first.id,
    label: first.label,
    recipe: first.recipe,
    old: mean(of('old')),
    new: mean(of('new')),
    all: mean(of('all')),
    oldSd: sd(numbers(of('old'))),
    newSd: sd(numbers(of('new'))),
    allSd: sd(numbers(of('all'))),
    perClass: Object.fromEntries(classes.map((c) => [c, mean(ok.map((r) => r.perClass[c]))])),
    perClassSd: Object.fromEntries(classes.map((c) => [c, sd(numbers(ok.map((r) => r.perClass[c])))])),
    perSeed: [...runs],
    rounds: summariseRounds(ok),
    seconds: Math.round((runs.reduce((a, r) => a + r.seconds, 0) / Math.max(1, runs.length)) * 10) / 10,
    roundEvaluationSeconds: mean(runs.map((r) => r.roundEvaluationSeconds)),
    errors: runs.filter((r) => r.error).map((r) => `seed ${r.seed}: ${r.error}`),
  };
}

type Figures = Pick<MethodSummary, 'old' | 'new' | 'all' | 'oldSd' | 'newSd' | 'allSd'> & {
  perSeed?: ReadonlyArray<{ seed: number; old: number | null; new: number | null; all: number | null }>;
};
type FigureKey = 'old' | 'new' | 'all';

/** a − b paired by seed: the mean and sd over the seeds both sides measured (null below two). */
export function pairedDifference(a: Figures | undefined, b: Figures | undefined, key: FigureKey): { mean: number; sd: number } | null {
  const theirs = new Map((b?.perSeed ?? []).map((r) => [r.seed, r[key]]));
  const diffs = numbers((a?.perSeed ?? []).map((r) => { const v = theirs.get(r.seed); return typeof r[key] === 'number' && typeof v === 'number' ? r[key]! - v : null; }));
  return diffs.length >= 2 ? { mean: diffs.reduce((x, y) => x + y, 0) / diffs.length, sd: sd(diffs)! } : null;
}

/** The spread a difference a − b must exceed: the paired sd, else the sum of the two sds. */
function spreadOf(a: Figures | null | undefined, b: Figures | null | undefined, key: FigureKey): number | null {
  const paired = pairedDifference(a ?? undefined, b ?? undefined, key);
  if (paired) return paired.sd;
  const sa = a?.[`${key}Sd`];
  const sb = b?.[`${key}Sd`];
  return typeof sa === 'number' || typeof sb === 'number' ? (sa ?? 0) + (sb ?? 0) : null;
}

/** The issue's gates on the summaries (missing methods give null verdicts). `jointFloor`: 40 quick, 50 default. */
export function gates(m: Record<string, Figures | undefined>, step0: Figures | null, jointFloor: number): Gate[] {
  const out: Gate[] = [];
  // `learned`: a gate about learning new classes is not met by 0 >= 0 (nothing learned on either side).
  const add = (name: string, rule: string, margin: number | null, spread: number | null, needSpread: boolean, learned = true) => {
    const r = (v: number | null) => (v === null ? null : Math.round(v * 100) / 100);
    out.push({ name, rule, margin: r(margin), spread: r(spread), met: margin === null ? null : learned && margin >= 0 && (!needSpread || spread === null || margin > spread) });
  };
  const diff = (a: number | null | undefined, b: number | null | undefined, by = 0) => (typeof a === 'number' && typeof b === 'number' ? a - b - by : null);
  const { joint, finetune, mib, ours } = m;
  add('joint learns', `joint all >= ${jointFloor}`, diff(joint?.all, jointFloor), joint?.allSd ?? null, false);
  add('fine-tuning learns the new classes', "finetune new >= 0.5 x joint's new (and > 0)", typeof joint?.new === 'number' ? diff(finetune?.new, 0.5 * joint.new) : null, spreadOf(finetune, joint, 'new'), false, (finetune?.new ?? 0) > 0);
  add('fine-tuning forgets', 'finetune old <= step-0 old - 10', diff(step0?.old, finetune?.old, 10), spreadOf(step0, finetune, 'old'), false);
  add('ours keeps the old classes', "ours old >= MiB's old + 5, margin above the spread", diff(ours?.old, mib?.old, 5), spreadOf(ours, mib, 'old'), true);
  add('ours learns the new classes', "ours new >= MiB's new (and > 0), margin above the spread", diff(ours?.new, mib?.new), spreadOf(ours, mib, 'new'), true, (ours?.new ?? 0) > 0);
  add('ours near joint', "ours all >= joint's all - 5", diff(ours?.all, joint?.all, -5), spreadOf(ours, joint, 'all'), true);
  return out;
}

const num = (v: number | null | undefined, digits = 1): string => (typeof v === 'number' ? v.toFixed(digits) : '–');

const SHORT: Record<string, string> = {
  background: 'bg', abdominal_wall: 'abd. wall', colon: 'colon', inferior_mesenteric_artery: 'IMA', intestinal_veins: 'int. veins', liver: 'liver',
  pancreas: 'pancreas', small_intestine: 'small int.', spleen: 'spleen', stomach: 'stomach', ureter: 'ureter', vesicular_glands: 'ves. glands',
};
export const shortName = (n: string): string => SHORT[n] ?? n;

function row(cells: string[]): string {
  return `| ${cells.join(' | ')} |`;
}

const pm = (v: number | null | undefined, d: number | null | undefined): string => (typeof v === 'number' ? `${v.toFixed(1)} ± ${num(d)}` : '–');

/** The sites' replay check and the generator, per method and step, over the seeds (fidelity as a
 * fraction of the teacher's mIoU, realism as a distance: lower is closer to the sites' images). */
function replayMarkdown(summaries: readonly MethodSummary[]): string[] {
  const rows: string[] = [];
  for (const m of summaries) {
    const steps = [...new Set(m.perSeed.flatMap((r) => r.steps.filter((s) => s.replay).map((s) => s.step)))].sort((a, b) => a - b);
    for (const [i, step] of steps.entries()) {
      const seen = m.perSeed.map((r) => r.steps.find((s) => s.step === step)?.replay).filter((x): x is StepReplayFigures => !!x);
      const f = (k: 'fidelity' | 'noiseFidelity' | 'oldClassSharePercent' | 'realism' | 'generatorSteps', digits: number) => {
        const v = numbers(seen.map((x) => x[k]));
        return v.length ? `${mean(v)!.toFixed(digits)} ± ${(sd(v, digits) ?? 0).toFixed(digits)}` : '–';
      };
      const failed = `${seen.reduce((a, x) => a + x.generatorRoundsFailed, 0)} (${seen.filter((x) => x.generatorGivenUp).length})`;
      const shown = seen.reduce((a, x) => a + x.sitesSkippingOldClassesShown, 0);
      const skipping = `${seen.reduce((a, x) => a + x.sitesSkipping, 0) - shown} / ${shown}`;
      rows.push(row([i ? '' : m.label, String(step), f('fidelity', 3), f('noiseFidelity', 3), f('oldClassSharePercent', 1), skipping, f('realism', 4), f('generatorSteps', 0), failed]));
    }
  }
  if (!rows.length) return [];
  return ['', '### Replay: the sites\' own check and the generator (mean ± sd over the seeds)', '',
    row(['Method', 'step', 'fidelity', 'noise fidelity', 'old-class share %', 'sites skipping replay: fidelity / old classes shown (all seeds)', 'realism', 'generator steps (all sites)', 'failed generator rounds (seeds that gave up)']),
    row(['---', '---:', '---:', '---:', '---:', '---:', '---:', '---:', '---:']), ...rows,
    '', 'Fidelity: a student taught only by the step\'s replay images, scored on the site\'s labelled held-out images, over the teacher\'s mIoU there; noise fidelity: the same student taught by the untrained generator\'s samples. A site skips replay unless its fidelity clears both. Old-class share: of the step images\' pixels, those the teacher\'s confident pseudo-labels give to old classes; a site whose share reaches replayBelowOldClassShare skips replay (old classes shown). Step 0 shows the generator its generator rounds trained. Failed generator rounds: summed over the seeds (mostly every site withholding its generator at the memorisation gate); in brackets, the seeds whose step went on with the generator it had.'];
}

/** The per-round series: one row per method and step, its rounds left to right. */
function roundsMarkdown(summaries: readonly MethodSummary[]): string[] {
  const shown = summaries.filter((m) => m.rounds.length);
  if (!shown.length) return [];
  const out = ['', '### mIoU after every segmenter round (%, mean ± sd; a step\'s rounds left to right)', ''];
  out.push(row(['Method', 'step', 'old', 'new', 'all', 'per-round evaluations (s a run)']));
  out.push(row(['---', '---:', '---', '---', '---', '---:']));
  for (const m of shown) {
    for (const [i, step] of [...new Set(m.rounds.map((x) => x.step))].entries()) {
      const points = m.rounds.filter((x) => x.step === step);
      const series = (k: 'old' | 'new' | 'all') => points.map((x) => pm(x[k], x[`${k}Sd`])).join(' → ');
      out.push(row([i ? '' : m.label, String(step), series('old'), series('new'), series('all'), i ? '' : num(m.roundEvaluationSeconds, 0)]));
    }
  }
  out.push('', shown.some((m) => m.rounds.some((x) => x.groups === 'step'))
    ? 'Old / new as the coordinator reports a step (old = background + the classes before the step, new = the step\'s classes; the same groups as above at step 1 of a two-step setting): its per-round series carries no per-class IoU.'
    : 'Old / new / all over the same classes as above, of the classes the model had at that step.');
  return out;
}

/** The whole report as Markdown: means ± sample standard deviations over the seeds. */
export function toMarkdown(r: BenchResult): string {
  const schedule: Schedule = { name: r.setting, steps: r.schedule };
  const groups = classGroups(schedule);
  const ids = Object.keys(r.methods);
  const out: string[] = [];
  out.push(`# Class-incremental segmentation, setting ${r.setting} (${r.profile} profile, ${r.sites} sites, seeds ${r.seeds.join(', ')})`, '');
  out.push(`Steps: ${r.schedule.map((s, i) => `step ${i}: ${s.join(', ')}`).join('; ')}. Scenes: ${r.scenes === 'disjoint' ? 'disjoint (a step\'s training images never show an earlier step\'s structures)' : 'overlapped (a step\'s training images may show the earlier steps\' structures, unlabelled)'}.`);
  out.push(`Every incremental method starts step 1 from the same step-0 model of its seed (imported); joint trains every class at once with as many optimizer steps. Old = background + the ${r.schedule[0].length} classes of step 0; new = the ${groups.new.length} classes added later; all = every class incl. background. mIoU in percent (mean ± sd over ${r.seeds.length} seeds), pooled over the sites' test patients at label resolution, after the last step.`, '');
  out.push(row(['Method', 'old', 'new', 'all', 'time per run (s)']));
  out.push(row(['---', '---:', '---:', '---:', '---:']));
  if (r.step0) out.push(row([`${r.step0.label} (before step 1)`, pm(r.step0.old, r.step0.oldSd), '', pm(r.step0.all, r.step0.allSd), num(r.step0.seconds, 0)]));
  for (const id of ids) {
    const m = r.methods[id];
    out.push(row([m.errors.length ? `${m.label} (${m.errors.length} failed)` : m.label, pm(m.old, m.oldSd), pm(m.new, m.newSd), pm(m.all, m.allSd), num(m.seconds, 0)]));
  }
  out.push('', '### Per-class IoU after the last step (%, mean ± sd)', '');
  const names = [...groups.old, ...groups.new];
  out.push(row(['Method', ...names.map((n) => (n === 'ureter' || n === 'vesicular_glands' ? `**${shortName(n)}**` : shortName(n)))]));
  out.push(row(['---', ...names.map(() => '---:')]));
  for (const id of ids) out.push(row([r.methods[id].label, ...names.map((n) => pm(r.methods[id].perClass[n], r.methods[id].perClassSd[n]))]));
  out.push('', 'Ureter and vesicular glands (bold) are where the method\'s paper reports beating even joint training.');
  const withStep0 = [...(r.step0 ? [r.step0] : []), ...ids.map((id) => r.methods[id])];
  out.push(...roundsMarkdown(withStep0));
  out.push(...replayMarkdown(withStep0));
  out.push('', '### Gates', '');
  out.push(row(['gate', 'rule', 'margin', 'spread (sd of the per-seed difference)', 'met']));
  out.push(row(['---', '---', '---:', '---:', '---']));
  for (const g of r.gates) out.push(row([g.name, g.rule, num(g.margin), num(g.spread), g.met === null ? 'not measured' : g.met ? 'yes' : 'NO']));
  const ours = r.methods.ours;
  // Ours against others, paired by seed: its ablations, and the offline bounds (joint on every label,
  // and on the labels the incremental methods get).
  const againstOurs = (title: string, what: string, others: string[]) => {
    if (!ours || !others.length) return;
    out.push('', `### ${title} (ours − ${what}, mean ± sd of the per-seed difference)`, '');
    out.push(row([what, 'old', 'new', 'all']));
    out.push(row(['---', '---:', '---:', '---:']));
    const d = (m: MethodSummary, key: FigureKey) => {
      const p = pairedDifference(ours, m, key);
      return p ? `${p.mean.toFixed(1)} ± ${p.sd.toFixed(1)}` : '–';
    };
    for (const id of others) out.push(row([r.methods[id].label, d(r.methods[id], 'old'), d(r.methods[id], 'new'), d(r.methods[id], 'all')]));
  };
  againstOurs('Ablations against ours', 'ablation', ids.filter((id) => id.startsWith('ours-')));
  againstOurs('Ours against the offline bounds', 'bound', ids.filter((id) => id.startsWith('joint')));
  out.push('', '### Methods', '');
  for (const id of ids) out.push(`- **${r.methods[id].label}** (\`${id}\`): ${r.methods[id].recipe}${r.methods[id].errors.length ? ` — FAILED: ${r.methods[id].errors.join('; ')}` : ''}`);
  out.push('', `Machine: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.platform}. Started ${r.startedAt}, ${num(r.seconds, 0)} s in all.`);
  return out.join('\n') + '\n';
}
