/** Replay fidelity: whether a generator's images, labelled by the teacher, carry the teacher's
 * classes. A fresh segmenter (the student) is trained ONLY on teacher-labelled generated images
 * and scored on real labelled images; fidelity = student mIoU / teacher mIoU on those images.
 * Read it against its floor and ceiling, never alone: where colour separates the classes (the
 * project's synthetic scenes), teacher-labelled gaussian noise already teaches a colour-to-class
 * map worth fidelity 0.47-0.52 (foreground 0.26-0.33), and teacher-labelled real images reach
 * 0.65-0.86 depending on the teacher (bench:replay, which reports both, over student seeds with
 * --floor-seeds, and the share of the gap a generator closes). Sites compare against the floor
 * (check.ts).
 * Sites measure it on their validation patients; bench:replay on held-out scenes.
 *
 * This module joins the two halves of the platform (diffusion and segmentation) so that neither
 * has to know the other. */
import { gaussianSource } from '../diffusion/images';
import { seededRandom } from '../init/initializers';
import type { SegImage, SegSample } from '../incremental/samples';
import { trainLocalSegmenter } from '../incremental/train';
import { meanIoU, perClassIoU, type ConfusionCounts } from '../metrics/confusion';
import { IGNORE_LABEL } from '../nn/losses';
import type { RuntimeOptions } from '../runtime/session';
import { createSegmenterWeights, type SegmenterConfig } from '../segmentation/network';
import { evaluateSegmenter, labelWithTeacher, type ModelRef } from '../segmentation/predict';

export interface StudentRecipe {
  /** Optimizer steps (equal budget whatever the number of images); default 300. */
  readonly steps: number;
  /** Default 8. */
  readonly batchSize: number;
  /** Default 1e-2 (SGD with poly decay, the local recipe's optimizer). */
  readonly learningRate: number;
}

export const DEFAULT_STUDENT: StudentRecipe = { steps: 300, batchSize: 8, learningRate: 1e-2 };

export interface FidelityOptions {
  /** The model that labels the generated images (and whose score is the reference). */
  readonly teacher: ModelRef;
  /** Generated images, any size (resized to the segmenter's input), values in [0, 1]. */
  readonly images: readonly SegImage[];
  /** Real labelled images the student and the teacher are scored on (labels over the teacher's
   * classes; 255 = not annotated). */
  readonly test: readonly SegSample[];
  /** Teacher pixels below this confidence are not taught (default 0.7, as in replay sets); only
   * for 'hard' labels. */
  readonly confidenceThreshold?: number;
  /** What the student learns from the teacher: 'hard' (default) cross-entropy on its confident
   * argmax labels, or 'soft' distillation of its whole output distribution on every pixel (what a
   * site's local training does with replay images: the kd term). Both are "labelled by the
   * teacher"; soft also carries the teacher's doubt. */
  readonly labels?: 'hard' | 'soft';
  readonly student?: Partial<StudentRecipe>;
  /** The student's architecture; default the teacher's. */
  readonly studentConfig?: SegmenterConfig;
  readonly seed?: number;
  readonly runtime?: RuntimeOptions;
  /** Teacher's confusion counts on `test`, when the caller has them already (saves a pass). */
  readonly teacherCounts?: ConfusionCounts;
}

export interface FidelityResult {
  /** mIoU in [0, 1] over background and the teacher's classes present in `test`. */
  readonly teacherMiou: number;
  readonly studentMiou: number;
  /** studentMiou / teacherMiou (0 when the teacher scores 0). */
  readonly fidelity: number;
  /** The same ratio over the teacher's classes without background: background is most pixels and
   * easy, so this one moves more with how well the organs themselves are carried. */
  readonly foregroundFidelity: number;
  readonly teacherIou: (number | null)[];
  readonly studentIou: (number | null)[];
  /** Fraction of the generated pixels the teacher labelled confidently. */
  readonly labelledFraction: number;
  readonly studentSeconds: number;
}

/** Trains a student on teacher-labelled `images` and scores it against the teacher on `test`. */
export async function replayFidelity(o: FidelityOptions): Promise<FidelityResult> {
  if (!o.images.length) throw new Error('replayFidelity: no generated images');
  if (!o.test.length) throw new Error('replayFidelity: no real images to score on');
  const recipe = { ...DEFAULT_STUDENT, ...o.student };
  const K = o.teacher.numClasses;
  const config = o.studentConfig ?? o.teacher.config;
  const soft = o.labels === 'soft';
  const labelled = await labelWithTeacher({ ...o.teacher, runtime: o.runtime }, o.images, { threshold: o.confidenceThreshold ?? 0.7 });
  let kept = 0;
  let total = 0;
  for (const s of labelled) {
    total += s.label.length;
    for (const l of s.label) if (l !== IGNORE_LABEL) kept++;
  }
  const t0 = Date.now();
  const trained = await trainLocalSegmenter({
    config,
    weights: createSegmenterWeights(config, K, o.seed ?? 1),
    numClasses: K,
    // Soft: the teacher runs on every (augmented) batch and the student matches its distribution.
    teacher: soft ? { weights: o.teacher.weights, numClasses: K } : undefined,
    real: labelled,
    hyper: {
      epochs: 1,
      stepsPerEpoch: recipe.steps,
      batchSize: recipe.batchSize,
      learningRate: recipe.learningRate,
      lossWeights: soft ? { ce: 0, unbiasedCe: 0, kd: 1, pod: 0, contrastive: 0 } : { ce: 1, unbiasedCe: 0, kd: 0, pod: 0, contrastive: 0 },
      pseudoLabels: false,
    },
    seed: o.seed ?? 1,
    runtime: o.runtime,
  });
  const studentSeconds = (Date.now() - t0) / 1000;
  const teacherCm = o.teacherCounts ?? (await evaluateSegmenter({ ...o.teacher, runtime: o.runtime }, o.test));
  const studentCm = await evaluateSegmenter({ config, weights: trained.weights, numClasses: K, runtime: o.runtime }, o.test);
  const teacherMiou = meanIoU(teacherCm) ?? 0;
  const studentMiou = meanIoU(studentCm) ?? 0;
  const foreground = Array.from({ length: K - 1 }, (_, i) => i + 1);
  const teacherFg = meanIoU(teacherCm, foreground) ?? 0;
  return {
    teacherMiou,
    studentMiou,
    fidelity: teacherMiou > 0 ? studentMiou / teacherMiou : 0,
    foregroundFidelity: teacherFg > 0 ? (meanIoU(studentCm, foreground) ?? 0) / teacherFg : 0,
    teacherIou: perClassIoU(teacherCm),
    studentIou: perClassIoU(studentCm),
    labelledFraction: soft ? 1 : total ? kept / total : 0,
    studentSeconds,
  };
}

/** The floor of fidelity: `count` images of gaussian noise around mid-grey (0.5 + 0.25 N(0, 1),
 * clipped to [0, 1]), each channels x height x width, from `seed`. A generator whose images teach
 * the student no more than these (labelled by the same teacher) carries nothing of the old
 * classes beyond their colours. */
export function noiseImages(count: number, geo: { channels: number; height: number; width: number }, seed: number): SegImage[] {
  const rand = gaussianSource(seed);
  return Array.from({ length: count }, () => {
    const image = new Float32Array(geo.channels * geo.height * geo.width);
    for (let i = 0; i < image.length; i++) image[i] = Math.min(1, Math.max(0, 0.5 + 0.25 * rand()));
    return { image, height: geo.height, width: geo.width };
  });
}

/** A stronger floor than gaussian noise: "palette noise", every pixel the colour of a random pixel
 * of a random one of `real` (the site's own images; they never leave it). It has exactly the real
 * images' colours and no shape at all, so a student taught on it learns colour-to-class and nothing
 * else: a generator that carries shapes must beat it. (An untrained generator's saturated noise
 * beat gaussian noise by 0.07 in bench:replay with soft labels; see issue 17's note.) */
export function paletteNoiseImages(count: number, geo: { channels: number; height: number; width: number }, seed: number, real: readonly SegImage[]): SegImage[] {
  if (!real.length) throw new Error('paletteNoiseImages: no real images to take colours from');
  const rand = seededRandom(seed);
  const C = geo.channels;
  return Array.from({ length: count }, () => {
    const image = new Float32Array(C * geo.height * geo.width);
    const hw = geo.height * geo.width;
    for (let p = 0; p < hw; p++) {
      const src = real[Math.floor(rand() * real.length)];
      const shw = src.height * src.width;
      if (src.image.length !== C * shw) throw new Error(`paletteNoiseImages: a real image has ${src.image.length} values, expected ${C} x ${src.height} x ${src.width}`);
      const q = Math.floor(rand() * shw);
      for (let c = 0; c < C; c++) image[c * hw + p] = src.image[c * shw + q];
    }
    return { image, height: geo.height, width: geo.width };
  });
}
