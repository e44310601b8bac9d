/**
 * Turns the coordinator's federated reports (GET /api/reports) of each method's run into the
 * field's table: per-class IoU after the last step and mIoU of old / new / all classes, in percent.
 * "Old" is background plus the first step's classes and "new" every class added later (as MiB and
 * PLOP report X-Y settings); "all" is every class including background. Pure functions.
 */
import { classGroups, type Schedule } from './settings';

/** What the benchmark reads of a coordinator StepReport. */
export interface ReportLike {
  step: number;
  classes: Array<{ id: number; name: string; stepAdded: number }>;
  images: number;
  perClassIoU: Record<string, number | null>;
  mIoU: { old: number | null; new: number | null; all: number | null };
  perSite?: unknown[];
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

export interface BenchResult {
  setting: string;
  schedule: string[][];
  profile: string;
  sites: number;
  methods: Record<string, MethodResult>;
  machine: Machine;
  startedAt: string;
  seconds: number;
  goal: GoalCheck;
  options: Record<string, unknown>;
}

export interface GoalCheck {
  /** ours.old - mib.old (goal: >= 5). */
  oursMinusMibOld: number | null;
  /** joint.all - ours.all (goal: <= 5). */
  jointMinusOursAll: number | null;
  met: boolean | null;
}

export const pct = (v: number | null | undefined): number | null => (v === null || v === undefined ? null : Math.round(v * 10000) / 100);

function mean(values: Array<number | null | undefined>): number | null {
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

export function stepFigures(reports: readonly ReportLike[], seconds: ReadonlyArray<number | null> = []): StepFigures[] {
  return [...reports].sort((a, b) => a.step - b.step).map((r) => ({
    step: r.step,
    classesAdded: r.classes.filter((c) => c.stepAdded === r.step && c.id !== 0).map((c) => c.name),
    images: r.images,
    old: pct(r.mIoU.old),
    new: pct(r.mIoU.new),
    all: pct(r.mIoU.all),
    perClass: perClassByName(r),
    seconds: seconds[r.step] ?? null,
  }));
}

export function goalCheck(methods: Record<string, Pick<MethodResult, 'old' | 'all'>>): GoalCheck {
  const d = (a: number | null | undefined, b: number | null | undefined) => (typeof a === 'number' && typeof b === 'number' ? Math.round((a - b) * 100) / 100 : null);
  const oursMinusMibOld = d(methods.ours?.old, methods.mib?.old);
  const jointMinusOursAll = d(methods.joint?.all, methods.ours?.all);
  const met = oursMinusMibOld === null || jointMinusOursAll === null ? null : oursMinusMibOld >= 5 && jointMinusOursAll <= 5;
  return { oursMinusMibOld, jointMinusOursAll, met };
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

/** The whole report as Markdown. */
export function toMarkdown(r: BenchResult): string {
  const schedule: Schedule = { name: r.setting, steps: r.schedule };
  const groups = classGroups(schedule);
  const ids = Object.keys(r.methods);
  const out: string[] = [];
  out.push(`# Class-incremental segmentation, setting ${r.setting} (${r.profile} profile, ${r.sites} sites)`, '');
  out.push(`Steps: ${r.schedule.map((s, i) => `step ${i}: ${s.join(', ')}`).join('; ')}.`);
  out.push(`Old = background + the ${r.schedule[0].length} classes of step 0; new = the ${groups.new.length} classes added later; all = every class incl. background. mIoU in percent, pooled over the sites' test patients, after the last step.`, '');
  out.push(row(['Method', 'old', 'new', 'all', 'time (s)']));
  out.push(row(['---', '---:', '---:', '---:', '---:']));
  for (const id of ids) {
    const m = r.methods[id];
    out.push(row([m.error ? `${m.label} (failed)` : m.label, num(m.old), num(m.new), num(m.all), num(m.seconds, 0)]));
  }
  out.push('', '### Per-class IoU after the last step (%)', '');
  const names = [...groups.old, ...groups.new];
  out.push(row(['Method', ...names.map(shortName)]));
  out.push(row(['---', ...names.map(() => '---:')]));
  for (const id of ids) out.push(row([r.methods[id].label, ...names.map((n) => num(r.methods[id].perClass[n]))]));
  const maxSteps = Math.max(0, ...ids.map((id) => r.methods[id].steps.length));
  if (maxSteps > 1) {
    out.push('', '### After each step (coordinator report: old = classes before the step, new = the step\'s classes; all, old/new, seconds)', '');
    out.push(row(['Method', ...Array.from({ length: maxSteps }, (_, t) => `step ${t}`)]));
    out.push(row(['---', ...Array.from({ length: maxSteps }, () => '---')]));
    for (const id of ids) {
      const m = r.methods[id];
      out.push(row([m.label, ...Array.from({ length: maxSteps }, (_, t) => {
        const s = m.steps.find((x) => x.step === t);
        return s ? `${num(s.all)} (${num(s.old)}/${num(s.new)}) ${num(s.seconds, 0)}s` : '';
      })]));
    }
  }
  out.push('', '### Methods', '');
  for (const id of ids) out.push(`- **${r.methods[id].label}** (\`${id}\`): ${r.methods[id].recipe}${r.methods[id].error ? ` — FAILED: ${r.methods[id].error}` : ''}`);
  const g = r.goal;
  out.push('', `Goal (ours ≥ MiB + 5 on old, ours within 5 of joint on all): ours − MiB (old) = ${num(g.oursMinusMibOld)}, joint − ours (all) = ${num(g.jointMinusOursAll)} → ${g.met === null ? 'not measured' : g.met ? 'met' : 'not met'}.`);
  out.push('', `Machine: ${r.machine.cpus} CPUs (${r.machine.cpuModel}), ${r.machine.memoryGiB} GiB, Node ${r.machine.node}, ${r.machine.platform}. Started ${r.startedAt}, ${num(r.seconds, 0)} s in all.`);
  return out.join('\n') + '\n';
}
