// The evaluation plan the browser tests play through the federation: the IoU each site reports.

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
