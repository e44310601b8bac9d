/**
 * Settings for whole-federation tests on 2 cores: a small segmenter and generator at a small
 * resolution, few images, short rounds. The machinery is the production one; only sizes shrink.
 */
import type { FederationOptions } from './federation';

export const TINY_TRAINING = {
  localEpochs: 1,
  batchSize: 4,
  learningRate: 1e-3,
  replayImages: 8,
  serverDistillSteps: 2,
  crossSiteEvaluation: true,
  segmenter: { width: 8, depth: 2, inputSize: [32, 40], embedDim: 8, groups: 4 },
  generator: { imageSize: 16, baseChannels: 8, channelMults: [1, 2], attentionResolutions: [], groups: 4 },
  generatorTraining: { epochs: 1, batchSize: 4, learningRate: 5e-4 },
  // The replay check trains two students per site at step 1: the demo shows it; these tests stay short.
  replayCheck: false,
};

export function tinyFederation(workDir: string, overrides: Partial<FederationOptions> = {}): FederationOptions {
  return {
    workDir,
    sites: 3,
    tls: true,
    trainSurgeriesPerStep: 1,
    steps: 2,
    testSurgeries: 1,
    imagesPerSurgery: 3,
    imageSize: { width: 80, height: 64 },
    seed: 7,
    // A site's heartbeat can lag while its training holds the event loop on a busy 2-core machine;
    // 20 s keeps such a site in the next round (the faults test sets its own, shorter timeout).
    // One generator round a step, step 1's included (--later-step-generator-rounds): the happy path
    // and the privacy test follow a generator trained on through the steps.
    coordinatorFlags: ['--quorum', '2', '--segmenter-rounds', '2', '--generator-rounds', '1', '--later-step-generator-rounds', '1', '--deadline', '240', '--tick-ms', '200', '--heartbeat-timeout', '20'],
    training: TINY_TRAINING,
    ...overrides,
  };
}
