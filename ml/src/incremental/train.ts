/** The local training loop of one class-incremental step (what a site runs each round) and the
 * server-side distillation on synthetic images (what the coordinator runs after aggregating).
 *
 * One step of trainLocalSegmenter: draw a batch mixing real and replay images, augment it, run the
 * frozen teacher on it (logits and features), pseudo-label the background pixels of the real images
 * with the teacher's confident old classes, sample pixels per class for the contrastive loss, then
 * one compiled train step minimising the weighted sum of
 *   ce (or unbiasedCe) + kd (MiB unbiased output distillation) + pod (feature distillation)
 *   + contrastive (cross-image pixel SupCon with a prototype memory) + mu * prox (FedProx).
 * The learning rate follows a poly schedule over all rounds of the step (hyper.schedule). */
import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import { l2Normalize } from '../nn/losses';
import { seededRandom } from '../init/initializers';
import type { RuntimeOptions, TensorValue } from '../runtime/session';
import type { OptimizerConfig } from '../train/optimizers';
import { Trainer } from '../train/trainer';
import { cloneTensors, NamedTensors } from '../weights/named-tensors';
import { checkSegmenterWeights, featureNames, SegmenterConfig, segmenterForward, segmenterParamNames } from '../segmentation/network';
import { SegmenterRunner } from '../segmentation/runner';
import { AugmentOptions, augmentPair, resizeImage, resizeLabel } from './augment';
import {
  gatherPixels,
  incrementalCrossEntropy,
  newClassDistillation,
  pixelContrastive,
  podDistillation,
  proximalTerm,
  unbiasedDistillation,
} from './losses';
import { PrototypeMemory, pseudoLabelBackground, sampleContrastivePixels } from './pseudo-labels';
import { argmaxLabels } from '../metrics/confusion';

/** An image with its label map (LoadedSample of the site agent fits): image CHW in [0, 1],
 * label HW with 255 = ignore. Any size: it is resized to the configured input size. */
export interface SegSample {
  readonly image: Float32Array;
  readonly label: Uint8Array;
  readonly height: number;
  readonly width: number;
}

export interface SegImage {
  readonly image: Float32Array;
  readonly height: number;
  readonly width: number;
}

export interface LossWeights {
  /** Cross-entropy with ignore index (on pseudo-labelled real and teacher-labelled replay pixels). */
  readonly ce: number;
  /** MiB's unbiased cross-entropy (background = background or any old class); used with a teacher. */
  readonly unbiasedCe: number;
  /** MiB's unbiased output distillation from the teacher. */
  readonly kd: number;
  /** POD feature distillation from the teacher. */
  readonly pod: number;
  /** Cross-image pixel contrastive loss. */
  readonly contrastive: number;
}

export const DEFAULT_LOSS_WEIGHTS: LossWeights = { ce: 1, unbiasedCe: 0, kd: 1, pod: 0.5, contrastive: 0.1 };

export interface LocalTrainHyper {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly lossWeights?: Partial<LossWeights>;
  /** FedProx's mu (from the coordinator); 0 = off. */
  readonly fedproxMu?: number;
  /** Pseudo-label background pixels with the teacher (default true when there is a teacher). */
  readonly pseudoLabels?: boolean;
  readonly pseudoLabelThreshold?: number;
  readonly pseudoLabelMode?: 'confidence' | 'entropy';
  /** Unconfident background pixels: 'ignore' (PLOP, default) or 'background'. */
  readonly pseudoLabelUnconfident?: 'ignore' | 'background';
  readonly kdTemperature?: number;
  /** Features distilled by POD (default: the encoder levels enc0..enc{depth}). */
  readonly podFeatures?: readonly string[];
  readonly podScales?: readonly number[];
  /** Pixels sampled per batch for the contrastive loss (default 64). */
  readonly contrastiveSamples?: number;
  readonly contrastiveTemperature?: number;
  readonly prototypeMomentum?: number;
  /** Share of each batch taken from the replay set when there is one (default 0.5). */
  readonly replayFraction?: number;
  /** Augmentation options, or false for none. */
  readonly augment?: AugmentOptions | false;
  /** Default Adam. */
  readonly optimizer?: OptimizerConfig;
  /** Exponent of the poly schedule lr * (1 - t/T)^power (default 0.9). */
  readonly polyPower?: number;
  /** Where this call sits in the step's schedule: round `round` (0-based) of `rounds` federated
   * rounds; the poly schedule spans every round of the step, so it neither restarts nor reaches 0
   * inside a round (default: one round). */
  readonly schedule?: { readonly round: number; readonly rounds: number };
  readonly clipGradNorm?: number;
  /** Steps per epoch (default: ceil(real images / batch size), replay or not: replay images take
   * a share of each batch, not extra steps, so methods with and without replay get equal budgets). */
  readonly stepsPerEpoch?: number;
}

export interface TrainProgress {
  readonly epoch: number;
  readonly epochs: number;
  /** Steps done so far (1-based) out of totalSteps. */
  readonly step: number;
  readonly totalSteps: number;
  readonly learningRate: number;
  readonly losses: Readonly<Record<string, number>>;
}

export interface LocalTrainCheckpoint {
  /** Completed epochs. */
  readonly epoch: number;
  readonly weights: NamedTensors;
  readonly optimizerState: NamedTensors;
  readonly updates: number;
  readonly prototypes?: { readonly data: Float32Array; readonly valid: Float32Array };
}

export interface TrainLocalOptions {
  readonly config: SegmenterConfig;
  /** Starting weights (the current global model, head already grown to numClasses). */
  readonly weights: NamedTensors;
  readonly numClasses: number;
  /** The frozen model of the previous step (predicts classes 0..numClasses-1 of its own). */
  readonly teacher?: { readonly weights: NamedTensors; readonly numClasses: number };
  /** Classes annotated in the real images (default: teacher.numClasses..numClasses-1). Informational. */
  readonly newClassIds?: readonly number[];
  readonly real: readonly SegSample[] | Iterable<SegSample> | AsyncIterable<SegSample>;
  /** Replay images with teacher labels (old classes; 255 where the teacher was not confident). */
  readonly replay?: readonly SegSample[];
  readonly hyper: LocalTrainHyper;
  /** The global weights of FedProx's proximal term (default: `weights`). */
  readonly proximalWeights?: NamedTensors;
  readonly seed?: number;
  readonly runtime?: RuntimeOptions;
  readonly onProgress?: (p: TrainProgress) => void;
  readonly checkpoint?: { readonly everyEpochs?: number; readonly save: (c: LocalTrainCheckpoint) => void | Promise<void> };
  /** Continues from a checkpoint (weights, optimizer state, schedule position, prototypes); the
   * data order of the remaining epochs is drawn afresh. */
  readonly resume?: LocalTrainCheckpoint;
  readonly signal?: AbortSignal;
}

export interface LocalTrainMetrics {
  readonly steps: number;
  /** Real images (the FedAvg weight). */
  readonly realSamples: number;
  readonly replaySamples: number;
  /** Mean of each loss term over each epoch. */
  readonly epochLosses: Record<string, number>[];
  readonly seconds: number;
  /** Mean time of one compiled train step (the first step, which compiles, left out). */
  readonly msPerStep: number;
}

export interface TrainLocalResult {
  readonly weights: NamedTensors;
  readonly metrics: LocalTrainMetrics;
  readonly prototypes: { readonly data: Float32Array; readonly valid: Float32Array };
}

/** Views packed arrays (images [count, C, H, W], labels [count, H, W], e.g. a diffusion ReplaySet:
 * `unpackSamples(set.images, set.labels, set.manifest)`) as samples (no copies). Without labels,
 * the samples are images only (for distillOnImages). */
export function unpackSamples(
  images: Float32Array,
  labels: Uint8Array,
  size: { readonly count: number; readonly channels: number; readonly height: number; readonly width: number },
): SegSample[] {
  const hw = size.height * size.width;
  const per = size.channels * hw;
  if (images.length !== size.count * per || labels.length !== size.count * hw) {
    throw new Error(`unpackSamples: ${images.length} image values and ${labels.length} labels for ${size.count} images of ${size.channels}x${size.height}x${size.width}`);
  }
  return Array.from({ length: size.count }, (_, i) => ({
    image: images.subarray(i * per, (i + 1) * per),
    label: labels.subarray(i * hw, (i + 1) * hw),
    height: size.height,
    width: size.width,
  }));
}

/** Resizes a sample to the configured input size (bilinear image, nearest label). */
export function toInputSize(s: SegSample, c: SegmenterConfig): SegSample {
  const [H, W] = c.inputSize;
  if (s.image.length !== c.inChannels * s.height * s.width || s.label.length !== s.height * s.width) {
    throw new Error(`sample of ${s.height}x${s.width}: image has ${s.image.length} values, label ${s.label.length}`);
  }
  if (s.height === H && s.width === W) return s;
  return { image: resizeImage(s.image, c.inChannels, s.height, s.width, H, W), label: resizeLabel(s.label, s.height, s.width, H, W), height: H, width: W };
}

export async function collectSamples(src: TrainLocalOptions['real'], c: SegmenterConfig): Promise<SegSample[]> {
  const out: SegSample[] = [];
  if (Symbol.asyncIterator in Object(src)) for await (const s of src as AsyncIterable<SegSample>) out.push(toInputSize(s, c));
  else for (const s of src as Iterable<SegSample>) out.push(toInputSize(s, c));
  return out;
}

export function polyLearningRate(base: number, step: number, total: number, power = 0.9): number {
  return base * Math.pow(Math.max(0, 1 - step / Math.max(total, 1)), power);
}

function abortIfAsked(signal?: AbortSignal): void {
  if (signal?.aborted) throw Object.assign(new Error('training was aborted'), { name: 'AbortError' });
}

/** Trains the segmenter locally for one round of a step. See the file comment for the recipe. */
export async function trainLocalSegmenter(o: TrainLocalOptions): Promise<TrainLocalResult> {
  const t0 = Date.now();
  const c = o.config;
  const h = o.hyper;
  const [H, W] = c.inputSize;
  const HW = H * W;
  const per = c.inChannels * HW;
  checkSegmenterWeights(o.weights, c, o.numClasses);
  const teacher = o.teacher;
  if (teacher) {
    checkSegmenterWeights(teacher.weights, c, teacher.numClasses);
    if (teacher.numClasses > o.numClasses) throw new Error(`teacher predicts ${teacher.numClasses} classes, the student ${o.numClasses}`);
  }
  const real = await collectSamples(o.real, c);
  const replay = (o.replay ?? []).map((s) => toInputSize(s, c));
  if (!real.length && !replay.length) throw new Error('trainLocalSegmenter: no images');
  const B = h.batchSize;
  const nReplay = replay.length ? (real.length ? Math.min(B - 1, Math.max(1, Math.round(B * (h.replayFraction ?? 0.5)))) : B) : 0;
  const nReal = B - nReplay;
  const stepsPerEpoch = h.stepsPerEpoch ?? Math.max(1, Math.ceil((real.length || replay.length) / B));
  const totalSteps = stepsPerEpoch * h.epochs;
  const rounds = Math.max(1, h.schedule?.rounds ?? 1);
  const scheduleOffset = Math.min(Math.max(0, h.schedule?.round ?? 0), rounds - 1) * totalSteps;

  const lw = { ...DEFAULT_LOSS_WEIGHTS, ...h.lossWeights };
  const mu = h.fedproxMu ?? 0;
  const useKd = !!teacher && lw.kd > 0;
  const usePod = !!teacher && lw.pod > 0;
  // Without a teacher (step 0) background is the only old class, and unbiased CE is plain CE.
  const useUce = lw.unbiasedCe > 0;
  const useCon = lw.contrastive > 0;
  const podFeatures = h.podFeatures ?? featureNames(c).filter((n) => n.startsWith('enc'));
  const M = h.contrastiveSamples ?? 64;
  const oldClasses = teacher?.numClasses ?? o.numClasses;
  const proxWeights = o.proximalWeights ?? o.weights;

  const weights: Record<string, number> = {};
  if (lw.ce > 0) weights.ce = lw.ce;
  if (useUce) weights.unbiasedCe = lw.unbiasedCe;
  if (useKd) weights.kd = lw.kd;
  if (usePod) weights.pod = lw.pod;
  if (useCon) weights.contrastive = lw.contrastive;
  if (mu > 0) weights.prox = mu;
  if (!Object.keys(weights).length) throw new Error('trainLocalSegmenter: every loss weight is 0');

  const names = segmenterParamNames(c, o.numClasses);
  const trainer = new Trainer({
    model: (g, b) => {
      const out = segmenterForward(g, b.image, c, o.numClasses);
      const losses: Record<string, Tensor> = {};
      const outputs: Record<string, Tensor> = {};
      // Replay images (after the nReal real ones) carry teacher labels: their background may be a new class.
      const ceOf = (unbiased: boolean) => incrementalCrossEntropy(out.logits, b.labels, { realImages: nReal, oldClasses: teacher ? oldClasses : 1, unbiased });
      if (weights.ce) losses.ce = ceOf(false);
      if (weights.unbiasedCe) losses.unbiasedCe = ceOf(true);
      if (weights.kd) losses.kd = unbiasedDistillation(out.logits, b['teacher:logits'], { temperature: h.kdTemperature });
      if (weights.pod) {
        losses.pod = podDistillation(podFeatures.map((n) => out.features[n]), podFeatures.map((n) => b[`teacher:${n}`]), h.podScales ?? [1, 2]);
      }
      if (weights.contrastive) {
        const samples = gatherPixels(out.embeddings, b['con:indices']);
        losses.contrastive = pixelContrastive({
          samples,
          sampleClasses: b['con:classes'],
          sampleMask: b['con:mask'],
          prototypes: b['con:prototypes'],
          prototypeMask: b['con:prototypeMask'],
          temperature: h.contrastiveTemperature ?? 0.1,
        });
        outputs.samples = l2Normalize(F.detach(samples), 1, 1e-8);
      }
      if (weights.prox) losses.prox = proximalTerm(names.map((n) => g.params.get(n) as Tensor), names.map((n) => b[`prox:${n}`]));
      return { losses, outputs };
    },
    optimizer: h.optimizer ?? { kind: 'adam' },
    lossWeights: weights,
    clipGradNorm: h.clipGradNorm,
    weights: cloneTensors(o.resume?.weights ?? o.weights),
    seed: o.seed,
    runtime: o.runtime,
  });
  if (o.resume) {
    for (const [n, v] of o.resume.optimizerState) trainer.optimizerState.set(n, v);
    trainer.updates = o.resume.updates;
  }
  const needTeacher = !!teacher && (useKd || usePod || h.pseudoLabels !== false);
  const teacherRunner = needTeacher && teacher
    ? await SegmenterRunner.create(c, teacher.weights, teacher.numClasses, { batch: B, features: usePod ? podFeatures : [], runtime: o.runtime })
    : undefined;
  const memory = new PrototypeMemory(o.numClasses, c.embedDim, h.prototypeMomentum ?? 0.9);
  if (o.resume?.prototypes) (memory.prototypes.set(o.resume.prototypes.data), memory.valid.set(o.resume.prototypes.valid));

  const rand = seededRandom((o.seed ?? 1) * 7919 + 17);
  const startEpoch = o.resume?.epoch ?? 0;
  const epochLosses: Record<string, number>[] = [];
  let realOrder: number[] = [];
  let realAt = 0;
  const nextReal = () => {
    if (realAt >= realOrder.length) {
      realOrder = real.map((_, i) => i);
      for (let i = realOrder.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [realOrder[i], realOrder[j]] = [realOrder[j], realOrder[i]];
      }
      realAt = 0;
    }
    return real[realOrder[realAt++]];
  };
  const proxFeeds: Record<string, TensorValue> = {};
  let stepMs = 0;
  let stepsRun = 0;
  try {
    for (let epoch = startEpoch; epoch < h.epochs; epoch++) {
      const sums: Record<string, number> = {};
      for (let s = 0; s < stepsPerEpoch; s++) {
        abortIfAsked(o.signal);
        const picks: { sample: SegSample; isReplay: boolean }[] = [];
        for (let i = 0; i < nReal; i++) picks.push({ sample: nextReal(), isReplay: false });
        for (let i = 0; i < nReplay; i++) picks.push({ sample: replay[Math.floor(rand() * replay.length)], isReplay: true });
        const image = new Float32Array(B * per);
        let labels = new Uint8Array(B * HW);
        picks.forEach((p, i) => {
          const a = h.augment === false ? p.sample : augmentPair(p.sample.image, p.sample.label, c.inChannels, H, W, rand, h.augment);
          image.set(a.image, i * per);
          labels.set(a.label, i * HW);
        });
        const feeds: Record<string, TensorValue> = { image: { shape: [B, c.inChannels, H, W], data: image } };
        if (teacherRunner) {
          const t = await teacherRunner.run(image);
          if (h.pseudoLabels !== false && nReal > 0) {
            const realLabels = pseudoLabelBackground(labels.subarray(0, nReal * HW), t.logits, nReal, teacher!.numClasses, HW, {
              threshold: h.pseudoLabelThreshold,
              mode: h.pseudoLabelMode,
              unconfident: h.pseudoLabelUnconfident,
            });
            labels = labels.slice();
            labels.set(realLabels, 0);
          }
          if (useKd) feeds['teacher:logits'] = { shape: [B, teacher!.numClasses, H, W], data: t.logits };
          for (const n of usePod ? podFeatures : []) feeds[`teacher:${n}`] = { shape: teacherRunner.featureShapes[n], data: t.features[n] };
        }
        feeds.labels = { shape: [B, H, W], data: BigInt64Array.from(labels, (v) => BigInt(v)) };
        let sample: ReturnType<typeof sampleContrastivePixels> | undefined;
        if (useCon) {
          sample = sampleContrastivePixels(labels, o.numClasses, M, rand);
          feeds['con:indices'] = { shape: [M], data: sample.indices };
          feeds['con:classes'] = { shape: [M], data: sample.classes };
          feeds['con:mask'] = { shape: [M], data: sample.mask };
          feeds['con:prototypes'] = { shape: [o.numClasses, c.embedDim], data: memory.prototypes.slice() };
          feeds['con:prototypeMask'] = { shape: [o.numClasses], data: memory.valid.slice() };
        }
        if (mu > 0) {
          if (!Object.keys(proxFeeds).length) {
            for (const n of names) {
              const w = proxWeights.get(n);
              if (!w) throw new Error(`proximal weights lack '${n}'`);
              proxFeeds[`prox:${n}`] = { shape: w.shape, data: w.data };
            }
          }
          Object.assign(feeds, proxFeeds);
        }
        const lr = polyLearningRate(h.learningRate, scheduleOffset + trainer.updates, rounds * totalSteps, h.polyPower ?? 0.9);
        const ts = Date.now();
        const r = await trainer.step(feeds, lr);
        if (stepsRun > 0) stepMs += Date.now() - ts; // the first step includes compiling
        stepsRun++;
        if (sample && r.outputs.samples) memory.update(r.outputs.samples.data as Float32Array, sample.classes, sample.mask);
        for (const [k, v] of Object.entries(r.losses)) sums[k] = (sums[k] ?? 0) + v;
        o.onProgress?.({ epoch: epoch + 1, epochs: h.epochs, step: trainer.updates, totalSteps, learningRate: lr, losses: r.losses });
      }
      epochLosses.push(Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / stepsPerEpoch])));
      const every = o.checkpoint?.everyEpochs ?? 1;
      if (o.checkpoint && ((epoch + 1) % every === 0 || epoch + 1 === h.epochs)) {
        await o.checkpoint.save({
          epoch: epoch + 1,
          weights: cloneTensors(trainer.weights),
          optimizerState: cloneTensors(trainer.optimizerState),
          updates: trainer.updates,
          prototypes: { data: memory.prototypes.slice(), valid: memory.valid.slice() },
        });
      }
    }
  } finally {
    await teacherRunner?.release();
    await trainer.release();
  }
  return {
    weights: trainer.weights,
    prototypes: { data: memory.prototypes, valid: memory.valid },
    metrics: {
      steps: stepsRun,
      realSamples: real.length,
      replaySamples: replay.length,
      epochLosses,
      seconds: (Date.now() - t0) / 1000,
      msPerStep: stepsRun > 1 ? stepMs / (stepsRun - 1) : 0,
    },
  };
}

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
  /** kd: toward the teacher on old classes; keepNew: toward the starting student on new classes;
   * pod: teacher's features (default kd 1, keepNew 1, pod 0). */
  readonly lossWeights?: { readonly kd?: number; readonly keepNew?: number; readonly pod?: number };
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
  const lw = { kd: 1, keepNew: 1, pod: 0, ...o.lossWeights };
  const weights: Record<string, number> = {};
  if (lw.kd > 0) weights.kd = lw.kd;
  if (lw.keepNew > 0 && C > K) weights.keepNew = lw.keepNew;
  if (lw.pod > 0) weights.pod = lw.pod;
  if (!Object.keys(weights).length) throw new Error('distillOnImages: every loss weight is 0');
  const pod = featureNames(c).filter((n) => n.startsWith('enc'));
  const imgs = o.images.map((im) => {
    const s = im instanceof Float32Array ? { image: im, height: H, width: W } : im;
    return resizeImage(s.image, c.inChannels, s.height, s.width, H, W);
  });
  const trainer = new Trainer({
    model: (g, b) => {
      const out = segmenterForward(g, b.image, c, C);
      const losses: Record<string, Tensor> = {};
      if (weights.kd) losses.kd = unbiasedDistillation(out.logits, b['teacher:logits'], { temperature: o.temperature });
      if (weights.keepNew) losses.keepNew = newClassDistillation(out.logits, b['start:logits'], K, { temperature: o.temperature });
      if (weights.pod) losses.pod = podDistillation(pod.map((n) => out.features[n]), pod.map((n) => b[`teacher:${n}`]));
      return { losses };
    },
    optimizer: { kind: 'adam' },
    lossWeights: weights,
    weights: cloneTensors(o.student.weights),
    seed: o.seed,
    runtime: o.runtime,
  });
  const teacherRunner = await SegmenterRunner.create(c, o.teacher.weights, K, { batch: B, features: weights.pod ? pod : [], runtime: o.runtime });
  const startRunner = weights.keepNew ? await SegmenterRunner.create(c, o.student.weights, C, { batch: B, runtime: o.runtime }) : undefined;
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
      const feeds: Record<string, TensorValue> = { image: { shape: [B, c.inChannels, H, W], data: image } };
      const t = await teacherRunner.run(image);
      if (weights.kd) feeds['teacher:logits'] = { shape: [B, K, H, W], data: t.logits };
      for (const n of weights.pod ? pod : []) feeds[`teacher:${n}`] = { shape: teacherRunner.featureShapes[n], data: t.features[n] };
      if (startRunner) feeds['start:logits'] = { shape: [B, C, H, W], data: (await startRunner.run(image)).logits };
      const lr = polyLearningRate(o.learningRate ?? 1e-4, s, o.steps);
      const r = await trainer.step(feeds, lr);
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
