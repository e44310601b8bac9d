/** A tiny step-1 task for tests of a site's local training (MlSiteWork): its settings, the blobs
 * it names, and a site's generated DSAD data. */
import { join } from 'node:path';
import { createDiffusionWeights, createSegmenterWeights, diffusionConfig, encodeSafetensors, segmenterConfig, type NamedTensors } from '@fedciss/ml';
import type { HyperParameters, Task } from '@fedciss/proto';
import type { ModelFetcher } from '../agent/run-loop';
import { generateSynthetic } from '../synthetic/generate';

const SEG = segmenterConfig({ width: 4, depth: 1, inputSize: [16, 24], embedDim: 4, groups: 2 });
const GEN = diffusionConfig({ imageSize: 8, imageWidth: 12, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4, prediction: 'v' });
export const HYPER: HyperParameters = {
  localEpochs: 1, batchSize: 4, learningRate: 0.01, fedproxMu: 0, imageSize: 16, replayImages: 8, pseudoLabelThreshold: 0.7,
  differentialPrivacy: undefined, roundsInStep: 1, generatorSeconds: 0, replayCheck: true, replayFidelityThreshold: 0, replayFraction: 0, replayBelowOldClassShare: 0.04, warmupFraction: 0,
  lossWeights: { ce: 1, unbiasedCe: 0, separatedCe: 0, replayCe: 0, kd: 1, pod: 0, contrastive: 0, dice: 0 }, pseudoLabels: undefined,
  segmenterArchitecture: { inChannels: 3, width: 4, depth: 1, inputSize: [16, 24], embedDim: 4, norm: 'group', groups: 2 },
};

/** A step-1 task with an untrained generator (its samples are noise), and the blobs it names. */
export function noiseGeneratorTask(hyper: HyperParameters = HYPER): { task: Task; fetch: ModelFetcher } {
  const seg = (w: NamedTensors, k: number) => encodeSafetensors(w, { kind: 'segmenter', numClasses: String(k), config: JSON.stringify(SEG) });
  const blobs: Record<string, Buffer> = {
    teacher: seg(createSegmenterWeights(SEG, 2, 1), 2),
    global: seg(createSegmenterWeights(SEG, 3, 1), 3),
    gen: encodeSafetensors(createDiffusionWeights(GEN, 3), { kind: 'generator', numClasses: '0', config: JSON.stringify(GEN) }),
  };
  const ref = (versionId: string) => ({ versionId, kind: '', sha256: '', sizeBytes: 0 });
  const task = {
    roundId: 'r1', roundIndex: 0, step: 1, newClassIds: [2],
    roster: [{ id: 0, name: 'background' }, { id: 1, name: 'liver' }, { id: 2, name: 'abdominal_wall' }],
    globalModel: ref('global'), teacherModel: ref('teacher'), generator: ref('gen'), hyperParameters: hyper,
  } as unknown as Task;
  return { task, fetch: async (r) => blobs[r!.versionId] };
}

/** Two generated surgeries (01 to train, 02 to test), fully annotated, under `base`/data. */
export async function siteData(base: string): Promise<string> {
  const data = join(base, 'data');
  await generateSynthetic({ out: data, surgeries: 2, surgeryIds: ['01', '02'], seed: 5, size: { width: 48, height: 32 }, imagesPerSurgery: 6, multilabelFraction: 1 });
  return data;
}
