/** Replay fidelity: whether a generator's images, labelled by the teacher, carry the teacher's
 * classes. A fresh segmenter (the student) is trained ONLY on teacher-labelled generated images
 * and scored on real labelled images; fidelity = student mIoU / teacher mIoU on those images.
 * Read it against its floor and ceiling, never alone: where colour separates the classes (the
 * project's synthetic scenes), teacher-labelled gaussian noise already teaches a colour-to-class
 * map worth fidelity 0.47 (foreground 0.26), and teacher-labelled real images reach 0.86 (0.84),
 * measured by bench:replay, which reports both and the share of the gap a generator closes.
 * Sites measure it on their validation patients; bench:replay on held-out scenes.
 *
 * This module joins the two halves of the platform (diffusion and segmentation) so that neither
 * has to know the other. */
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
  /** Teacher pixels below this confidence are not taught (default 0.7, as in replay sets). */
  readonly confidenceThreshold?: number;
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
    real: labelled,
    hyper: {
      epochs: 1,
      stepsPerEpoch: recipe.steps,
      batchSize: recipe.batchSize,
      learningRate: recipe.learningRate,
      lossWeights: { ce: 1, unbiasedCe: 0, kd: 0, pod: 0, contrastive: 0 },
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
    labelledFraction: total ? kept / total : 0,
    studentSeconds,
  };
}
