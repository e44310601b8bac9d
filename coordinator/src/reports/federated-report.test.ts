import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildReports, iou, poolCounts, type ReportClass } from './federated-report';

const roster: ReportClass[] = [
  { id: 0, name: 'background', color: '#000000', stepAdded: 0 },
  { id: 1, name: 'liver', color: '#9467bd', stepAdded: 0 },
  { id: 2, name: 'ureter', color: '#bcbd22', stepAdded: 1 },
];

test('IoU pools pixel counts across sites, not per-site IoUs', () => {
  // Site A: liver 8 TP, 2 FP, 0 FN (IoU 0.8); site B: 1 TP, 0 FP, 19 FN (IoU 0.05).
  // Pooled: 9 / (9 + 2 + 19) = 0.3, where the mean of the two sites' IoUs would be 0.425.
  const pooled = poolCounts([{ classId: 1, tp: 8, fp: 2, fn: 0 }, { classId: 1, tp: 1, fp: 0, fn: 19 }]);
  assert.equal(iou(pooled.get(1)), 0.3);
  assert.equal(iou({ classId: 3, tp: 0, fp: 0, fn: 0 }), null);
});

test('reports give old/new/all mIoU per step and forgetting against the best earlier step', () => {
  const reports = buildReports([
    { step: 1, modelVersionId: 'm1', sites: [{ siteId: 'a', images: 2, counts: [{ classId: 0, tp: 90, fp: 10, fn: 0 }, { classId: 1, tp: 6, fp: 2, fn: 2 }, { classId: 2, tp: 1, fp: 1, fn: 2 }] }] },
    { step: 0, modelVersionId: 'm0', sites: [{ siteId: 'a', images: 3, counts: [{ classId: 0, tp: 80, fp: 0, fn: 20 }, { classId: 1, tp: 8, fp: 1, fn: 1 }] }, { siteId: 'b', images: 1, counts: [] }] },
  ], roster);
  assert.deepEqual(reports.map((r) => r.step), [0, 1]);
  const [s0, s1] = reports;
  // Step 0: background 0.8, liver 0.8; no old classes yet; new = liver.
  assert.deepEqual(s0.perClassIoU, { 0: 0.8, 1: 0.8 });
  assert.deepEqual(s0.mIoU, { old: null, new: 0.8, all: 0.8 });
  assert.equal(s0.images, 4);
  // Step 1: background 0.9, liver 0.6, ureter 0.25; old = (0.9 + 0.6) / 2, new = 0.25, all = 1.75 / 3.
  assert.equal(s1.perClassIoU[1], 0.6);
  assert.equal(s1.perClassIoU[2], 0.25);
  assert.ok(Math.abs(s1.mIoU.old! - 0.75) < 1e-12);
  assert.equal(s1.mIoU.new, 0.25);
  assert.ok(Math.abs(s1.mIoU.all! - 1.75 / 3) < 1e-12);
  // Liver fell from 0.8 to 0.6: forgetting 0.2; background improved: -0.1; ureter has no history.
  assert.ok(Math.abs(s1.forgetting[1]! - 0.2) < 1e-12);
  assert.ok(Math.abs(s1.forgetting[0]! + 0.1) < 1e-12);
  assert.equal(s1.forgetting[2], null);
  assert.equal(s0.perSite.find((s) => s.siteId === 'b')!.mIoU.all, null);
});

test('the cross-site matrix scores each site\'s local model at every site', () => {
  const [r] = buildReports([{
    step: 0, modelVersionId: 'g', sites: [],
    crossSite: [
      { modelSite: 'a', modelVersionId: 'la', sites: [{ siteId: 'a', images: 1, counts: [{ classId: 1, tp: 3, fp: 1, fn: 0 }] }, { siteId: 'b', images: 1, counts: [{ classId: 1, tp: 1, fp: 1, fn: 2 }] }] },
    ],
  }], roster);
  // Liver IoU 3/4 at home, 1/4 at b; background and ureter have no counts, so mIoU(all) is the liver's.
  assert.deepEqual(r.crossSite!.map((c) => [c.modelSite, c.evaluatedAt, c.mIoU.all]), [['a', 'a', 0.75], ['a', 'b', 0.25]]);
});
