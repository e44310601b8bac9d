// The evaluation plan the browser tests play through the federation, and — for a coordinator that
// does not serve GET /api/reports yet — the report of exactly the documented shape computed from it.
import { encodePng } from './png';

export interface PlanStep { classes: { name: string; description?: string }[]; iou: Record<number, number> }

/** Class ids follow the roster: liver 1, stomach 2, colon 3, small_intestine 4, ureter 5. */
export const PLAN: PlanStep[] = [
  { classes: [{ name: 'liver', description: 'Hepatic parenchyma incl. gallbladder bed' }, { name: 'stomach', description: 'Gastric wall, anterior view' }], iou: { 1: 0.79, 2: 0.66 } },
  { classes: [{ name: 'colon' }, { name: 'small_intestine' }], iou: { 1: 0.75, 2: 0.6, 3: 0.67, 4: 0.8 } },
  { classes: [{ name: 'ureter', description: 'Thin retroperitoneal structure; hard to see' }], iou: { 1: 0.72, 2: 0.56, 3: 0.63, 4: 0.77, 5: 0.42 } },
];

/** Site A is a little better than the federation, site B a little worse. */
export const SITE_OFFSET = [0.04, -0.05];
export const siteIoU = (step: number, site: number): Record<number, number> =>
  Object.fromEntries(Object.entries(PLAN[step].iou).map(([id, v]) => [id, Math.max(0, Math.min(1, +(v + SITE_OFFSET[site] * (Number(id) % 2 ? 1 : 0.6)).toFixed(3)))]));

interface RosterClass { id: number; name: string; color: string; stepAdded: number }
type MIoU = { old: number | null; new: number | null; all: number | null };
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function miou(iou: Record<number, number>, classes: RosterClass[], step: number): MIoU {
  const of = (f: (c: RosterClass) => boolean) => mean(classes.filter(f).map((c) => iou[c.id]).filter((v) => v !== undefined));
  return { old: of((c) => c.stepAdded < step), new: of((c) => c.stepAdded === step), all: of(() => true) };
}

/** The report GET /api/reports should give for PLAN played by sites with `siteIds` (pooled counts of equal size: the mean). */
export function reportFixture(roster: RosterClass[], siteIds: string[], modelVersionIds: string[]) {
  const best = new Map<number, number>();
  return {
    steps: PLAN.map((_, step) => {
      const classes = roster.filter((c) => c.stepAdded <= step && c.id !== 0).map(({ id, name, color, stepAdded }) => ({ id, name, color, stepAdded }));
      const perSite = siteIds.map((siteId, i) => ({ siteId, perClassIoU: siteIoU(step, i) }));
      const perClassIoU: Record<number, number> = {};
      for (const c of classes) perClassIoU[c.id] = mean(perSite.map((p) => p.perClassIoU[c.id]))!;
      const forgetting: Record<number, number> = {};
      for (const c of classes) {
        if (c.stepAdded < step) forgetting[c.id] = Math.max(0, (best.get(c.id) ?? 0) - perClassIoU[c.id]);
      }
      for (const c of classes) best.set(c.id, Math.max(best.get(c.id) ?? 0, perClassIoU[c.id]));
      return {
        step, modelVersionId: modelVersionIds[step] ?? `unknown-${step}`, classes, perClassIoU, mIoU: miou(perClassIoU, classes, step), forgetting,
        perSite: perSite.map((p) => ({ ...p, mIoU: miou(p.perClassIoU, classes, step) })), images: 48,
      };
    }),
  };
}

/** Deterministic pseudo-random numbers. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

function hex(c: string): [number, number, number] {
  return [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16)) as [number, number, number];
}

/** Synthetic "laparoscopic" frames (tissue-coloured, vignetted) with a prediction mask of blobs in class colours. */
export function overlayFixture(classes: { id: number; color: string }[], count = 4, size = 128) {
  return Array.from({ length: count }, (_, k) => {
    const r = rng(17 + k * 101);
    const img = new Uint8Array(size * size * 4);
    const mask = new Uint8Array(size * size * 4);
    const blobs = classes.slice(0, 3 + (k % 2)).map((c) => ({ c: hex(c.color), x: 0.2 + r() * 0.6, y: 0.2 + r() * 0.6, rx: 0.12 + r() * 0.14, ry: 0.08 + r() * 0.12 }));
    const waves = [r() * 6, r() * 6, r() * 6];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const u = x / size, v = y / size;
        const d = Math.hypot(u - 0.5, v - 0.5);
        const vignette = Math.max(0, 1 - d * d * 2.6);
        const texture = 0.85 + 0.15 * Math.sin(u * 9 + waves[0]) * Math.cos(v * 7 + waves[1]) + 0.05 * Math.sin((u + v) * 23 + waves[2]);
        const i = (y * size + x) * 4;
        img[i] = Math.min(255, 205 * vignette * texture + 10);
        img[i + 1] = Math.min(255, 105 * vignette * texture + 8);
        img[i + 2] = Math.min(255, 100 * vignette * texture + 12);
        img[i + 3] = 255;
        for (const b of blobs) {
          const e = ((u - b.x) / b.rx) ** 2 + ((v - b.y) / b.ry) ** 2 + 0.15 * Math.sin(u * 31 + v * 17);
          if (e < 1) {
            mask[i] = b.c[0]; mask[i + 1] = b.c[1]; mask[i + 2] = b.c[2]; mask[i + 3] = 255;
            // The organ also shows in the frame: a slightly different tint where a structure is.
            img[i] = Math.min(255, img[i] * 0.8 + b.c[0] * 0.12); img[i + 1] = Math.min(255, img[i + 1] * 0.8 + b.c[1] * 0.12);
          }
        }
      }
    }
    return { imagePng: encodePng(size, size, img).toString('base64'), overlayPng: encodePng(size, size, mask).toString('base64') };
  });
}
