import { join } from 'node:path';
import { replayGeneratorConfig, REPLAY_GENERATOR_TRAINING } from '@fedciss/ml';

/** Generator rounds of step 0, and optimizer steps of generator training per site in each
 * round (the generator keeps training across the rounds; at step 1 the sites replay what step 0's
 * rounds made, and later steps keep that generator: the coordinator's laterStepGeneratorRounds). Four rounds of 400 steps rather than one of 1600: the coordinator averages
 * the sites' generators, and three generators trained 1600 steps apart from the same fresh weights
 * average into a field of one colour (purple, blue-grey, mauve: in-process FedAvg of three
 * demo-sized sites, three seeds); averaged every 400 steps, the same 1600 steps keep the scenes'
 * colours and blotches of organs and shafts (200 and 100 steps a round look the same as 400). In
 * the demo itself every site's generator then beat noise at step 1 (replay fidelity 0.75-0.81
 * against 0.46-0.50; one of three did not with one round; eleventh session).
 * Steps, not seconds: a wall-clock budget of 120 s bought each site 32-34 steps on a loaded
 * machine (session 7, load 14, 3.5 s a step) and an untrained generator's noise on the reports
 * page, while the demo's other work is sized by steps and only slows down. 1600 steps a step cost
 * about 170 s with 3 sites on 2 idle cores, each site on one thread (the harness's threadsPerSite;
 * 230-300 s when each spun ONNX Runtime over both cores). More did not make the samples readable
 * (fifteenth session: 4 rounds of 1000 steps, or a 32-64-64 generator, still blurred fields with
 * an instrument shaft in one sample of eight); since the sixteenth session the sites fine-tune a
 * generator pretrained on public scenes (DEMO_PRETRAINED_GENERATOR) instead of growing one from
 * fresh weights.
 * `npm run demo -- --generator-seconds S` gives a wall-clock budget a round instead. */
export const DEMO_GENERATOR_ROUNDS = 4;
export const DEMO_GENERATOR_STEPS = 400;
/** Surgeries in a site's training data at each step, and frames per surgery (x scale). */
export const DEMO_TRAIN_SURGERIES_PER_STEP = 2;
export const DEMO_IMAGES_PER_SURGERY = 12;

/**
 * What `npm run demo` runs: sized to finish in about ten minutes on two cores, and scalable with
 * flags. The federation is the production one (separate processes, mutual TLS, embedded
 * database); only sizes are small.
 */
export interface DemoOptions {
  sites: number;
  /** Multiplies images per surgery, epochs and rounds. */
  scale: number;
  /** Generator training per site and round: optimizer steps (default DEMO_GENERATOR_STEPS x scale),
   * or a wall-clock budget in seconds. */
  generatorBudget?: GeneratorBudget;
  workDir: string;
  /** Stop everything at the end instead of keeping the console up until Ctrl-C. */
  exitAtEnd: boolean;
  httpPort?: number;
}

export const DEMO_SCHEDULE: string[][] = [
  ['liver', 'stomach', 'small_intestine', 'abdominal_wall'],
  ['colon', 'ureter'],
];

/** The frames the demo's hospitals (and the pretrained generator's public corpus) are generated at. */
export const DEMO_FRAME = { width: 160, height: 128 } as const;

/** The demo's segmenter input size [height, width]; the generator works at half of each side. */
export const DEMO_INPUT: [number, number] = [48, 64];

/** The generator the demo's federation starts from, pretrained on public scenes by
 * `npm run pretrain:generator` (e2e/src/pretrain/generator.ts) and committed. */
export const DEMO_PRETRAINED_GENERATOR = join(__dirname, '../../models/demo-generator.safetensors');

export type GeneratorBudget = { steps: number } | { seconds: number };

/** The sites fine-tune the pretrained generator (DEMO_PRETRAINED_GENERATOR) at a fifth of the rate it
 * was trained with: at the recipe's 1e-3, four averaged rounds of 400 steps on three demo sites
 * washed its instrument shafts and organ edges back into pink fields (realism 0.0482); at 2e-4 they
 * kept them (0.0422; sixteenth session, in-process FedAvg from its 9000-step state). */
export const DEMO_GENERATOR_FINE_TUNE_RATE = 2e-4;

/** The coordinator's generatorTraining for a budget. Without a time budget sites train by passes
 * over their step's images (ml trainDiffusion: steps = ceil(epochs x images / batch)), so a step
 * budget is the passes that make at least that many batches of the demo's images. */
export function demoGeneratorTraining(budget: GeneratorBudget, imagesPerSite: number) {
  const { batchSize } = REPLAY_GENERATOR_TRAINING;
  const learningRate = DEMO_GENERATOR_FINE_TUNE_RATE;
  if ('seconds' in budget) return { epochs: 1, seconds: budget.seconds, batchSize, learningRate };
  return { epochs: Math.ceil((budget.steps * batchSize) / imagesPerSite), seconds: 0, batchSize, learningRate };
}

export function demoTraining(scale: number, generatorBudget: GeneratorBudget = { steps: DEMO_GENERATOR_STEPS * scale }) {
  return {
    localEpochs: 12 * scale,
    batchSize: 8,
    learningRate: 1e-2,
    replayImages: 16 * scale,
    // The loss weights and server-side distillation are the coordinator's defaults: the recipe
    // bench:ciss measured as "ours".
    segmenter: { width: 16, depth: 2, inputSize: DEMO_INPUT, embedDim: 16, groups: 4 },
    // The replay recipe measured by bench:replay (ml/src/diffusion/recipe.ts), trained for a step
    // budget per generator round; it keeps training across step 0's rounds.
    generator: { ...replayGeneratorConfig(DEMO_INPUT) },
    generatorTraining: demoGeneratorTraining(generatorBudget, DEMO_TRAIN_SURGERIES_PER_STEP * DEMO_IMAGES_PER_SURGERY * scale),
  };
}

/** The round deadline is long because rounds are sized by steps, and a loaded machine takes longer
 * for them (a site that dies is dropped by the heartbeat timeout, not by the deadline). */
export function demoRounds(scale: number): string[] {
  return ['--quorum', '2', '--segmenter-rounds', String(6 * scale), '--generator-rounds', String(DEMO_GENERATOR_ROUNDS), '--deadline', '3600', '--tick-ms', '250', '--heartbeat-timeout', '20'];
}
