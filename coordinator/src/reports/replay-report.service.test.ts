import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatabaseService } from '../database/database.service';
import { ReplayReportService } from './replay-report.service';
import { replayCheckMetrics } from './replay-check-metrics';

/** The two queries the service makes, answered from arrays (the filter on status is the caller's). */
function fakeDb(rounds: { id: string; kind: string; stepIndex: number }[], updates: { roundId: string; siteId: string; metrics: unknown }[]): DatabaseService {
  return {
    prisma: {
      round: { findMany: async () => rounds },
      siteUpdate: { findMany: async () => updates },
    },
  } as unknown as DatabaseService;
}

test('replay report: per step, the first fidelity each site reported, who skipped, mean realism, summed flags and steps', async () => {
  const rounds = [
    { id: 'g0', kind: 'generator', stepIndex: 0 },
    { id: 's1a', kind: 'segmenter', stepIndex: 1 },
    { id: 's1b', kind: 'segmenter', stepIndex: 1 },
    { id: 'g1', kind: 'generator', stepIndex: 1 },
  ];
  const updates = [
    { roundId: 'g0', siteId: 'A', metrics: { realismFrechet: 0.2, privacyFlagged: 1, steps: 100 } },
    { roundId: 'g0', siteId: 'B', metrics: { realismFrechet: 0.4, privacyFlagged: 0, steps: 120 } },
    { roundId: 's1a', siteId: 'A', metrics: { ...replayCheckMetrics({ fidelity: 0.7, noiseFidelity: 0.5, foregroundFidelity: 0.6, noiseForegroundFidelity: 0.3, teacherMiou: 0.5, studentMiou: 0.35, noiseStudentMiou: 0.25, margin: 0.05, skipped: false, noiseSeconds: 12 }) } },
    { roundId: 's1a', siteId: 'B', metrics: { replayFidelity: 0.1, replayTeacherMiou: 0.5, replayStudentMiou: 0.05, replaySkipped: 1 } },
    // the second round repeats the once-per-step check: not counted again
    { roundId: 's1b', siteId: 'A', metrics: { replayFidelity: 0.9, replaySkipped: 0 } },
    { roundId: 'g1', siteId: 'A', metrics: { realismFrechet: 'n/a' } },
  ];
  const steps = await new ReplayReportService(fakeDb(rounds, updates)).steps();
  assert.equal(steps.length, 2);
  const [s0, s1] = steps;
  assert.deepEqual([s0.step, s0.fidelity, s0.generatorSteps, s0.privacyFlagged], [0, null, 220, 1]);
  assert.ok(Math.abs(s0.realism! - 0.3) < 1e-12);
  assert.equal(s1.step, 1);
  assert.ok(Math.abs(s1.fidelity! - 0.4) < 1e-12);
  assert.deepEqual(s1.skippedSites, ['B']);
  assert.deepEqual(s1.fidelityBySite.map((f) => [f.siteId, f.fidelity, f.skipped]), [['A', 0.7, false], ['B', 0.1, true]]);
  assert.equal(s1.realism, null); // a non-numeric metric is ignored
  // The noise floor travels with the check; a site that sent none (B, an older site) has nulls.
  assert.deepEqual([s1.fidelityBySite[0].noiseFidelity, s1.fidelityBySite[0].margin, s1.fidelityBySite[0].noiseSeconds, s1.fidelityBySite[0].noiseForegroundFidelity], [0.5, 0.05, 12, 0.3]);
  assert.deepEqual([s1.fidelityBySite[1].noiseFidelity, s1.fidelityBySite[1].margin], [null, null]);
  assert.equal(s1.noiseFidelity, 0.5);
});

test('replay check metrics: every figure under its key, skipped as 0/1, bad figures refused by field name', () => {
  const check = { fidelity: 0.55, noiseFidelity: 0.52, foregroundFidelity: 0.3, noiseForegroundFidelity: 0.33, teacherMiou: 0.45, studentMiou: 0.25, noiseStudentMiou: 0.23, margin: 0.05, skipped: true, noiseSeconds: 40 };
  const m = replayCheckMetrics(check);
  assert.deepEqual(m, { replayFidelity: 0.55, replayNoiseFidelity: 0.52, replayForegroundFidelity: 0.3, replayNoiseForegroundFidelity: 0.33, replayTeacherMiou: 0.45, replayStudentMiou: 0.25, replayNoiseStudentMiou: 0.23, replayMargin: 0.05, replayNoiseSeconds: 40, replaySkipped: 1 });
  assert.deepEqual(replayCheckMetrics(undefined), {});
  assert.equal(replayCheckMetrics({ ...check, margin: -0.1 }).replayMargin, -0.1);
  assert.throws(() => replayCheckMetrics({ ...check, noiseFidelity: Number.NaN }), /replay_check.noise_fidelity must be a finite, non-negative number, got NaN/);
  assert.throws(() => replayCheckMetrics({ ...check, noiseSeconds: -1 }), /replay_check.noise_seconds/);
});
