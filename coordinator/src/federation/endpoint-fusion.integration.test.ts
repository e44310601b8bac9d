// Endpoint fusion through a real federation (NestJS coordinator, PGlite, in-test gRPC sites): two
// steps of two segmenter rounds; only the aggregate of step 1's last round is fused with the step's
// start (the teacher, its head grown), by the training setting's weight.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { TaskKind, UploadState, type Task } from '@fedciss/proto';
import { openStepTasks, TensorModelFactory, until, useTestFederation } from '../testing';
import { assertClose, shifted, values } from '../testing/aggregation';

const FUSION = 0.25;

describe('endpoint fusion of a step\'s last segmenter round', () => {
  const { sites, api } = useTestFederation({
    name: 'coord-fusion',
    flags: { quorum: '2', segmenterRounds: '2', generatorRounds: '0', deadline: '60' },
    training: { endpointFusion: FUSION },
    siteNames: ['Hospital A', 'Hospital B'],
  });

  /** Both sites train the round of `tasks` (site A +0.1 on 10 images, B +0.4 on 30: FedAvg adds
   * 0.325 to every weight) and wait for it; returns the completed round. */
  const trainRound = async (tasks: Task[], step: number, base: NamedTensors) => {
    for (const [k, site] of sites.entries()) {
      const receipt = await site.upload(
        { idempotencyKey: `${tasks[k].roundId}-${k}`, roundId: tasks[k].roundId, baseVersionId: tasks[k].globalModel!.versionId, kind: 'segmenter', samples: { realImages: [10, 30][k], replayImages: 0, labelledPixels: 0 }, trainMetrics: {} },
        encodeSafetensors(shifted(base, [0.1, 0.4][k])),
      );
      assert.equal(receipt.state, UploadState.UPLOAD_STATE_ACCEPTED, receipt.reason);
    }
    return until('the round to complete', async () => {
      const r = (await api('GET', `/api/rounds?step=${step}`)).body.find((x: { id: string }) => x.id === tasks[0].roundId);
      return r?.status === 'completed' && r;
    });
  };
  const nextTasks = (kind: TaskKind, after: string) => Promise.all(sites.map((site) => until('the next task', async () => {
    const t = await site.getTask();
    return t.kind === kind && t.roundId !== after && t;
  })));
  const weightsOf = async (versionId: string) => decodeSafetensors(await sites[0].download(versionId)).tensors;
  const noteOf = async (versionId: string): Promise<string> => (await api('GET', '/api/models')).body.find((m: { id: string }) => m.id === versionId).note;
  const assertSame = (actual: NamedTensors, expected: NamedTensors, what: string) => {
    assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), what);
    const got = values(actual);
    for (const [name, want] of Object.entries(values(expected))) assertClose(got[name], want, 1e-6, `${what}: ${name}`);
  };
  /** Runs a step's two segmenter rounds and its evaluation; returns the two rounds' base weights and the last round's result version. */
  const runStep = async (step: number, first: Task[]) => {
    const base0 = await weightsOf(first[0].globalModel!.versionId);
    const round0 = await trainRound(first, step, base0);
    const second = await nextTasks(TaskKind.TASK_KIND_TRAIN_SEGMENTER, first[0].roundId);
    const base1 = await weightsOf(second[0].globalModel!.versionId);
    assertSame(base1, shifted(base0, 0.325), `step ${step}, round 0: FedAvg, not fused`);
    assert.doesNotMatch(await noteOf(round0.resultVersionId), /fused/);
    const round1 = await trainRound(second, step, base1);
    // The step's evaluation round: both sites report, and the step completes.
    const evals = await nextTasks(TaskKind.TASK_KIND_EVALUATE, second[0].roundId);
    for (const [k, site] of sites.entries()) {
      await site.reportEvaluation({ modelVersionId: evals[k].globalModel!.versionId, roundId: evals[k].roundId, images: 1, split: 'test', evaluatedSiteModel: '', classes: [{ classId: 1, truePositive: 1, falsePositive: 0, falseNegative: 0 }] });
    }
    await until(`step ${step} to complete`, async () => (await api('GET', '/api/steps')).body.find((s: { index: number }) => s.index === step)?.status === 'completed');
    return { base0, base1, result: round1.resultVersionId as string };
  };

  test('step 0 (no teacher) is not fused; step 1\'s last aggregate is fused with the grown teacher', { timeout: 90_000 }, async () => {
    const step0 = await runStep(0, await openStepTasks(api, sites, ['liver']));
    const teacher = await weightsOf(step0.result);
    assertSame(teacher, shifted(step0.base1, 0.325), 'step 0, round 1: FedAvg, not fused (no teacher)');
    assert.doesNotMatch(await noteOf(step0.result), /fused/);

    const step1 = await runStep(1, await openStepTasks(api, sites, ['colon']));
    const start = await new TensorModelFactory().growHead(teacher, 2, 3);
    assertSame(step1.base0, start, 'step 1 starts from the teacher with its head grown');
    // 0.25 * start + 0.75 * (FedAvg of the last round)
    const fedavg = shifted(step1.base1, 0.325);
    const expected: NamedTensors = new Map([...fedavg].map(([name, t]) => [name, { shape: t.shape, data: t.data.map((v, i) => FUSION * start.get(name)!.data[i] + (1 - FUSION) * v) }]));
    assertSame(await weightsOf(step1.result), expected, 'step 1, round 1: fused');
    assert.match(await noteOf(step1.result), /^fedavg of 2 updates \(40 samples\)(, by slices)?; fused with the step's start \(\S+, head grown to 3 classes\) at weight 0\.25$/);
  });
});
