import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HyperParameters, Task } from '@fedciss/proto';
import { localTrainHyperOf, segmenterArchitectureOf, TaskContractError } from './task-contract';

const ARCH = { inChannels: 3, width: 8, depth: 2, inputSize: [32, 48], embedDim: 8, norm: 'group', groups: 4 };
const HYPER: HyperParameters = {
  localEpochs: 2, batchSize: 4, learningRate: 0.01, fedproxMu: 0.1, imageSize: 32, replayImages: 0, pseudoLabelThreshold: 0.7,
  differentialPrivacy: undefined, roundsInStep: 3, generatorSeconds: 0, replayCheck: false, replayFidelityThreshold: 0, replayFraction: 0.25, replayBelowOldClassShare: 0.04, warmupFraction: 0.1,
  lossWeights: { ce: 1, unbiasedCe: 0, separatedCe: 0.75, replayCe: 0.25, kd: 10, pod: 0.5, contrastive: 0, dice: 0.5 }, pseudoLabels: undefined, segmenterArchitecture: ARCH,
};
const task = (hp: Partial<HyperParameters> | undefined): Task => ({ roundId: 'r1', roundIndex: 1, hyperParameters: hp && { ...HYPER, ...hp } } as Task);

test("a task's typed fields become ml's configuration and hyper-parameters", () => {
  assert.deepEqual(segmenterArchitectureOf(task({})), { ...ARCH, inputSize: [32, 48] });
  const h = localTrainHyperOf(task({}));
  assert.deepEqual(h.lossWeights, { ce: 1, unbiasedCe: 0, separatedCe: 0.75, replayCe: 0.25, kd: 10, pod: 0.5, contrastive: 0, dice: 0.5 });
  assert.equal(h.fedproxMu, 0.1);
  assert.equal(h.pseudoLabels, undefined, 'unset: the site default');
  assert.deepEqual(h.schedule, { round: 1, rounds: 3 });
  assert.equal(h.replayFraction, 0.25);
  assert.equal(h.warmupFraction, 0.1);
  assert.ok(!('replayFraction' in localTrainHyperOf(task({ replayFraction: 0 }))), '0 (unset on the wire): ml default share');
});

test('a task missing a part or with a bad architecture is refused, naming the round and the field', () => {
  assert.throws(() => localTrainHyperOf(task(undefined)), (e: Error) => e instanceof TaskContractError && /round r1 carries no hyper-parameters/.test(e.message));
  assert.throws(() => localTrainHyperOf(task({ lossWeights: undefined })), /round r1 carries no loss weights/);
  // An absent double reaches the wire as NaN (how a coordinator once sent a step's weights that were added after it opened).
  assert.throws(() => localTrainHyperOf(task({ lossWeights: { ...HYPER.lossWeights!, dice: NaN } })), (e: Error) => e instanceof TaskContractError && /round r1: loss weight dice must be a finite number ≥ 0, got NaN/.test(e.message));
  assert.throws(() => localTrainHyperOf(task({ lossWeights: { ...HYPER.lossWeights!, kd: -1 } })), /loss weight kd must be a finite number ≥ 0, got -1/);
  assert.throws(() => segmenterArchitectureOf(task({ segmenterArchitecture: undefined })), /carries no segmenter architecture/);
  assert.throws(() => segmenterArchitectureOf(task({ segmenterArchitecture: { ...ARCH, norm: 'layer' } })), /norm must be 'group' or 'batch', got 'layer'/);
  assert.throws(() => segmenterArchitectureOf(task({ segmenterArchitecture: { ...ARCH, inputSize: [32] } })), /inputSize must be \[height, width\]/);
});
