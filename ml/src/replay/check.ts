/** A site's go/no-go for replay: does the generator teach the old classes better than noise does?
 *
 * Raw fidelity cannot decide it: where colour separates the classes (the project's synthetic
 * scenes) a student taught on teacher-labelled gaussian noise already reaches fidelity ~0.5, above
 * any fixed threshold a generator is likely to clear. So the same student (same recipe, same seed)
 * is also trained on as many teacher-labelled noise images of the same size, and replay is used
 * only when the generator beats that floor by a margin (and clears the absolute threshold). The
 * noise is best the same generator's samples with fresh weights (untrainedSamples): in
 * bench:replay an untrained generator's saturated noise taught more than gaussian noise, and
 * gaussian more than the real images' pixels shuffled; so "did training the generator help" is
 * the question the floor asks. */
import { imageList } from '../diffusion/images';
import { sampleImages } from '../diffusion/sample';
import { createDiffusionWeights, diffusionGeometry, type DiffusionConfig } from '../diffusion/unet';
import type { SegImage, SegSample } from '../incremental/samples';
import type { ConfusionCounts } from '../metrics/confusion';
import type { RuntimeOptions } from '../runtime/session';
import { evaluateSegmenter, type ModelRef } from '../segmentation/predict';
import { noiseImages, replayFidelity, type FidelityResult, type StudentRecipe } from './fidelity';

/** How far above the noise floor (in fidelity) a generator must be for its replay to be used. The
 * two students share their seed and recipe, so their difference is less noisy than either alone;
 * student seeds moved the floor by sd 0.06 (bench:replay, see the issue note). */
export const REPLAY_NOISE_MARGIN = 0.05;

export interface ReplayCheckOptions {
  readonly teacher: ModelRef;
  /** The generator's images (any size; the noise images get the same size). */
  readonly images: readonly SegImage[];
  /** The floor's images, as many as `images` and of their size: best the samples of the same
   * generator with fresh, untrained weights (untrainedSamples), the strongest noise measured;
   * default gaussian noise. */
  readonly floor?: readonly SegImage[];
  /** Real labelled images of the teacher's classes the students are scored on. */
  readonly test: readonly SegSample[];
  readonly student?: Partial<StudentRecipe>;
  readonly labels?: 'hard' | 'soft';
  readonly confidenceThreshold?: number;
  /** Replay is skipped below this fidelity whatever the floor (0: no absolute threshold). */
  readonly threshold?: number;
  /** Default REPLAY_NOISE_MARGIN. */
  readonly margin?: number;
  readonly seed: number;
  readonly runtime?: RuntimeOptions;
}

export interface ReplayCheck {
  /** The student of the generator's images. */
  readonly generator: FidelityResult;
  /** The same student of teacher-labelled noise: the floor. */
  readonly noise: FidelityResult;
  readonly margin: number;
  /** True when replay should not be used: fidelity < noise fidelity + margin, or < threshold. */
  readonly skip: boolean;
  /** Why, in words (for the site's log). */
  readonly reason: string;
  /** Wall seconds the noise student added. */
  readonly noiseSeconds: number;
}

export async function replayCheck(o: ReplayCheckOptions): Promise<ReplayCheck> {
  if (!o.images.length) throw new Error('replayCheck: no generated images');
  const { height, width } = o.images[0];
  const channels = o.images[0].image.length / (height * width);
  const teacherCounts: ConfusionCounts = await evaluateSegmenter({ ...o.teacher, runtime: o.runtime }, o.test);
  const common = { teacher: o.teacher, test: o.test, student: o.student, labels: o.labels, confidenceThreshold: o.confidenceThreshold, seed: o.seed, runtime: o.runtime, teacherCounts };
  const generator = await replayFidelity({ ...common, images: o.images });
  const t0 = Date.now();
  const floor = o.floor ?? noiseImages(o.images.length, { channels, height, width }, o.seed ^ 0x6e6f);
  const noise = await replayFidelity({ ...common, images: floor });
  const noiseSeconds = (Date.now() - t0) / 1000;
  const margin = o.margin ?? REPLAY_NOISE_MARGIN;
  const threshold = o.threshold ?? 0;
  const belowFloor = generator.fidelity < noise.fidelity + margin;
  const belowThreshold = generator.fidelity < threshold;
  const f = (v: number) => v.toFixed(3);
  const reason = belowFloor
    ? `fidelity ${f(generator.fidelity)} is not above teacher-labelled noise's ${f(noise.fidelity)} by ${margin}`
    : belowThreshold
      ? `fidelity ${f(generator.fidelity)} is below the threshold ${threshold}`
      : `fidelity ${f(generator.fidelity)} beats teacher-labelled noise's ${f(noise.fidelity)} by ${f(generator.fidelity - noise.fidelity)}`;
  return { generator, noise, margin, skip: belowFloor || belowThreshold, reason, noiseSeconds };
}

/** `count` samples of a generator with fresh weights (seeded), drawn the way replay draws them
 * (DDIM, `samplingSteps`, eta 0): what the generator makes before it has learnt anything. */
export async function untrainedSamples(config: DiffusionConfig, count: number, samplingSteps: number, seed: number, runtime?: RuntimeOptions): Promise<SegImage[]> {
  const { channels, height, width } = diffusionGeometry(config);
  const stack = await sampleImages({ config, weights: createDiffusionWeights(config, seed), count, steps: samplingSteps, seed: seed + 1, runtime });
  return imageList(stack, channels * height * width).map((image) => ({ image, height, width }));
}
