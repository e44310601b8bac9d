// evaluateEveryRound: with in-test gRPC sites, a step of two segmenter rounds. The first round's
// aggregate is sent to the sites as an evaluation task before the second round opens (the step stays
// in training, the report does not list the step yet); the step's own evaluation round scores the
// last round's aggregate and ends the step; GET /api/reports/steps/0/rounds lists both rounds with
// old/new/all mIoU pooled over the sites by hand-checked arithmetic.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { TaskKind, UploadState, type Task } from '@fedciss/proto';
import { shiftedModel, type TestSiteClient, until, useTestFederation } from '../testing';

describe('evaluateEveryRound: each segmenter round\'s aggregate is evaluated', () => {
  const { sites, api } = useTestFederation({
    name: 'coord-round-eval',
    flags: { quorum: '2', segmenterRounds: '2', generatorRounds: '0', deadline: '60' },
    training: { evaluateEveryRound: true },
    siteNames: ['Hospital A', 'Hospital B'],
  });

  const taskOf = (site: TestSiteClient, kind: TaskKind, what: string): Promise<Task> =>
    until(what, async () => {
      const t = await site.getTask();
      return t.kind === kind && t;
    });

  /** Every site trains the open segmenter round (its update: the base shifted); returns the round's id. */
  const trainRound = async (round: number): Promise<string> => {
    let roundId = '';
    for (const site of sites) {
      const task = await taskOf(site, TaskKind.TASK_KIND_TRAIN_SEGMENTER, `segmenter round ${round} for ${site.siteId}`);
      assert.equal(task.roundIndex, round);
      roundId = task.roundId;
      const base = decodeSafetensors(await site.download(task.globalModel!.versionId)).tensors;
      const receipt = await site.upload(
        { idempotencyKey: `${site.siteId}-r${round}`, roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 10, replayImages: 0, labelledPixels: 0 }, trainMetrics: { loss: 0.5 } },
        encodeSafetensors(shiftedModel(base, 0.1)),
      );
      assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
    }
    return roundId;
  };

  /** Each site reports the evaluation task's model with liver IoU `liver[i]` percent (site i) and colon 0.5; returns the task. */
  const evaluate = async (liver: [number, number]): Promise<Task> => {
    let task: Task | undefined;
    for (const [i, site] of sites.entries()) {
      task = await taskOf(site, TaskKind.TASK_KIND_EVALUATE, `an evaluation task for ${site.siteId}`);
      await site.reportEvaluation({
        modelVersionId: task.globalModel!.versionId, roundId: task.roundId, images: 5, split: 'test', evaluatedSiteModel: '',
        classes: [
          { classId: 0, truePositive: 90, falsePositive: 5, falseNegative: 5 },
          { classId: 1, truePositive: liver[i], falsePositive: (100 - liver[i]) / 2, falseNegative: (100 - liver[i]) / 2 },
          { classId: 2, truePositive: 50, falsePositive: 25, falseNegative: 25 },
        ],
      });
    }
    return task!;
  };

  test('round 0\'s aggregate is evaluated before round 1 opens; the series lists both rounds', { timeout: 60_000 }, async () => {
    assert.equal((await api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }, { name: 'colon' }] })).status, 201);
    assert.deepEqual((await api('GET', '/api/reports/steps/0/rounds')).body, { step: 0, points: [] }, 'nothing evaluated yet');

    const round0 = await trainRound(0);
    const version0 = await until('round 0 to complete', async () => (await api('GET', '/api/rounds?step=0')).body.find((r: { id: string; status: string }) => r.id === round0 && r.status === 'completed')?.resultVersionId);
    // Round 0's evaluation comes next: the step stays in training, with no report.
    assert.equal((await api('GET', '/api/steps')).body[0].status, 'training');
    assert.deepEqual((await api('GET', '/api/reports')).body.steps, [], 'a round evaluation is no step report');
    const eval0 = await evaluate([80, 40]);
    assert.equal(eval0.globalModel!.versionId, version0, 'the evaluation task carries round 0\'s aggregate');
    assert.deepEqual(eval0.crossSiteModels, []);
    // The round evaluation does not end the step: round 1 opens, and the step is still training.
    const round1 = await trainRound(1);
    const rounds = (await api('GET', '/api/rounds?step=0')).body;
    assert.ok(rounds.some((r: { kind: string; status: string }) => r.kind === 'evaluate' && r.status === 'completed'), 'round 0\'s evaluation round completed');

    const version1 = await until('round 1 to complete', async () => (await api('GET', '/api/rounds?step=0')).body.find((r: { id: string; status: string }) => r.id === round1 && r.status === 'completed')?.resultVersionId);
    // The last round is not evaluated twice: the next evaluation is the step's own, of round 1's aggregate.
    const eval1 = await evaluate([90, 90]);
    assert.equal(eval1.globalModel!.versionId, version1);
    await until('step 0 to complete', async () => (await api('GET', '/api/steps')).body[0]?.status === 'completed');
    const evaluations = (await api('GET', '/api/rounds?step=0')).body.filter((r: { kind: string }) => r.kind === 'evaluate');
    assert.deepEqual(evaluations.map((r: { status: string }) => r.status), ['completed', 'completed'], 'two evaluation rounds, both completed');

    const series = await api('GET', '/api/reports/steps/0/rounds');
    assert.equal(series.status, 200);
    assert.deepEqual(series.body.points.map((p: { round: number; roundId: string; modelVersionId: string; images: number; sites: number }) => [p.round, p.roundId, p.modelVersionId, p.images, p.sites]), [
      [0, round0, version0, 10, 2],
      [1, round1, version1, 10, 2],
    ]);
    // Pooled by hand. Background 180 / 200 = 0.9 and colon 100 / 200 = 0.5 in both rounds. Liver,
    // round 0: TP 80 + 40, FP = FN = 10 + 30, so 120 / 200 = 0.6; round 1: 180 / 200 = 0.9.
    // Step 0 adds liver and colon: new = their mean, all = the mean over the three, old = none.
    const [p0, p1] = series.body.points;
    assert.equal(p0.mIoU.old, null);
    assert.ok(Math.abs(p0.mIoU.new - (0.6 + 0.5) / 2) < 1e-9, `new ${p0.mIoU.new}`);
    assert.ok(Math.abs(p0.mIoU.all - (0.9 + 0.6 + 0.5) / 3) < 1e-9, `all ${p0.mIoU.all}`);
    assert.ok(Math.abs(p1.mIoU.new - (0.9 + 0.5) / 2) < 1e-9, `new ${p1.mIoU.new}`);
    // Per class (0 background, 1 liver, 2 colon), so a reader can regroup the classes.
    const near = (got: Record<string, number>, want: number[]) => assert.ok(want.every((v, id) => Math.abs(got[id] - v) < 1e-9), JSON.stringify(got));
    near(p0.perClassIoU, [0.9, 0.6, 0.5]);
    near(p1.perClassIoU, [0.9, 0.9, 0.5]);
    // The step's report is the last round's point.
    const report = (await api('GET', '/api/reports')).body.steps[0];
    assert.deepEqual(report.mIoU, p1.mIoU);
    assert.deepEqual(report.perClassIoU, p1.perClassIoU);
  });

  test('the series of a step that does not exist is a 404 that names it; a step index that is no integer a 400', async () => {
    const missing = await api('GET', '/api/reports/steps/7/rounds');
    assert.equal(missing.status, 404);
    assert.match(JSON.stringify(missing.body), /step 7 does not exist/);
    assert.equal((await api('GET', '/api/reports/steps/seven/rounds')).status, 400);
  });
});
