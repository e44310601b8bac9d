/** The server's distillation on synthetic images (what the coordinator runs after aggregating):
 * pulls the aggregated student toward the previous step's model on the old classes, and toward
 * itself on the new ones, with the loss terms of DISTILL_LOSS_TERMS (distill-loss-terms.ts). */
import { seededRandom } from '../init/initializers';
import { argmaxLabels } from '../metrics/confusion';
import type { RuntimeOptions } from '../runtime/session';
import { checkSegmenterWeights, featureNames, SegmenterConfig, segmenterForward } from '../segmentation/network';
import { SegmenterRunner } from '../segmentation/runner';
import { Trainer } from '../train/trainer';
import { cloneTensors, NamedTensors } from '../weights/named-tensors';
import { AugmentOptions, augmentPair } from './augment';
import { resizeImage } from '../images/resize';
import { DEFAULT_DISTILL_LOSS_WEIGHTS, DistillBatch, DistillLossKey, DistillLossSetup, DistillLossWeights, DISTILL_LOSS_TERMS } from './distill-loss-terms';
import { ActiveLossTerms } from './loss-table';
import type { SegImage } from './samples';
import { polyLearningRate, TrainProgress } from './schedule';

export interface DistillOptions {
  readonly config: SegmenterConfig;
  /** The aggregated model (numClasses classes). */
  readonly student: { readonly weights: NamedTensors; readonly numClasses: number };
  /** The previous step's global model (old classes). */
  readonly teacher: { readonly weights: NamedTensors; readonly numClasses: number };
  /** Synthetic images (any size; resized to the input size). */
  readonly images: readonly (SegImage | Float32Array)[];
  readonly steps: number;
  readonly batchSize?: number;
  readonly learningRate?: number;
  /** Default DEFAULT_DISTILL_LOSS_WEIGHTS (kd 1, keepNew 1, pod 0). */
  readonly lossWeights?: Partial<DistillLossWeights>;
  readonly temperature?: number;
  readonly augment?: AugmentOptions | false;
  readonly seed?: number;
  readonly runtime?: RuntimeOptions;
  readonly onProgress?: (p: TrainProgress) => void;
}

/** Server-side distillation: pulls the student toward the teacher on the old classes using only the
 * given (synthetic) images, while keeping its own new-class predictions (MiB-style merging in
 * both directions: new classes merged into background against the teacher, old classes merged
 * into background against the starting student). Needs no labels. */
export async function distillOnImages(o: DistillOptions): Promise<{ weights: NamedTensors; losses: Record<string, number>[]; changedPixels: number }> {
  const c = o.config;
  const [H, W] = c.inputSize;
  const per = c.inChannels * H * W;
  const B = o.batchSize ?? 8;
  const K = o.teacher.numClasses;
  const C = o.student.numClasses;
  checkSegmenterWeights(o.student.weights, c, C);
  checkSegmenterWeights(o.teacher.weights, c, K);
  if (!o.images.length) throw new Error('distillOnImages: no images');
  const setup: DistillLossSetup = {
    weights: { ...DEFAULT_DISTILL_LOSS_WEIGHTS, ...o.lossWeights },
    numClasses: C,
    teacherClasses: K,
    temperature: o.temperature,
    podFeatures: featureNames(c).filter((n) => n.startsWith('enc')),
  };
  const terms = new ActiveLossTerms<DistillLossKey, DistillLossSetup, DistillBatch>(DISTILL_LOSS_TERMS, setup, 'distillOnImages');
  const imgs = o.images.map((im) => {
    const s = im instanceof Float32Array ? { image: im, height: H, width: W } : im;
    return resizeImage(s.image, c.inChannels, s.height, s.width, H, W);
  });
  const trainer = new Trainer({
    model: terms.model((g, image) => segmenterForward(g, image, c, C)),
    optimizer: { kind: 'adam' },
    lossWeights: terms.weights(),
    weights: cloneTensors(o.student.weights),
    seed: o.seed,
    runtime: o.runtime,
  });
  const teacherFeatures = terms.has('pod') ? setup.podFeatures : [];
  const teacherRunner = await SegmenterRunner.create(c, o.teacher.weights, K, { batch: B, features: teacherFeatures, runtime: o.runtime });
  // keepNew holds the student to its own starting predictions
  const startRunner = terms.has('keepNew') ? await SegmenterRunner.create(c, o.student.weights, C, { batch: B, runtime: o.runtime }) : undefined;
  const rand = seededRandom((o.seed ?? 1) * 104729 + 3);
  const history: Record<string, number>[] = [];
  const blank = new Uint8Array(H * W);
  try {
    for (let s = 0; s < o.steps; s++) {
      const image = new Float32Array(B * per);
      for (let i = 0; i < B; i++) {
        const src = imgs[Math.floor(rand() * imgs.length)];
        image.set(o.augment === false ? src : augmentPair(src, blank, c.inChannels, H, W, rand, { scale: [1, 1.2], ...o.augment }).image, i * per);
      }
      const t = await teacherRunner.run(image);
      const batch: DistillBatch = {
        teacher: {
          logits: { shape: [B, K, H, W], data: t.logits },
          features: Object.fromEntries(teacherFeatures.map((n) => [n, { shape: teacherRunner.featureShapes[n], data: t.features[n] }])),
        },
        start: startRunner ? { shape: [B, C, H, W], data: (await startRunner.run(image)).logits } : undefined,
      };
      const lr = polyLearningRate(o.learningRate ?? 1e-4, s, o.steps);
      const r = await trainer.step({ image: { shape: [B, c.inChannels, H, W], data: image }, ...terms.feeds(batch).graph }, lr);
      history.push(r.losses);
      o.onProgress?.({ epoch: 1, epochs: 1, step: s + 1, totalSteps: o.steps, learningRate: lr, losses: r.losses });
    }
  } finally {
    await teacherRunner.release();
    await startRunner?.release();
    await trainer.release();
  }
  const changedPixels = await predictionChange(c, C, o.student.weights, trainer.weights, imgs, B, o.runtime);
  return { weights: trainer.weights, losses: history, changedPixels };
}
/** Share of the pixels of `images` (at the input size) whose predicted class differs between two weight sets. */
async function predictionChange(c: SegmenterConfig, numClasses: number, a: NamedTensors, b: NamedTensors, images: readonly Float32Array[], batch: number, runtime?: RuntimeOptions): Promise<number> {
  const [H, W] = c.inputSize;
  const per = c.inChannels * H * W;
  const predict = async (w: NamedTensors) => {
    const runner = await SegmenterRunner.create(c, w, numClasses, { batch, runtime });
    try {
      const out = new Uint8Array(images.length * H * W);
      for (let i = 0; i < images.length; i += batch) {
        const n = Math.min(batch, images.length - i);
        const data = new Float32Array(batch * per);
        for (let j = 0; j < n; j++) data.set(images[i + j], j * per);
        const { logits } = await runner.run(data);
        out.set(argmaxLabels(logits, n, numClasses, H * W), i * H * W);
      }
      return out;
    } finally {
      await runner.release();
    }
  };
  const [pa, pb] = [await predict(a), await predict(b)];
  let changed = 0;
  for (let i = 0; i < pa.length; i++) if (pa[i] !== pb[i]) changed++;
  return changed / Math.max(1, pa.length);
}
