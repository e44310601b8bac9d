// A federation as it runs in production, every part its own process: PostgreSQL (from the system's
// binaries), a coordinator, and three site agents with their own generated DSAD-layout data, all
// over mutual TLS with certificates issued through enrolment and admin approval. Step 0 and one
// incremental step, two segmenter rounds and one generator round each, then evaluation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPostgresServer, type PostgresServer } from '@fedciss/coordinator/testing';
import { Client } from 'pg';
import { Federation } from '../harness/federation';
import { TINY_TRAINING, tinyFederation } from '../harness/tiny';
import { checkConsistency, checkUploadContents } from '../harness/consistency';

describe('a federation of three hospitals over mutual TLS on PostgreSQL', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'e2e-happy-'));
  let pg: PostgresServer;
  let fed: Federation;
  let databaseUrl: string;

  before(async () => {
    pg = await startPostgresServer();
    databaseUrl = pg.createDatabase('happy');
    // FedProx (its mu must reach the sites' loss) and enough local steps for step 1 to learn its class.
    const training = { ...TINY_TRAINING, localEpochs: 12, learningRate: 3e-3, aggregation: { strategy: 'fedprox', proximalMu: 0.01 } };
    fed = new Federation(tinyFederation(workDir, { databaseUrl, training }));
    await fed.startAll(['--until-step', '1']);
  });

  after(async () => {
    await fed?.stop();
    pg?.stop();
    if (process.env.FEDCISS_KEEP_E2E !== '1') rmSync(workDir, { recursive: true, force: true });
  });

  test('step 0 and an incremental step complete with consistent database, model store and report', async () => {
    assert.equal(await fed.addClasses(['liver', 'stomach', 'colon']), 0);
    await fed.waitForStep(0, 240_000);
    assert.equal(await fed.addClasses(['small_intestine']), 1);
    await fed.waitForStep(1, 360_000); // step 1 also builds replay sets and distils on the server
    // The agents leave by themselves once the step they were asked to see through is complete.
    for (const site of fed.sites) assert.deepEqual(await site.program!.exited, { code: 0, signal: null }, site.name);

    const rounds = (await fed.api<Array<{ step: number; kind: string; status: string; accepted: string[] }>>('GET', '/api/rounds')).body;
    for (const step of [0, 1]) {
      const done = (kind: string) => rounds.filter((r) => r.step === step && r.kind === kind && r.status === 'completed');
      assert.equal(done('segmenter').length, 2, `step ${step}: two segmenter rounds`);
      assert.equal(done('generator').length, 1, `step ${step}: one generator round`);
      assert.equal(done('evaluate').length, 1, `step ${step}: one evaluation round`);
      for (const r of done('segmenter')) assert.equal(r.accepted.length, 3, 'every site contributed');
    }
    const roster = (await fed.api<Array<{ id: number; name: string; stepAdded: number }>>('GET', '/api/roster')).body;
    assert.deepEqual(roster.map((c) => [c.id, c.name, c.stepAdded]), [[0, 'background', 0], [1, 'liver', 0], [2, 'stomach', 0], [3, 'colon', 0], [4, 'small_intestine', 1]]);

    const report = (await fed.api<{ steps: Array<{ step: number; perClassIoU: Record<string, number | null>; perSite: unknown[]; images: number; mIoU: Record<string, number | null>; crossSite?: Array<{ modelSite: string; evaluatedAt: string; images: number }> }> }>('GET', '/api/reports')).body;
    assert.deepEqual(report.steps.map((s) => s.step), [0, 1]);
    const last = report.steps[1];
    assert.equal(last.perSite.length, 3);
    assert.equal(last.images, 3 * 3, 'three test images per site');
    assert.deepEqual(Object.keys(last.perClassIoU).sort(), ['0', '1', '2', '3', '4']);
    for (const v of Object.values(last.mIoU)) assert.ok(v === null || (v >= 0 && v <= 1));
    // Learning, not only completion: the class added at step 1 is found on the test patients.
    assert.ok((last.perClassIoU['4'] ?? 0) > 0.05, `small intestine IoU after step 1: ${last.perClassIoU['4']}`);
    // Cross-site matrix: every site's local model evaluated on every site's own test patients.
    assert.equal(last.crossSite?.length, 9);
    for (const site of fed.sites) for (const at of fed.sites) assert.ok(last.crossSite!.some((c) => c.modelSite === site.siteId && c.evaluatedAt === at.siteId && c.images === 3));

    const models = (await fed.api<Array<{ id: string; kind: string; parentId: string | null; numClasses: number }>>('GET', '/api/models')).body;
    const grown = models.find((m) => m.kind === 'segmenter' && m.numClasses === 5 && /head grown/.test((m as unknown as { note: string }).note));
    assert.ok(grown, 'the step-1 starting model has a grown head');
    assert.ok(models.some((m) => m.parentId === grown!.id), 'step-1 versions descend from the grown model');

    const { problems, counts } = await checkConsistency(databaseUrl, fed.coordinatorDir);
    assert.deepEqual(problems, []);
    assert.equal(counts.steps, 2);
    assert.equal(counts.failedRounds, 0);
    assert.equal(counts.acceptedUpdates, 3 * 3 * 2, 'three sites × (two segmenter + one generator rounds) × two steps');
    assert.equal(counts.evaluations, 3 * 2 + 9 * 2, 'global model per site and step, plus the 3 × 3 cross-site matrix per step');

    // The coordinator's Prometheus metrics saw the same federation (its counters run since its start).
    const metrics = await (await fetch(`${fed.httpUrl}/metrics`)).text();
    const value = (series: string) => Number(metrics.split('\n').find((l) => l.startsWith(series + ' '))?.slice(series.length + 1));
    assert.equal(value('fedciss_updates_total{outcome="accepted",reason=""}'), counts.acceptedUpdates);
    assert.equal(value('fedciss_rounds{kind="segmenter",status="completed"}'), 4);
    assert.equal(value('fedciss_aggregation_seconds_count{kind="segmenter"}'), 4);
    assert.ok(value('fedciss_transfer_bytes_total{direction="in"}') > 0 && value('fedciss_transfer_bytes_total{direction="out"}') > 0);

    // Privacy by construction: a site sends only these kinds of messages, and its uploads are model
    // tensors with the model's own names and shapes (nothing else rides along).
    const allowed = new Set(['Enroll', 'Heartbeat', 'GetTask', 'ReportProgress', 'ReportEvaluation', 'GetUploadStatus', 'DownloadModel', 'UploadUpdate.header', 'UploadUpdate.chunk']);
    for (const site of fed.sites) {
      const audit = readFileSync(join(site.dir, 'work', 'outbound-audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { type: string; bytes: number });
      assert.ok(audit.some((a) => a.type === 'UploadUpdate.chunk'));
      for (const a of audit) assert.ok(allowed.has(a.type), `${site.name} sent a ${a.type}`);
    }
    // What the sites trained with, from the metrics of their updates: FedProx's mu set on the
    // coordinator is in every segmenter update's loss; step-1 updates used replay images; the
    // server-side distillation after each step-1 aggregation changed the model's predictions.
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      const updates = (await db.query(`SELECT r.step_index AS step, u.metrics, u.replay_images AS replay FROM site_updates u JOIN rounds r ON r.id = u.round_id WHERE u.status = 'accepted' AND r.kind = 'segmenter'`)).rows as Array<{ step: number; metrics: Record<string, number>; replay: number }>;
      assert.equal(updates.length, 3 * 2 * 2);
      for (const u of updates) assert.ok(u.metrics.prox > 0, `a step-${u.step} update has no proximal loss: ${JSON.stringify(u.metrics)}`);
      for (const u of updates.filter((x) => x.step === 1)) assert.ok(u.replay > 0, 'step-1 updates report replay images');
      const notes = (await db.query(`SELECT v.note FROM model_versions v JOIN rounds r ON r.result_version_id = v.id WHERE r.kind = 'segmenter' AND r.step_index = 1`)).rows as Array<{ note: string }>;
      assert.equal(notes.length, 2);
      for (const { note } of notes) {
        const changed = /server-side distillation.*changed ([\d.]+)% of the predicted pixels/.exec(note);
        assert.ok(changed && Number(changed[1]) > 0, `server-side distillation left the aggregate's predictions as they were: ${note}`);
      }
    } finally {
      await db.end();
    }
    const uploads = await checkUploadContents(databaseUrl, fed.coordinatorDir);
    assert.ok(uploads.checked >= 18);
    assert.deepEqual(uploads.problems, []);
  });
});
