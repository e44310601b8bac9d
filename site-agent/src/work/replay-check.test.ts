import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiffusionWeights, createSegmenterWeights, diffusionConfig, encodeSafetensors, loadReplaySet, segmenterConfig, type NamedTensors } from '@fedciss/ml';
import { ReplaySkipReason, type HyperParameters, type Task } from '@fedciss/proto';
import { loadAgentConfig } from '../config/agent-config';
import { generateSynthetic } from '../synthetic/generate';
import type { ModelFetcher } from '../agent/run-loop';
import { MlSiteWork } from './ml-site-work';

const SEG = segmenterConfig({ width: 4, depth: 1, inputSize: [16, 24], embedDim: 4, groups: 2 });
const GEN = diffusionConfig({ imageSize: 8, imageWidth: 12, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4, prediction: 'v' });
const HYPER: HyperParameters = {
  localEpochs: 1, batchSize: 4, learningRate: 0.01, fedproxMu: 0, imageSize: 16, replayImages: 8, pseudoLabelThreshold: 0.7,
  differentialPrivacy: undefined, roundsInStep: 1, generatorSeconds: 0, replayCheck: true, replayFidelityThreshold: 0, replayFraction: 0, replayBelowOldClassShare: 0.04,
  lossWeights: { ce: 1, unbiasedCe: 0, kd: 1, pod: 0, contrastive: 0, dice: 0 }, pseudoLabels: undefined,
  segmenterArchitecture: { inChannels: 3, width: 4, depth: 1, inputSize: [16, 24], embedDim: 4, norm: 'group', groups: 2 },
};

/** A step-1 task with an untrained generator (its samples are noise), and the blobs it names. */
function noiseGeneratorTask(hyper: HyperParameters = HYPER): { task: Task; fetch: ModelFetcher } {
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

async function siteData(base: string): Promise<string> {
  const data = join(base, 'data');
  await generateSynthetic({ out: data, surgeries: 2, surgeryIds: ['01', '02'], seed: 5, size: { width: 48, height: 32 }, imagesPerSurgery: 6, multilabelFraction: 1 });
  return data;
}

test('a site skips replay from a generator of pure noise without any absolute threshold: the same student on teacher-labelled noise does as well; the check travels typed', async () => {
  const base = await mkdtemp(join(tmpdir(), 'replay-check-'));
  try {
    const config = loadAgentConfig({ flags: { siteName: 'A', dataRoot: await siteData(base), workDir: join(base, 'work'), trainSurgeries: ['01'], testSurgeries: ['02'], threads: 1 } });
    const { task, fetch } = noiseGeneratorTask();
    const work = new MlSiteWork(config, () => undefined);
    const update = await work.trainSegmenter(task, fetch, () => undefined);
    const c = update.replayCheck;
    assert.ok(c, 'the update carries its replay check');
    assert.equal(c.skipped, true, `fidelity ${c.fidelity}, noise ${c.noiseFidelity}, margin ${c.margin}`);
    assert.equal(c.skipReason, ReplaySkipReason.REPLAY_SKIP_REASON_LOW_FIDELITY);
    assert.ok(c.oldClassShare >= 0 && c.oldClassShare <= 1, `old-class share ${c.oldClassShare}`);
    assert.ok(c.fidelity < c.noiseFidelity + c.margin);
    assert.ok(c.noiseSeconds > 0);
    assert.equal(update.samples.replayImages, 0, 'skipped: no replay image in the training');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('with the replay check off a site replays from the same noise generator, unmeasured', async () => {
  const base = await mkdtemp(join(tmpdir(), 'replay-unchecked-'));
  try {
    const config = loadAgentConfig({ flags: { siteName: 'A', dataRoot: await siteData(base), workDir: join(base, 'work'), trainSurgeries: ['01'], testSurgeries: ['02'], threads: 1 } });
    const { task, fetch } = noiseGeneratorTask({ ...HYPER, replayCheck: false });
    const update = await new MlSiteWork(config, () => undefined).trainSegmenter(task, fetch, () => undefined);
    assert.equal(update.replayCheck, undefined, 'no check, no figures');
    assert.ok(update.samples.replayImages > 0, 'replay images in the training');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('each site draws its own replay images from the same global generator', async () => {
  const base = await mkdtemp(join(tmpdir(), 'replay-sites-'));
  try {
    const data = await siteData(base);
    const { task, fetch } = noiseGeneratorTask();
    const images: Float32Array[] = [];
    for (const site of ['A', 'B']) {
      const workDir = join(base, `work-${site}`);
      const config = loadAgentConfig({ flags: { siteName: site, dataRoot: data, workDir, trainSurgeries: ['01'], testSurgeries: ['02'], threads: 1 } });
      await new MlSiteWork(config, () => undefined).trainSegmenter(task, fetch, () => undefined);
      const set = await loadReplaySet(join(workDir, 'replay', 'step-1'));
      assert.ok(set, `site ${site} kept its replay set`);
      images.push(set.images);
    }
    assert.equal(images[0].length, images[1].length);
    // With one sampling seed for every site, both drew these images exactly alike.
    assert.notDeepEqual(images[0], images[1]);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
