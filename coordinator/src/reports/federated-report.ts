/**
 * The federated evaluation report, as pure functions over pooled confusion counts: per-class IoU,
 * mIoU of old, new and all classes, forgetting per class across steps, and a per-site breakdown.
 * Counts add up across sites (TP, FP and FN are sums of pixels), so pooling is exact: the report is
 * what one evaluation over every site's test patients together would give.
 */
import { iouOfCounts } from '@fedciss/ml';

export interface ClassCountsRow {
  classId: number;
  tp: number;
  fp: number;
  fn: number;
}

export interface ReportClass {
  id: number;
  name: string;
  color: string;
  stepAdded: number;
}

export interface Miou {
  old: number | null;
  new: number | null;
  all: number | null;
}

export interface SiteBreakdown {
  siteId: string;
  images: number;
  perClassIoU: Record<number, number | null>;
  mIoU: Miou;
}

/** One cell of the cross-site matrix: the local model of `modelSite` on the test patients of `evaluatedAt`. */
export interface CrossSiteCell {
  modelSite: string;
  modelVersionId: string;
  evaluatedAt: string;
  images: number;
  mIoU: Miou;
}

export interface StepReport {
  step: number;
  modelVersionId: string;
  classes: ReportClass[];
  images: number;
  perClassIoU: Record<number, number | null>;
  mIoU: Miou;
  /** Best IoU of an earlier step minus this step's (positive = forgotten); null without history. */
  forgetting: Record<number, number | null>;
  perSite: SiteBreakdown[];
  /** Present when the step ran a cross-site evaluation. */
  crossSite?: CrossSiteCell[];
}

type SiteCounts = { siteId: string; images: number; counts: ClassCountsRow[] };

export interface StepEvaluations {
  step: number;
  modelVersionId: string;
  sites: SiteCounts[];
  /** Each site's local model and the evaluations other sites made of it. */
  crossSite?: Array<{ modelSite: string; modelVersionId: string; sites: SiteCounts[] }>;
}

/** Sums counts by class. */
export function poolCounts(rows: Iterable<ClassCountsRow>): Map<number, ClassCountsRow> {
  const out = new Map<number, ClassCountsRow>();
  for (const r of rows) {
    const acc = out.get(r.classId) ?? { classId: r.classId, tp: 0, fp: 0, fn: 0 };
    acc.tp += r.tp;
    acc.fp += r.fp;
    acc.fn += r.fn;
    out.set(r.classId, acc);
  }
  return out;
}

/** IoU of a class's pooled counts; null when it has none. */
export function iou(c: ClassCountsRow | undefined): number | null {
  return c ? iouOfCounts(c) : null;
}

function mean(values: Array<number | null>): number | null {
  const v = values.filter((x): x is number => x !== null);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : null;
}

/** Old classes are background and those added before the step (as MiB and PLOP report them); at step 0 there are none. */
export function miouOf(perClass: Record<number, number | null>, classes: ReportClass[], step: number): Miou {
  const ids = (pred: (c: ReportClass) => boolean) => classes.filter(pred).map((c) => perClass[c.id] ?? null);
  return {
    old: step === 0 ? null : mean(ids((c) => c.stepAdded < step || c.id === 0)),
    new: mean(ids((c) => c.stepAdded === step && c.id !== 0)),
    all: mean(ids(() => true)),
  };
}

function perClassOf(pooled: Map<number, ClassCountsRow>, classes: ReportClass[]): Record<number, number | null> {
  return Object.fromEntries(classes.map((c) => [c.id, iou(pooled.get(c.id))]));
}

/** One point of a step's per-round series: the aggregate of one segmenter round, as its sites scored it. */
export interface RoundPoint {
  /** The segmenter round's index within the step (failed rounds count too). */
  round: number;
  roundId: string;
  modelVersionId: string;
  images: number;
  sites: number;
  mIoU: Miou;
  /** Class id → IoU over the sites' pooled counts (the classes of the step). */
  perClassIoU: Record<number, number | null>;
}

/** Per-class IoU and old/new/all mIoU of one model version from its sites' pooled counts. */
export function pooledScores(sites: SiteCounts[], classes: ReportClass[], step: number): Pick<RoundPoint, 'mIoU' | 'perClassIoU'> {
  const perClassIoU = perClassOf(poolCounts(sites.flatMap((x) => x.counts)), classes);
  return { perClassIoU, mIoU: miouOf(perClassIoU, classes, step) };
}

/** One report per step, in step order; `roster` holds every class with the step it was added at. */
export function buildReports(steps: StepEvaluations[], roster: ReportClass[]): StepReport[] {
  const ordered = [...steps].sort((a, b) => a.step - b.step);
  const history: Array<Record<number, number | null>> = [];
  return ordered.map((s) => {
    const classes = roster.filter((c) => c.stepAdded <= s.step);
    const perClassIoU = perClassOf(poolCounts(s.sites.flatMap((x) => x.counts)), classes);
    const forgetting: Record<number, number | null> = {};
    for (const c of classes) {
      const earlier = history.map((h) => h[c.id]).filter((v): v is number => v !== null && v !== undefined);
      const now = perClassIoU[c.id];
      forgetting[c.id] = now === null || !earlier.length ? null : Math.max(...earlier) - now;
    }
    history.push(perClassIoU);
    return {
      step: s.step,
      modelVersionId: s.modelVersionId,
      classes,
      images: s.sites.reduce((n, x) => n + x.images, 0),
      perClassIoU,
      mIoU: miouOf(perClassIoU, classes, s.step),
      forgetting,
      perSite: s.sites.map((x) => {
        const perSite = perClassOf(poolCounts(x.counts), classes);
        return { siteId: x.siteId, images: x.images, perClassIoU: perSite, mIoU: miouOf(perSite, classes, s.step) };
      }),
      ...(s.crossSite
        ? {
            crossSite: s.crossSite.flatMap((m) =>
              m.sites.map((x) => ({ modelSite: m.modelSite, modelVersionId: m.modelVersionId, evaluatedAt: x.siteId, images: x.images, mIoU: miouOf(perClassOf(poolCounts(x.counts), classes), classes, s.step) })),
            ),
          }
        : {}),
    };
  });
}
