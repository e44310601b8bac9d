// Adaptive clipping through the real coordinator (gRPC test sites, embedded database): the clip
// bound each round's tasks carry moves, round after round, toward the target quantile of the sites'
// update norms, along exactly the path the quantile update (adaptive-clipping.ts) gives for the
// sites' bits; with plain uploads (the bit in the upload header) and under secure aggregation (the
// bit as one more masked word: only the count is unmasked). The test sites send noise-free bits and
// updates, so the path can be checked exactly; the sites' noise is dp-update.test's business.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind, UploadState, type Task } from '@fedciss/proto';
import { SecureTestSite, type TestSiteClient, until, useTestFederation } from '../testing';
import { nextClipNorm, updateNoiseMultiplier } from './adaptive-clipping';
import { epsilonOfReleases } from './rdp';
import type { PrivacySettings } from './privacy-settings';

const ADAPTIVE = { targetQuantile: 0.5, learningRate: 1, countNoiseStddev: 1 };

/** A describe block's test federation of the named sites, `rounds` segmenter rounds a step (quorum 3), under `privacy`. */
const federationOf = (name: string, rounds: number, privacy: PrivacySettings, siteNames: readonly string[]) =>
  useTestFederation({
    name,
    flags: { quorum: '3', segmenterRounds: String(rounds), generatorRounds: '0', deadline: '30' },
    training: { serverDistillSteps: 0, privacy },
    siteNames,
  });

interface ClipRow { step: number; kind: string; index: number; clipNorm: number; sites: number | null; unclippedFraction: number | null; nextClipNorm: number | null }

describe('adaptive clipping, plain uploads', () => {
  // Each site's update moves every weight by the same amount: delta norms 0.2, 0.4, 0.6, 0.8, 1.0.
  const norms = [0.2, 0.4, 0.6, 0.8, 1];
  const ROUNDS = 8;
  const run = federationOf('coord-adaptive', ROUNDS, { secureAggregation: null, differentialPrivacy: { clipNorm: 0.05, noiseMultiplier: 1, noise: 'site', delta: 1e-5, budget: { segmenter: null, generator: null }, adaptiveClipping: ADAPTIVE } }, norms.map((_, i) => `Hospital ${i}`));
  const { sites } = run;

  /** What a site sends: global + its delta clipped to the task's bound, and its bit. */
  async function train(site: TestSiteClient, task: Task, norm: number): Promise<void> {
    const dp = task.hyperParameters!.differentialPrivacy!;
    const global = decodeSafetensors(await site.download(task.globalModel!.versionId)).tensors;
    const d = [...global.values()].reduce((n, t) => n + t.data.length, 0);
    const sent = Math.min(norm, dp.clipNorm) / Math.sqrt(d);
    const local = new Map([...global].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v) => v + sent) }]));
    const receipt = await site.upload(
      { idempotencyKey: `key-${site.siteId}-${task.roundId}`, roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {}, unclippedIndicator: norm <= dp.clipNorm ? 1 : 0 },
      encodeSafetensors(local),
    );
    assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
  }

  test('the bound moves toward the median of the update norms, along the quantile update\'s path; the report shows it', { timeout: 120_000 }, async () => {
    const opened = await run.api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    let expected = 0.05;
    const seen: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const tasks = await Promise.all(sites.map((s) => until(`segmenter round ${round} for ${s.siteId}`, async () => {
        await s.heartbeat();
        const t = await s.getTask();
        return t.kind === TaskKind.TASK_KIND_TRAIN_SEGMENTER && t.roundIndex === round && t;
      })));
      const dp = tasks[0].hyperParameters!.differentialPrivacy!;
      // The task's bound is the one the quantile update predicts; the noise is z_Δ · C with z_Δ = (1 − 1/4)^(−½).
      assert.ok(Math.abs(dp.clipNorm - expected) < 1e-9 * expected, `round ${round}: C ${dp.clipNorm}, expected ${expected}`);
      assert.ok(Math.abs(dp.noiseStddev - updateNoiseMultiplier(1, 1) * dp.clipNorm) < 1e-12);
      assert.equal(dp.countNoiseStddev, 1);
      seen.push(dp.clipNorm);
      if (round === 0) {
        // A site that leaves its bit out is refused, the field named (and may retry with it).
        const t = tasks[0];
        const header = { idempotencyKey: `nobit-${t.roundId}`, roundId: t.roundId, baseVersionId: t.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: { unclippedIndicator: 1 } };
        await assert.rejects(sites[0].upload(header, await sites[0].download(t.globalModel!.versionId)), /uses adaptive clipping: unclipped_indicator .* is missing/);
      }
      await Promise.all(sites.map((s, i) => train(s, tasks[i], norms[i])));
      expected = nextClipNorm(expected, norms.filter((n) => n <= expected).length / norms.length, ADAPTIVE);
    }
    // From 0.05 (every update clipped) toward the median norm 0.6: ends between the neighbouring norms.
    assert.ok(seen[ROUNDS - 1] > 0.4 && seen[ROUNDS - 1] < 0.8, `C after ${ROUNDS} rounds: ${seen.join(', ')}`);
    for (let i = 1; i < 5; i++) assert.ok(seen[i] > seen[i - 1], 'C grows while most updates are clipped');

    const view = (await run.api('GET', '/api/reports/privacy')).body as { clipping: ClipRow[]; noiseSplit: { updateNoiseMultiplier: number }; spend: Array<{ epsilon: number; rounds: number }> };
    await until('the last round to be recorded', async () => ((await run.api('GET', '/api/reports/privacy')).body as { clipping: ClipRow[] }).clipping.filter((c) => c.nextClipNorm != null).length === ROUNDS);
    const rows = ((await run.api('GET', '/api/reports/privacy')).body as { clipping: ClipRow[] }).clipping;
    assert.deepEqual(rows.map((r) => r.clipNorm), seen);
    assert.deepEqual(rows.map((r) => r.sites), new Array(ROUNDS).fill(5));
    assert.equal(rows[0].unclippedFraction, 0);
    assert.ok(Math.abs(view.noiseSplit.updateNoiseMultiplier - 1.154700538) < 1e-9);
    // The accountant charges the configured total z = 1 per round: the bits are inside it.
    const eps = epsilonOfReleases(Array.from({ length: ROUNDS }, () => ({ noiseMultiplier: 1, samplingRate: 1 })), 1e-5).epsilon;
    for (const s of view.spend) {
      assert.equal(s.rounds, ROUNDS);
      assert.ok(Math.abs(s.epsilon - eps) < 1e-9, `ε ${s.epsilon}`);
    }
    const html = await (await fetch(`${run.coordinator.httpUrl}/api/reports/report.html`, { headers: { authorization: `Bearer ${run.token}` } })).text();
    assert.match(html, /Adaptive clipping: the clip bound started at 0\.05 and follows the 0\.5 quantile/);
    assert.match(html, new RegExp(`<td>segmenter 0</td><td>0\\.0500</td><td>0\\.000</td><td>5</td><td>${seen[1].toFixed(4)}</td>`));
  });
});

describe('adaptive clipping under secure aggregation', () => {
  const ROUNDS = 3;
  const run = federationOf('coord-adaptive-secure', ROUNDS, {
    secureAggregation: { threshold: 2, neighbours: 0, clipNorm: 10, sampleWeightCap: 1000 },
    differentialPrivacy: { clipNorm: 0.3, noiseMultiplier: 1, noise: 'aggregate', delta: 1e-5, budget: { segmenter: null, generator: null }, adaptiveClipping: ADAPTIVE },
  }, ['Hospital A', 'Hospital B', 'Hospital C']);
  const sites: SecureTestSite[] = [];
  before(() => {
    // Shifts 0.01, 0.05, 0.2 (delta norms about 0.05, 0.26, 1.04 on the 24 weights of the test model).
    const [a, b, c] = run.sites;
    sites.push(new SecureTestSite(a, 'a', 0.01, 10), new SecureTestSite(b, 'b', 0.05, 10), new SecureTestSite(c, 'c', 0.2, 10));
  });

  test('only the count is unmasked, and it moves the bound as the plain bits would', { timeout: 120_000 }, async () => {
    const opened = await run.api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    for (let round = 0; round < ROUNDS; round++) {
      const roundId = (await Promise.all(sites.map((s) => s.advertise())))[0];
      await Promise.all(sites.map((s) => s.share(roundId)));
      await Promise.all(sites.map((s) => s.upload(roundId)));
      await Promise.all(sites.map((s) => s.reveal(roundId)));
      await until(`secure round ${round} to complete`, async () => ((await run.api('GET', '/api/rounds?step=0')).body as Array<{ id: string; status: string }>).find((r) => r.id === roundId)?.status === 'completed');
    }
    const rows = ((await run.api('GET', '/api/reports/privacy')).body as { clipping: ClipRow[] }).clipping;
    assert.equal(rows.length, ROUNDS);
    let C = 0.3;
    for (const r of rows) {
      assert.ok(Math.abs(r.clipNorm - C) < 1e-9, `C ${r.clipNorm}, expected ${C}`);
      // The true fraction of the three delta norms within C; the unmasked count carries only quantisation error.
      const within = sites.filter((s) => s.lastDeltaNorm! <= C).length;
      assert.equal(r.sites, 3);
      assert.ok(Math.abs(r.unclippedFraction! - within / 3) < 1e-6, `fraction ${r.unclippedFraction}, expected ${within / 3}`);
      C = nextClipNorm(C, r.unclippedFraction!, ADAPTIVE);
      assert.ok(Math.abs(r.nextClipNorm! - C) < 1e-12);
    }
  });
});
