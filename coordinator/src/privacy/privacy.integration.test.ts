// The coordinator with in-test gRPC clients as sites, for what protects a site's data: the
// memorisation gate (a site withholds its generator; the round goes on without it, the console is
// told; when every site withholds, the step goes on with the generator it has) and differential
// privacy (the spend per site is recorded and a round that would cross the budget is refused).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind, UploadState, type Task } from '@fedciss/proto';
import { type TestSiteClient, until, useTestFederation } from '../testing';
import { shifted } from '../testing/aggregation';

describe('privacy of what leaves a site', () => {
  const federation = useTestFederation({
    name: 'coord-privacy',
    flags: { quorum: '1', segmenterRounds: '1', generatorRounds: '1', deadline: '240' },
    // Differential privacy from the start: σ 2, so a site's segmenter ε is 2.17, 3.19, 4.01, 4.73 after
    // 1, 2, 3, 4 rounds at δ 1e-5 (rdp.ts); the budget 4.5 allows three segmenter rounds, not four.
    training: { privacy: { differentialPrivacy: { clipNorm: 1, noiseMultiplier: 2, noise: 'site', delta: 1e-5, budget: { segmenter: 4.5, generator: null } } } },
    siteNames: ['Hospital A', 'Hospital B'],
  });
  const { api } = federation;
  let a: TestSiteClient;
  let b: TestSiteClient;
  before(() => {
    [a, b] = federation.sites;
  });

  const taskOf = (site: TestSiteClient, kind: TaskKind) =>
    until(`a ${TaskKind[kind]} task for ${site.siteId}`, async () => {
      const t = await site.getTask();
      return t.kind === kind && t;
    });
  const uploadShifted = async (site: TestSiteClient, task: Task, kind: string, by: number) => {
    const base = decodeSafetensors(await site.download(task.globalModel!.versionId)).tensors;
    const receipt = await site.upload(
      { idempotencyKey: `key-${site.siteId}-${task.roundId}`, roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind, samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} },
      encodeSafetensors(shifted(base, by)),
    );
    assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
    return base;
  };

  test('memorisation gate: a withheld generator is recorded, the round aggregates the others at once, the console is told', { timeout: 60_000 }, async () => {
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    for (const site of [a, b]) await uploadShifted(site, await taskOf(site, TaskKind.TASK_KIND_TRAIN_SEGMENTER), 'segmenter', 0.1);

    const genA = await taskOf(a, TaskKind.TASK_KIND_TRAIN_GENERATOR);
    const genB = await taskOf(b, TaskKind.TASK_KIND_TRAIN_GENERATOR);
    assert.equal(genA.roundId, genB.roundId);
    const base = await uploadShifted(a, genA, 'generator', 0.25);
    const ack = await b.reportWithheld({ roundId: genB.roundId, kind: 'generator', reason: 'memorisation gate: 2 of 8 generated samples lie within the threshold', metrics: { privacyFlagged: 2, privacyMinDistance: 0.001 } });
    assert.equal(ack.ok, true, ack.message);
    // The round closes now (b is alive, yet nothing is pending) with a's update only.
    const round = await until('the generator round to complete', async () => {
      const r = (await api('GET', '/api/rounds?step=0')).body.find((x: { kind: string }) => x.kind === 'generator');
      return r?.status === 'completed' && r;
    }, 10_000);
    assert.deepEqual(round.accepted, [a.siteId]);
    assert.deepEqual(round.withheld, [{ siteId: b.siteId, reason: 'memorisation gate: 2 of 8 generated samples lie within the threshold' }]);
    const result = decodeSafetensors(await a.download(round.resultVersionId)).tensors;
    assert.ok(Math.abs(result.get('denoiser.weight')!.data[0] - (base.get('denoiser.weight')!.data[0] + 0.25)) < 1e-6, 'the aggregate is a\'s update alone');
    // The console's overview lists it among the recent events (the audit log).
    const overview = (await api('GET', '/api/overview')).body;
    const entry = overview.events.find((e: { action: string }) => e.action === 'update.withheld');
    assert.ok(entry, 'update.withheld in the console\'s events');
    assert.equal(entry.actor, `site:${b.siteId}`);
    assert.deepEqual(entry.details.metrics, { privacyFlagged: 2, privacyMinDistance: 0.001 });
    // A second report for a closed round changes nothing.
    assert.equal((await b.reportWithheld({ roundId: genB.roundId, kind: 'generator', reason: 'again', metrics: {} })).ok, false);
    await assert.rejects(b.reportWithheld({ roundId: 'no-such-round', kind: 'generator', reason: 'x', metrics: {} }), /round 'no-such-round' does not exist/);
  });

  test('differential privacy: tasks carry clipping and noise, the spend is recorded per site, a round over budget is refused and said so', { timeout: 90_000 }, async () => {
    // Step 0 (the test above) charged one segmenter and one generator round to each site; finish it.
    for (const site of [a, b]) {
      const t = await taskOf(site, TaskKind.TASK_KIND_EVALUATE);
      await site.reportEvaluation({ modelVersionId: t.globalModel!.versionId, roundId: t.roundId, images: 1, split: 'test', evaluatedSiteModel: '', classes: [{ classId: 1, truePositive: 1, falsePositive: 0, falseNegative: 0 }] });
    }
    await until('step 0 to complete', async () => (await api('GET', '/api/steps')).body[0]?.status === 'completed');
    federation.config.rounds.segmenterRounds = 3; // and no generator round: a later step keeps its generator by default
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'colon' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    for (let round = 0; round < 2; round++) {
      for (const site of [a, b]) {
        const task = await taskOf(site, TaskKind.TASK_KIND_TRAIN_SEGMENTER);
        assert.deepEqual(task.hyperParameters!.differentialPrivacy, { clipNorm: 1, noiseStddev: 2, countNoiseStddev: 0 }, 'σ·C per coordinate at the site');
        await uploadShifted(site, task, 'segmenter', 0.05);
      }
      await until(`segmenter round ${round} of step 1 to complete`, async () => (await api('GET', '/api/rounds?step=1')).body.filter((r: { kind: string; status: string }) => r.kind === 'segmenter' && r.status === 'completed').length === round + 1);
    }
    // The third round of step 1 would be each site's fourth: ε 4.73 > 4.5. It is not opened; the step evaluates.
    const evalTask = await taskOf(a, TaskKind.TASK_KIND_EVALUATE);
    assert.equal(evalTask.step, 1);
    const rounds = (await api('GET', '/api/rounds?step=1')).body as Array<{ kind: string }>;
    assert.deepEqual(rounds.map((r) => r.kind).sort(), ['evaluate', 'segmenter', 'segmenter']);
    const refused = (await api('GET', '/api/overview')).body.events.find((e: { action: string }) => e.action === 'round.refused');
    assert.ok(refused, 'the refusal is in the console\'s events');
    assert.equal(refused.target, 'step 1 segmenter');
    assert.match(refused.details.reason, /would cross the budget ε 4\.5 \(δ 0\.00001\): .* would reach ε 4\.729 after 4 segmenter rounds/);

    const view = (await api('GET', '/api/reports/privacy')).body;
    assert.equal(view.differentialPrivacy.noiseMultiplier, 2);
    for (const site of [a, b]) {
      const seg = view.spend.find((s: { siteId: string; kind: string }) => s.siteId === site.siteId && s.kind === 'segmenter');
      assert.equal(seg.rounds, 3);
      assert.ok(Math.abs(seg.epsilon - 4.0113) < 1e-3, `segmenter ε ${seg.epsilon}`);
      assert.equal(seg.budget, 4.5);
      const gen = view.spend.find((s: { siteId: string; kind: string }) => s.siteId === site.siteId && s.kind === 'generator');
      assert.equal(gen.rounds, 1, 'the generator is accounted separately');
      assert.ok(Math.abs(gen.epsilon - 2.1657) < 1e-3, `generator ε ${gen.epsilon}`);
    }
    const html = await (await fetch(`${federation.coordinator.httpUrl}/api/reports/report.html`, { headers: { authorization: `Bearer ${federation.token}` } })).text();
    assert.match(html, /<h2>Privacy<\/h2>[\s\S]*<td>segmenter<\/td><td>3<\/td><td>4\.011<\/td>/);
  });

  test('memorisation gate at every site: after rounds.generatorFailuresPerStep failed generator rounds the step goes on with the generator it has, and says so', { timeout: 90_000 }, async () => {
    // Finish step 1 (the test above) by its evaluation; step 2 without differential privacy: this test is about the gate.
    for (const site of [a, b]) {
      const t = await taskOf(site, TaskKind.TASK_KIND_EVALUATE);
      await site.reportEvaluation({ modelVersionId: t.globalModel!.versionId, roundId: t.roundId, images: 1, split: 'test', evaluatedSiteModel: '', classes: [{ classId: 1, truePositive: 1, falsePositive: 0, falseNegative: 0 }] });
    }
    await until('step 1 to complete', async () => (await api('GET', '/api/steps')).body[1]?.status === 'completed');
    const generator = (await api('GET', '/api/rounds?step=0')).body.find((r: { kind: string }) => r.kind === 'generator').resultVersionId;
    federation.config.training = { ...federation.config.training, privacy: { differentialPrivacy: null } };
    Object.assign(federation.config.rounds, { segmenterRounds: 1, laterStepGeneratorRounds: 1, generatorFailuresPerStep: 2 });
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'stomach' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    for (const site of [a, b]) await uploadShifted(site, await taskOf(site, TaskKind.TASK_KIND_TRAIN_SEGMENTER), 'segmenter', 0.1);

    // Both sites keep their generator back, twice: each round fails at once ("every site has answered").
    const reason = (site: TestSiteClient, attempt: number) => `memorisation gate: ${attempt + 1} of 8 generated samples lie within the threshold at ${site.siteId}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      const tasks = [await taskOf(a, TaskKind.TASK_KIND_TRAIN_GENERATOR), await taskOf(b, TaskKind.TASK_KIND_TRAIN_GENERATOR)];
      assert.equal(tasks[0].roundId, tasks[1].roundId);
      assert.equal(tasks[0].globalModel!.versionId, generator, 'every try starts from the generator the federation has');
      for (const [i, site] of [a, b].entries()) {
        const ack = await site.reportWithheld({ roundId: tasks[i].roundId, kind: 'generator', reason: reason(site, attempt), metrics: { privacyFlagged: attempt + 1 } });
        assert.equal(ack.ok, true, ack.message);
      }
      await until(`generator round ${attempt} of step 2 to fail`, async () => (await api('GET', '/api/rounds?step=2')).body.some((r: { id: string; status: string }) => r.id === tasks[0].roundId && r.status === 'failed'));
    }

    // No third generator round: the step evaluates the segmenter with the generator it had.
    const evalTask = await taskOf(a, TaskKind.TASK_KIND_EVALUATE);
    assert.equal(evalTask.step, 2);
    const rounds = (await api('GET', '/api/rounds?step=2')).body as Array<{ kind: string; status: string; reason: string }>;
    assert.deepEqual(rounds.map((r) => `${r.kind} ${r.status}`).sort(), ['evaluate collecting', 'generator failed', 'generator failed', 'segmenter completed']);
    assert.match(rounds.find((r) => r.kind === 'generator')!.reason, /every site has answered but the quorum cannot be reached: 0 of 2 sites uploaded \(quorum 1\), 2 withheld/);
    const givenUp = (await api('GET', '/api/audit?action=round.given-up')).body as Array<{ actor: string; target: string; details: { reason: string } }>;
    assert.equal(givenUp.length, 1, 'said once, though the clock meets the decision at every tick');
    assert.deepEqual([givenUp[0].actor, givenUp[0].target], ['system', 'step 2 generator']);
    assert.match(givenUp[0].details.reason, new RegExp(`^2 generator rounds of step 2 failed \\(the last: every site has answered .*\\); the step goes on with generator version ${generator} \\(rounds.generatorFailuresPerStep 2\\)$`));

    // The replay report (the console's Diffusion replay card) names the failures, who withheld and why, and the decision.
    const step2 = (await api('GET', '/api/reports/replay')).body.steps.find((s: { step: number }) => s.step === 2);
    assert.equal(step2.generatorRoundsFailed, 2);
    assert.deepEqual(new Set(step2.withheldGenerators.map((w: { siteId: string; reason: string }) => `${w.siteId}: ${w.reason}`)),
      new Set([0, 1].flatMap((attempt) => [a, b].map((site) => `${site.siteId}: ${reason(site, attempt)}`))));
    assert.equal(step2.generatorGivenUp, givenUp[0].details.reason);
    assert.equal(step2.privacyFlagged, 0, 'withheld generators are not accepted updates');
  });
});
