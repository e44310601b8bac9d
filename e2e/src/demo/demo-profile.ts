import { replayGeneratorConfig, REPLAY_GENERATOR_TRAINING } from '@fedciss/ml';

/** Seconds of generator training per site in each step's generator round (the generator keeps
 * training across steps; at step 1 the sites replay what step 0's round made). 120 s keeps the
 * demo near twelve minutes but buys each of 3 sites on 2 cores at most ~840 steps (an estimate:
 * 2/3 of a core each, 0.095 CPU s a step at 24x32 single-threaded in bench:replay). bench:replay
 * met its fidelity goal with ONE generator of 3000 steps on 96 images (~285 CPU s): about 430 s
 * per site with 3 sites on 2 cores, i.e.
 * `npm run demo -- --generator-seconds 430` (about ten minutes longer; not measured in the demo). */
export const DEMO_GENERATOR_SECONDS = 120;
/** Sites whose replay fidelity is below this skip replay. On these scenes teacher-labelled noise
 * already scores about 0.5 in bench:replay (colour maps to class), so the threshold alone would
 * pass noise: sites also skip replay unless the generator beats the same student taught on its
 * own untrained samples (noise) by a margin (ml replay/check.ts). */
export const DEMO_FIDELITY_THRESHOLD = 0.3;

/**
 * What `npm run demo` runs: sized to finish in about ten minutes on two cores, and scalable with
 * flags. The federation is the production one (separate processes, mutual TLS, embedded
 * database); only sizes are small.
 */
export interface DemoOptions {
  sites: number;
  /** Multiplies images per surgery, epochs and rounds. */
  scale: number;
  /** Generator training per site and round, seconds (default DEMO_GENERATOR_SECONDS x scale). */
  generatorSeconds?: number;
  workDir: string;
  /** Stop everything at the end instead of keeping the console up until Ctrl-C. */
  exitAtEnd: boolean;
  httpPort?: number;
}

export const DEMO_SCHEDULE: string[][] = [
  ['liver', 'stomach', 'small_intestine', 'abdominal_wall'],
  ['colon', 'ureter'],
];

/** The demo's segmenter input size [height, width]; the generator works at half of each side. */
const DEMO_INPUT: [number, number] = [48, 64];

export function demoTraining(scale: number, generatorSeconds = DEMO_GENERATOR_SECONDS * scale) {
  return {
    localEpochs: 12 * scale,
    batchSize: 8,
    learningRate: 1e-2,
    replayImages: 16 * scale,
    serverDistillSteps: 5,
    // kd 10: MiB's weight for its KD averaged over the old classes (ml's unbiasedDistillation).
    lossWeights: { ce: 1, kd: 10, pod: 0.5, contrastive: 0 }, // contrastive off: no measurable effect in bench:ciss
    segmenter: { width: 16, depth: 2, inputSize: DEMO_INPUT, embedDim: 16, groups: 4 },
    // The replay recipe measured by bench:replay (ml/src/diffusion/recipe.ts), trained for a
    // wall-clock budget per generator round; it keeps training across rounds and steps.
    generator: { ...replayGeneratorConfig(DEMO_INPUT) },
    generatorTraining: { epochs: 1, seconds: generatorSeconds, batchSize: REPLAY_GENERATOR_TRAINING.batchSize, learningRate: REPLAY_GENERATOR_TRAINING.learningRate },
    replayFidelityThreshold: DEMO_FIDELITY_THRESHOLD,
  };
}

export function demoRounds(scale: number): string[] {
  return ['--quorum', '2', '--segmenter-rounds', String(6 * scale), '--generator-rounds', '1', '--deadline', '600', '--tick-ms', '250', '--heartbeat-timeout', '20'];
}
