import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DatabaseService } from '../database/database.service';
import { ReplayReportService } from './replay-report.service';
import { ReplaySkipReason } from '@fedciss/proto';
import { replayCheckMetrics } from './replay-check-metrics';

interface FakeRound { id: string; kind: string; stepIndex: number; status?: string; state?: unknown }
interface FakeAudit { action: string; target: string; details: unknown }

/** The three queries the service makes, answered from arrays (the filters on status and action are the caller's). */
function fakeDb(rounds: FakeRound[], updates: { roundId: string; siteId: string; metrics: unknown }[], audit: FakeAudit[] = []): DatabaseService {
  return {
    prisma: {
      round: { findMany: async () => rounds.map((r) => ({ status: 'completed', state: {}, ...r })) },
      siteUpdate: { findMany: async () => updates },
      auditEntry: { findMany: async () => audit },
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
    { roundId: 's1a', siteId: 'A', metrics: { ...replayCheckMetrics({ fidelity: 0.7, noiseFidelity: 0.5, foregroundFidelity: 0.6, noiseForegroundFidelity: 0.3, teacherMiou: 0.5, studentMiou: 0.35, noiseStudentMiou: 0.25, margin: 0.05, skipped: false, noiseSeconds: 12, oldClassShare: 0.01, skipReason: ReplaySkipReason.REPLAY_SKIP_REASON_UNSPECIFIED }) } },
    { roundId: 's1a', siteId: 'B', metrics: { replayFidelity: 0.1, replayTeacherMiou: 0.5, replayStudentMiou: 0.05, replaySkipped: 1 } },
    { roundId: 's1a', siteId: 'C', metrics: { ...replayCheckMetrics({ fidelity: 0.7, noiseFidelity: 0.5, foregroundFidelity: 0.6, noiseForegroundFidelity: 0.3, teacherMiou: 0.5, studentMiou: 0.35, noiseStudentMiou: 0.25, margin: 0.05, skipped: true, noiseSeconds: 12, oldClassShare: 0.15, skipReason: ReplaySkipReason.REPLAY_SKIP_REASON_OLD_CLASSES_SHOWN }) } },
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
  assert.ok(Math.abs(s1.fidelity! - 0.5) < 1e-12);
  assert.deepEqual(s1.skippedSites, ['B', 'C']);
  assert.deepEqual(s1.fidelityBySite.map((f) => [f.siteId, f.fidelity, f.skipped]), [['A', 0.7, false], ['B', 0.1, true], ['C', 0.7, true]]);
  // Why each site did not replay: B (an older site) sent no reason, so its skip was for fidelity.
  assert.deepEqual(s1.fidelityBySite.map((f) => [f.skipReason, f.oldClassShare]), [[null, 0.01], ['low-fidelity', null], ['old-classes-shown', 0.15]]);
  assert.equal(s1.realism, null); // a non-numeric metric is ignored
  // The noise floor travels with the check; a site that sent none (B, an older site) has nulls.
  assert.deepEqual([s1.fidelityBySite[0].noiseFidelity, s1.fidelityBySite[0].margin, s1.fidelityBySite[0].noiseSeconds, s1.fidelityBySite[0].noiseForegroundFidelity], [0.5, 0.05, 12, 0.3]);
  assert.deepEqual([s1.fidelityBySite[1].noiseFidelity, s1.fidelityBySite[1].margin], [null, null]);
  assert.equal(s1.noiseFidelity, 0.5);
});

test('replay report: failed generator rounds, the generators withheld in them, and why the step went on without them', async () => {
  const gate = (n: number) => `memorisation gate: ${n} of 8 generated samples lie within the threshold`;
  const rounds = [
    { id: 'g1a', kind: 'generator', stepIndex: 1, status: 'failed', state: { withheld: { B: { at: 1, reason: gate(2) }, A: { at: 2, reason: gate(1) } } } },
    { id: 'g1b', kind: 'generator', stepIndex: 1, status: 'failed', state: { withheld: { A: { at: 3, reason: gate(3) } } } },
    { id: 'g2a', kind: 'generator', stepIndex: 2, status: 'completed', state: { withheld: { B: { at: 4, reason: gate(1) } } } },
    { id: 's3a', kind: 'segmenter', stepIndex: 3, status: 'failed', state: { withheld: { A: { at: 5, reason: 'not a generator' } } } },
  ];
  const audit = [
    { action: 'round.given-up', target: 'step 1 generator', details: { reason: '2 generator rounds of step 1 failed' } },
    { action: 'round.refused', target: 'step 3 generator', details: { reason: 'privacy budget' } },
    { action: 'round.refused', target: 'step 3 segmenter', details: { reason: 'a segmenter refusal is not the generator\'s' } },
    { action: 'round.given-up', target: 'step 4 generator', details: { no: 'reason' } },
  ];
  const steps = await new ReplayReportService(fakeDb(rounds, [], audit)).steps();
  const byStep = new Map(steps.map((s) => [s.step, s]));
  // Step 4's entry has no reason: it is not read as one, and adds no step.
  assert.deepEqual([...byStep.keys()], [1, 2, 3]);
  const s1 = byStep.get(1)!;
  assert.equal(s1.generatorRoundsFailed, 2);
  assert.deepEqual(s1.withheldGenerators, [
    { siteId: 'A', roundId: 'g1a', reason: gate(1) },
    { siteId: 'B', roundId: 'g1a', reason: gate(2) },
    { siteId: 'A', roundId: 'g1b', reason: gate(3) },
  ]);
  assert.equal(s1.generatorGivenUp, '2 generator rounds of step 1 failed');
  const s2 = byStep.get(2)!;
  assert.deepEqual([s2.generatorRoundsFailed, s2.withheldGenerators.length, s2.generatorGivenUp], [0, 1, null]);
  // A segmenter round's state is not the generator's; the privacy refusal of the generator counts.
  assert.deepEqual([byStep.get(3)!.generatorRoundsFailed, byStep.get(3)!.withheldGenerators, byStep.get(3)!.generatorGivenUp], [0, [], 'privacy budget']);
});

test('replay check metrics: every figure under its key, skipped as 0/1, bad figures refused by field name', () => {
  const check = { fidelity: 0.55, noiseFidelity: 0.52, foregroundFidelity: 0.3, noiseForegroundFidelity: 0.33, teacherMiou: 0.45, studentMiou: 0.25, noiseStudentMiou: 0.23, margin: 0.05, skipped: true, noiseSeconds: 40, oldClassShare: 0.12, skipReason: ReplaySkipReason.REPLAY_SKIP_REASON_OLD_CLASSES_SHOWN };
  const m = replayCheckMetrics(check);
  assert.deepEqual(m, { replayFidelity: 0.55, replayNoiseFidelity: 0.52, replayForegroundFidelity: 0.3, replayNoiseForegroundFidelity: 0.33, replayTeacherMiou: 0.45, replayStudentMiou: 0.25, replayNoiseStudentMiou: 0.23, replayMargin: 0.05, replayNoiseSeconds: 40, replayOldClassShare: 0.12, replaySkipped: 1, replaySkipReason: 2 });
  assert.throws(() => replayCheckMetrics({ ...check, skipReason: 7 as ReplaySkipReason }), /replay_check.skip_reason 7 is not a known ReplaySkipReason/);
  assert.throws(() => replayCheckMetrics({ ...check, oldClassShare: -0.5 }), /replay_check.old_class_share/);
  assert.throws(() => replayCheckMetrics({ ...check, oldClassShare: 1.5 }), /replay_check.old_class_share is a share of pixels, at most 1, got 1.5/);
  assert.throws(() => replayCheckMetrics({ ...check, skipped: false }), /replay_check.skip_reason REPLAY_SKIP_REASON_OLD_CLASSES_SHOWN is given but replay_check.skipped is false/);
  assert.equal(replayCheckMetrics({ ...check, skipReason: ReplaySkipReason.REPLAY_SKIP_REASON_UNSPECIFIED }).replaySkipReason, 0, 'a skip without a reason: an older site');
  assert.deepEqual(replayCheckMetrics(undefined), {});
  assert.equal(replayCheckMetrics({ ...check, margin: -0.1 }).replayMargin, -0.1);
  assert.throws(() => replayCheckMetrics({ ...check, noiseFidelity: Number.NaN }), /replay_check.noise_fidelity must be a finite, non-negative number, got NaN/);
  assert.throws(() => replayCheckMetrics({ ...check, noiseSeconds: -1 }), /replay_check.noise_seconds/);
});
