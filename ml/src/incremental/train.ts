/** A site's local training of one class-incremental step (what a site runs each round).
 *
 * One step of trainLocalSegmenter: draw a batch mixing real and replay images, augment it, run the
 * frozen teacher on it (logits and features), pseudo-label the background pixels of the real images
 * with the teacher's confident old classes, then one compiled train step minimising the weighted
 * sum of the loss terms of LOCAL_LOSS_TERMS (local-loss-terms.ts):
 *   ce (or unbiasedCe, separatedCe) on the step's own images + replayCe on the replay images' teacher labels
 *   + kd (MiB unbiased output distillation) + pod (feature distillation)
 *   + contrastive (cross-image pixel SupCon with a prototype memory) + dice (soft Dice on the real
 *   images) + mu * prox (FedProx).
 * The learning rate follows a poly schedule over all rounds of the step (hyper.schedule), warmed up
 * at the start of each round (hyper.warmupFraction).
 * The server's distillation is distill.ts; samples and the schedule are samples.ts, schedule.ts. */
import { seededRandom } from '../init/initializers';
import type { RuntimeOptions } from '../runtime/session';
import type { OptimizerConfig } from '../train/optimizers';
import { Trainer } from '../train/trainer';
import { cloneTensors, NamedTensors } from '../weights/named-tensors';
import { checkSegmenterWeights, featureNames, SegmenterConfig, segmenterForward, segmenterParamNames } from '../segmentation/network';
import { SegmenterRunner } from '../segmentation/runner';
import { AugmentOptions, augmentPair } from './augment';
import { ActiveLossTerms } from './loss-table';
import { DEFAULT_LOSS_WEIGHTS, LocalBatch, LocalLossKey, LocalLossSetup, LOCAL_LOSS_TERMS, LossWeights } from './local-loss-terms';
import { PrototypeMemory, pseudoLabelBackground } from './pseudo-labels';
import { collectSamples, SampleSource, SegSample, toInputSize } from './samples';
import { polyLearningRate, TrainProgress, warmupFactor } from './schedule';

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
  /** Share of the round's steps over which the learning rate rises linearly to the schedule's
   * (schedule.ts warmupFactor; default 0: none). */
  readonly warmupFraction?: number;
  readonly clipGradNorm?: number;
  /** Steps per epoch (default: ceil(real images / batch size), replay or not: replay images take
   * a share of each batch, not extra steps, so methods with and without replay get equal budgets). */
  readonly stepsPerEpoch?: number;
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
  readonly real: SampleSource;
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
  const warmupSteps = Math.round((h.warmupFraction ?? 0) * totalSteps);

  const memory = new PrototypeMemory(o.numClasses, c.embedDim, h.prototypeMomentum ?? 0.9);
  if (o.resume?.prototypes) (memory.prototypes.set(o.resume.prototypes.data), memory.valid.set(o.resume.prototypes.valid));
  const setup: LocalLossSetup = {
    weights: { ...DEFAULT_LOSS_WEIGHTS, ...h.lossWeights, prox: h.fedproxMu ?? 0 },
    numClasses: o.numClasses,
    teacherClasses: teacher?.numClasses,
    realImages: nReal,
    replayImages: nReplay,
    embedDim: c.embedDim,
    kdTemperature: h.kdTemperature,
    podFeatures: h.podFeatures ?? featureNames(c).filter((n) => n.startsWith('enc')),
    podScales: h.podScales ?? [1, 2],
    contrastiveSamples: h.contrastiveSamples ?? 64,
    contrastiveTemperature: h.contrastiveTemperature ?? 0.1,
    memory,
    paramNames: segmenterParamNames(c, o.numClasses),
    proximalWeights: o.proximalWeights ?? o.weights,
  };
  const terms = new ActiveLossTerms<LocalLossKey, LocalLossSetup, LocalBatch>(LOCAL_LOSS_TERMS, setup, 'trainLocalSegmenter');
  const trainer = new Trainer({
    model: terms.model((g, image) => segmenterForward(g, image, c, o.numClasses)),
    optimizer: h.optimizer ?? { kind: 'adam' },
    lossWeights: terms.weights(),
    clipGradNorm: h.clipGradNorm,
    weights: cloneTensors(o.resume?.weights ?? o.weights),
    seed: o.seed,
    runtime: o.runtime,
  });
  if (o.resume) {
    for (const [n, v] of o.resume.optimizerState) trainer.optimizerState.set(n, v);
    trainer.updates = o.resume.updates;
  }
  // The teacher runs for its terms and for the pseudo-labels.
  const teacherFeatures = terms.has('pod') ? setup.podFeatures : [];
  const teacherRunner = teacher && (terms.has('kd') || terms.has('pod') || h.pseudoLabels !== false)
    ? await SegmenterRunner.create(c, teacher.weights, teacher.numClasses, { batch: B, features: teacherFeatures, runtime: o.runtime })
    : undefined;

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
  let stepMs = 0;
  let stepsRun = 0;
  try {
    for (let epoch = startEpoch; epoch < h.epochs; epoch++) {
      const sums: Record<string, number> = {};
      for (let s = 0; s < stepsPerEpoch; s++) {
        abortIfAsked(o.signal);
        const picks: SegSample[] = [];
        for (let i = 0; i < nReal; i++) picks.push(nextReal());
        for (let i = 0; i < nReplay; i++) picks.push(replay[Math.floor(rand() * replay.length)]);
        const image = new Float32Array(B * per);
        let labels = new Uint8Array(B * HW);
        picks.forEach((p, i) => {
          const a = h.augment === false ? p : augmentPair(p.image, p.label, c.inChannels, H, W, rand, h.augment);
          image.set(a.image, i * per);
          labels.set(a.label, i * HW);
        });
        let teacherOut: LocalBatch['teacher'];
        if (teacherRunner && teacher) {
          const t = await teacherRunner.run(image);
          if (h.pseudoLabels !== false && nReal > 0) {
            const realLabels = pseudoLabelBackground(labels.subarray(0, nReal * HW), t.logits, nReal, teacher.numClasses, HW, {
              threshold: h.pseudoLabelThreshold,
              mode: h.pseudoLabelMode,
              unconfident: h.pseudoLabelUnconfident,
            });
            labels = labels.slice();
            labels.set(realLabels, 0);
          }
          teacherOut = {
            logits: { shape: [B, teacher.numClasses, H, W], data: t.logits },
            features: Object.fromEntries(teacherFeatures.map((n) => [n, { shape: teacherRunner.featureShapes[n], data: t.features[n] }])),
          };
        }
        const labelTensor = { shape: [B, H, W], data: BigInt64Array.from(labels, (v) => BigInt(v)) };
        const fed = terms.feeds({ labels, labelTensor, teacher: teacherOut, rand });
        const lr = polyLearningRate(h.learningRate, scheduleOffset + trainer.updates, rounds * totalSteps, h.polyPower ?? 0.9) * warmupFactor(trainer.updates, warmupSteps);
        const ts = Date.now();
        const r = await trainer.step({ image: { shape: [B, c.inChannels, H, W], data: image }, ...fed.graph }, lr);
        if (stepsRun > 0) stepMs += Date.now() - ts; // the first step includes compiling
        stepsRun++;
        terms.after(r.outputs, fed.byTerm);
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
