/** The replay generator's recipe, measured with bench:replay (see the issue note): the generator
 * works at half the segmenter's input size with the same aspect ratio (the teacher and the
 * student see it upsampled), predicts the velocity, and trains with min-SNR weighting for a
 * wall-clock budget. One place, so the demo, bench:ciss and the coordinator's defaults agree. */
import { diffusionConfig, type DiffusionConfig } from './unet';

/** How a site trains the generator in a round. */
export interface GeneratorTraining {
  /** Wall-clock budget of a round's training, seconds (0: use `epochs`). */
  readonly seconds: number;
  /** Passes over the site's images when no time budget is set. */
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly lossWeighting: 'uniform' | 'min-snr';
  /** gamma of min-SNR weighting (lower: less weight on the nearly clean, detail-level steps). */
  readonly minSnrGamma: number;
  readonly emaDecay: number;
}

/** A round's budget is a quarter of the former 600 s: the coordinator averages the sites'
 * generators after every round, and generators trained far apart from fresh weights average into
 * a field of one colour (three demo-sized sites, 1600 steps each: purple, blue-grey and mauve
 * fields on three seeds; averaged every 400 steps, the scenes' colours with blotches of organs and
 * shafts; eleventh session). The coordinator's default is four generator rounds a step, 600 s in all. */
export const REPLAY_GENERATOR_TRAINING: GeneratorTraining = {
  seconds: 150,
  epochs: 0,
  batchSize: 16,
  learningRate: 1e-3,
  lossWeighting: 'min-snr',
  minSnrGamma: 5,
  emaDecay: 0.995,
};

/** DDIM steps for replay sets and server-side distillation with this recipe. */
export const REPLAY_SAMPLING_STEPS = 20;

/** A replay set of N images is chosen from N x this many samples, balanced over the classes the
 * teacher labels in them (replay/balance.ts): sampling is cheap (DDIM 20 at the generator's size),
 * a student that never sees a class in its replay images forgets it. Measured in bench:replay: see
 * docs/benchmarks/replay.md. */
export const REPLAY_POOL_FACTOR = 4;

/** The generator for a segmenter of input size [height, width]: half of each side (rounded to a
 * multiple of the U-Net's 4x downsampling), widths 16-32-32, v-prediction. */
export function replayGeneratorConfig(inputSize: readonly [number, number], overrides: Partial<DiffusionConfig> = {}): DiffusionConfig {
  const half = (n: number) => Math.max(4, Math.round(n / 2 / 4) * 4);
  return diffusionConfig({
    imageSize: half(inputSize[0]),
    imageWidth: half(inputSize[1]),
    channels: 3,
    baseChannels: 16,
    channelMults: [1, 2, 2],
    resBlocks: 1,
    attentionResolutions: [],
    groups: 8,
    prediction: 'v',
    schedule: { kind: 'cosine', timesteps: 1000 },
    ...overrides,
  });
}
