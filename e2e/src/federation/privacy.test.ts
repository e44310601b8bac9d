// Secure aggregation with differential privacy over real processes: a coordinator and three site
// agents (loopback gRPC, embedded database), two incremental steps with one segmenter and one
// generator round each. The sites add their share of Gaussian noise to clipped updates and send
// them masked; the coordinator only ever unmasks the sums, accounts the privacy spent, distills and
// evaluates as usual.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Federation } from '../harness/federation';
import { TINY_TRAINING, tinyFederation } from '../harness/tiny';

const PRIVACY = {
  secureAggregation: { threshold: 2, neighbours: 0, clipNorm: 1, sampleWeightCap: 1000 },
  differentialPrivacy: {
    clipNorm: 1, noiseMultiplier: 0.05, noise: 'aggregate', delta: 1e-5, budget: { segmenter: 1000, generator: 1000 },
    // The sites' "within C" bits ride masked (one more word); only their count is unmasked.
    adaptiveClipping: { targetQuantile: 0.5, learningRate: 0.2, countNoiseStddev: 0.1 },
  },
};

describe('secure aggregation + differential privacy, three site agents as processes', { timeout: 600_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'e2e-privacy-'));
  let fed: Federation;

  before(async () => {
    fed = new Federation(tinyFederation(workDir, {
      tls: false,
      coordinatorFlags: ['--quorum', '3', '--segmenter-rounds', '1', '--generator-rounds', '1', '--later-step-generator-rounds', '1', '--deadline', '240', '--tick-ms', '200', '--heartbeat-timeout', '8'],
      // Secure aggregation sees no single update: FedAvg only, no cross-site evaluation.
      training: { ...TINY_TRAINING, crossSiteEvaluation: false, privacy: PRIVACY },
    }));
    await fed.startAll(['--until-step', '1']);
  });

  after(async () => {
    await fed?.stop();
    if (process.env.FEDCISS_KEEP_E2E !== '1') rmSync(workDir, { recursive: true, force: true });
  });

  test('two steps complete; every training round is a masked sum of the three sites; the spend is accounted', async () => {
    assert.equal(await fed.addClasses(['liver', 'stomach']), 0);
    await fed.waitForStep(0, 300_000);
    assert.equal(await fed.addClasses(['colon']), 1);
    await fed.waitForStep(1, 300_000);
    for (const site of fed.sites) assert.deepEqual(await site.program!.exited, { code: 0, signal: null }, site.name);

    const rounds = (await fed.api<Array<{ id: string; step: number; kind: string; status: string; accepted: string[]; resultVersionId: string }>>('GET', '/api/rounds')).body;
    const models = (await fed.api<Array<{ id: string; note: string }>>('GET', '/api/models')).body;
    for (const step of [0, 1]) {
      for (const kind of ['segmenter', 'generator']) {
        const done = rounds.filter((r) => r.step === step && r.kind === kind && r.status === 'completed');
        assert.equal(done.length, 1, `step ${step}: one ${kind} round`);
        assert.equal(done[0].accepted.length, 3);
        assert.match(models.find((m) => m.id === done[0].resultVersionId)!.note, /^secure aggregation \(FedAvg of 3 masked updates/);
      }
    }
    const report = (await fed.api<{ steps: Array<{ step: number; images: number }> }>('GET', '/api/reports')).body;
    assert.deepEqual(report.steps.map((s) => s.step), [0, 1], 'evaluation and reports work under secure aggregation');

    // Two segmenter and two generator rounds charged to each site, at σ 0.05: ε is large (little noise), and finite.
    const privacy = (await fed.api<{ spend: Array<{ siteId: string; kind: string; rounds: number; epsilon: number }> }>('GET', '/api/reports/privacy')).body;
    assert.equal(privacy.spend.length, 6);
    for (const s of privacy.spend) assert.ok(s.rounds === 2 && Number.isFinite(s.epsilon) && s.epsilon > 0, JSON.stringify(s));

    // Adaptive clipping: every training round counted the three sites' masked bits and moved C; a
    // step's round starts from the bound the previous round of that model left.
    const clipping = (await fed.api<{ clipping: Array<{ step: number; kind: string; clipNorm: number; sites: number; unclippedFraction: number; nextClipNorm: number }> }>('GET', '/api/reports/privacy')).body.clipping;
    assert.equal(clipping.length, 4, JSON.stringify(clipping));
    for (const c of clipping) {
      assert.equal(c.sites, 3, JSON.stringify(c));
      // Noisy fraction: three bits in {0, 1} plus noise of sd 0.1 in all (aggregate noise), over 3.
      assert.ok(c.unclippedFraction > -0.5 && c.unclippedFraction < 1.5 && c.nextClipNorm !== c.clipNorm, JSON.stringify(c));
    }
    for (const kind of ['segmenter', 'generator']) {
      const [s0, s1] = clipping.filter((c) => c.kind === kind);
      assert.equal(s0.clipNorm, 1, `${kind}: C starts at clipNorm`);
      assert.equal(s1.clipNorm, s0.nextClipNorm, `${kind}: step 1 starts from the bound step 0 left`);
    }

    // What each site sent: the secure-aggregation stages, and uploads; the coordinator stored masked blobs only.
    for (const site of fed.sites) {
      const types = new Set(readFileSync(join(site.dir, 'work', 'outbound-audit.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type));
      for (const t of ['SecAggAdvertise', 'SecAggShareKeys', 'SecAggReveal', 'UploadUpdate.chunk']) assert.ok(types.has(t), `${site.name} sent no ${t}`);
    }
    const blobs = readdirSync(join(fed.coordinatorDir, 'models'), { recursive: true }).map((f) => join(fed.coordinatorDir, 'models', String(f))).filter((f) => statSync(f).isFile());
    const masked = blobs.filter((f) => readFileSync(f).subarray(0, 4).toString('ascii') === 'FSA1');
    assert.equal(masked.length, 3 * 4, 'three masked uploads in each of the four training rounds');
  });
});
