/**
 * What a Task carries to a site's learning, read from its typed fields into ml's types: the
 * segmenter architecture the coordinator expects, and the local training's hyper-parameters
 * (loss weights one field per term, FedProx's mu, the pseudo-label switch, the schedule). The
 * object literals below are checked against both sides (proto's message and ml's type), so a
 * loss term added on one side and not the other does not compile.
 */
import { segmenterConfig, type LocalTrainHyper, type LossWeights, type SegmenterConfig } from '@fedciss/ml';
import type { LossWeights as TaskLossWeights, Task } from '@fedciss/proto';

export class TaskContractError extends Error {
  override readonly name = 'TaskContractError';
}

function hyperOf(task: Task): NonNullable<Task['hyperParameters']> {
  if (!task.hyperParameters) throw new TaskContractError(`task of round ${task.roundId} carries no hyper-parameters`);
  return task.hyperParameters;
}

/** The segmenter's architecture as the task states it. */
export function segmenterArchitectureOf(task: Task): SegmenterConfig {
  const a = hyperOf(task).segmenterArchitecture;
  if (!a) throw new TaskContractError(`task of round ${task.roundId} carries no segmenter architecture`);
  if (a.inputSize.length !== 2) throw new TaskContractError(`task of round ${task.roundId}: segmenter inputSize must be [height, width], got [${a.inputSize.join(', ')}]`);
  if (a.norm !== 'group' && a.norm !== 'batch') throw new TaskContractError(`task of round ${task.roundId}: segmenter norm must be 'group' or 'batch', got '${a.norm}'`);
  return segmenterConfig({ inChannels: a.inChannels, width: a.width, depth: a.depth, inputSize: [a.inputSize[0], a.inputSize[1]], embedDim: a.embedDim, norm: a.norm, groups: a.groups });
}

/** The task's loss weights; a weight that is negative or not a number (a coordinator's bug) is refused by name, not trained with. */
function lossWeightsOf(w: TaskLossWeights, roundId: string): LossWeights {
  for (const [term, weight] of Object.entries(w)) {
    if (!(Number.isFinite(weight) && weight >= 0)) throw new TaskContractError(`task of round ${roundId}: loss weight ${term} must be a finite number ≥ 0, got ${weight}`);
  }
  return { ce: w.ce, unbiasedCe: w.unbiasedCe, separatedCe: w.separatedCe, replayCe: w.replayCe, kd: w.kd, pod: w.pod, contrastive: w.contrastive, dice: w.dice } satisfies Record<keyof TaskLossWeights, number>;
}

/** The local training's hyper-parameters of a TRAIN_SEGMENTER task. */
export function localTrainHyperOf(task: Task): LocalTrainHyper {
  const hp = hyperOf(task);
  if (!hp.lossWeights) throw new TaskContractError(`task of round ${task.roundId} carries no loss weights`);
  return {
    epochs: hp.localEpochs,
    batchSize: hp.batchSize,
    learningRate: hp.learningRate,
    lossWeights: lossWeightsOf(hp.lossWeights, task.roundId),
    fedproxMu: hp.fedproxMu,
    pseudoLabels: hp.pseudoLabels,
    pseudoLabelThreshold: hp.pseudoLabelThreshold,
    // 0 (unset: step 0, or a coordinator older than the field): ml's default share.
    ...(hp.replayFraction > 0 ? { replayFraction: hp.replayFraction } : {}),
    // A round retried after a failure keeps the last slot of the step's schedule.
    schedule: { round: task.roundIndex, rounds: hp.roundsInStep || 1 },
    warmupFraction: hp.warmupFraction,
  };
}
