/**
 * What `npm run demo` runs: sized to finish in about ten minutes on two cores, and scalable with
 * flags. The federation is the production one (separate processes, mutual TLS, embedded
 * database); only sizes are small.
 */
export interface DemoOptions {
  sites: number;
  /** Multiplies images per surgery, epochs and rounds. */
  scale: number;
  workDir: string;
  /** Stop everything at the end instead of keeping the console up until Ctrl-C. */
  exitAtEnd: boolean;
  httpPort?: number;
}

export const DEMO_SCHEDULE: string[][] = [
  ['liver', 'stomach', 'small_intestine', 'abdominal_wall'],
  ['colon', 'ureter'],
];

export function demoTraining(scale: number) {
  return {
    localEpochs: 12 * scale,
    batchSize: 8,
    learningRate: 1e-2,
    replayImages: 16 * scale,
    serverDistillSteps: 5,
    // kd 10: MiB's weight for its KD averaged over the old classes (ml's unbiasedDistillation).
    lossWeights: { ce: 1, kd: 10, pod: 0.5, contrastive: 0 }, // contrastive off: no measurable effect in bench:ciss
    segmenter: { width: 16, depth: 2, inputSize: [48, 64], embedDim: 16, groups: 4 },
    generator: { imageSize: 16, baseChannels: 16, channelMults: [1, 2], attentionResolutions: [], groups: 4 },
    generatorTraining: { epochs: 4 * scale, batchSize: 8, learningRate: 1e-3 },
  };
}

export function demoRounds(scale: number): string[] {
  return ['--quorum', '2', '--segmenter-rounds', String(6 * scale), '--generator-rounds', '1', '--deadline', '600', '--tick-ms', '250', '--heartbeat-timeout', '20'];
}
