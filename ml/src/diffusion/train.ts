/** Training the denoiser on a site's images with the ml engine: MSE on the noise or the velocity
 * (the config's `prediction`), optionally min-SNR weighted per sample, one compiled ONNX train
 * step (forward, backward, Adam) per batch shape, EMA of the weights in JS. Runs for a number of
 * steps, epochs, or a wall-clock budget (generator rounds are sized by time, not by epochs of a
 * small dataset). */
import type { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { seededRandom } from '../init/initializers';
import * as F from '../graph/functional';
import type { RuntimeOptions } from '../runtime/session';
import { Trainer } from '../train/trainer';
import { cloneTensors, NamedTensors } from '../weights/named-tensors';
import { gaussianSource, ImageSet, imageList } from './images';
import { noiseSchedule } from './schedule';
import { checkDiffusionWeights, createDiffusionWeights, DiffusionConfig, denoiser, diffusionGeometry, validateDiffusionConfig } from './unet';

export interface DiffusionProgress {
  /** 1-based step just finished, of `steps` (0 when only a time budget bounds the run). */
  readonly step: number;
  readonly steps: number;
  /** The time budget, ms, when one was given. */
  readonly budgetMs?: number;
  readonly epoch: number;
  readonly loss: number;
  readonly elapsedMs: number;
}

export interface TrainDiffusionOptions {
  readonly config: DiffusionConfig;
  /** Starting weights (e.g. the global generator); default: fresh weights from `seed`. */
  readonly weights?: NamedTensors;
  /** EMA to continue; default: a copy of the starting weights. */
  readonly emaWeights?: NamedTensors;
  /** Training images, each channels x height x width (diffusionGeometry) in [0, 1] (scaled to
   * [-1, 1] here). */
  readonly images: ImageSet;
  /** Number of optimizer steps; or give `epochs` (passes over the images). Default 1 epoch, or
   * unbounded when `maxSeconds` is given alone. */
  readonly steps?: number;
  readonly epochs?: number;
  /** Wall-clock budget in seconds: no step starts after it is spent (the compile of the first
   * step counts). */
  readonly maxSeconds?: number;
  /** Per-sample loss weight: 'uniform' (default) or 'min-snr' (Hang et al. 2023: min(SNR, gamma)
   * relative to the target's own scale; the low-noise steps stop dominating, training converges
   * faster). */
  readonly lossWeighting?: 'uniform' | 'min-snr';
  /** gamma of min-SNR weighting; default 5. */
  readonly minSnrGamma?: number;
  /** Default 16. */
  readonly batchSize?: number;
  /** Adam learning rate; default 5e-4. */
  readonly learningRate?: number;
  /** Default 0.999, with the usual warm-up min(decay, (1 + n) / (10 + n)). */
  readonly emaDecay?: number;
  /** Clip gradients to this global norm; default 1, 0 = off. */
  readonly clipGradNorm?: number;
  /** Random horizontal flips; default true. */
  readonly horizontalFlip?: boolean;
  /** Seeds batch order, timesteps, noise and (when `weights` is absent) the weights. Default 1. */
  readonly seed?: number;
  readonly onProgress?: (p: DiffusionProgress) => void;
  /** Steps after which `onCheckpoint` sees the weights so far (learning curves in one run: e.g.
   * bench:replay scores the generator at 500, 1000 and 2000 steps). */
  readonly checkpoints?: readonly number[];
  /** Awaited at each checkpoint step; its time counts against `maxSeconds`. */
  readonly onCheckpoint?: (step: number, weights: NamedTensors, emaWeights: NamedTensors) => Promise<void>;
  readonly runtime?: RuntimeOptions;
  readonly signal?: AbortSignal;
}

export interface TrainDiffusionResult {
  readonly weights: NamedTensors;
  readonly emaWeights: NamedTensors;
  /** The loss of every step. */
  readonly losses: number[];
  readonly steps: number;
  /** Wall time of the whole training, seconds. */
  readonly seconds: number;
  /** Mean wall time of a step after the first (which compiles), ms. */
  readonly stepMs: number;
}

/** The training graph of one batch: inputs `x` (noisy images), `t` (timesteps, float), `target`
 * (the noise or velocity to predict) and `weight` [B, 1, 1, 1] (per-sample loss weight); loss
 * `mse` = mean over the batch of weight * squared error. */
export function diffusionTrainModel(config: DiffusionConfig) {
  return (g: Graph, b: Readonly<Record<string, Tensor>>) => {
    const err = F.sub(denoiser(g, b.x, b.t, config), b.target);
    return { losses: { mse: F.reduceMean(F.mul(b.weight, F.mul(err, err))) } };
  };
}

/** The weight of one sample's squared error at noise level abar (signal-to-noise ratio
 * snr = abar / (1 - abar)): 1 for 'uniform'; for 'min-snr', min(snr, gamma) / snr on the noise
 * and min(snr, gamma) / (snr + 1) on the velocity (both equal min(snr, gamma) on x0's error). */
export function diffusionLossWeight(alphaBar: number, prediction: 'eps' | 'v', weighting: 'uniform' | 'min-snr', gamma = 5): number {
  if (weighting === 'uniform') return 1;
  const snr = alphaBar / Math.max(1 - alphaBar, 1e-12);
  return Math.min(snr, gamma) / (prediction === 'v' ? snr + 1 : Math.max(snr, 1e-12));
}

export function emaUpdate(ema: NamedTensors, weights: NamedTensors, decay: number): void {
  for (const [name, w] of weights) {
    const e = ema.get(name);
    if (!e) {
      ema.set(name, { shape: [...w.shape], data: w.data.slice() });
      continue;
    }
    const d = e.data;
    const src = w.data;
    const k = 1 - decay;
    for (let i = 0; i < d.length; i++) d[i] += k * (src[i] - d[i]);
  }
}

export async function trainDiffusion(o: TrainDiffusionOptions): Promise<TrainDiffusionResult> {
  const c = o.config;
  validateDiffusionConfig(c);
  const { channels: C, height: H, width: W } = diffusionGeometry(c);
  const px = C * H * W;
  const images = imageList(o.images, px, 'trainDiffusion');
  if (!images.length) throw new Error('trainDiffusion: no images');
  const B = o.batchSize ?? 16;
  const budgetMs = o.maxSeconds !== undefined ? o.maxSeconds * 1000 : Infinity;
  if (!(budgetMs > 0)) throw new Error(`trainDiffusion: maxSeconds must be positive, got ${o.maxSeconds}`);
  const steps = o.steps ?? (o.epochs !== undefined || o.maxSeconds === undefined ? Math.max(1, Math.ceil(((o.epochs ?? 1) * images.length) / B)) : Infinity);
  const prediction = c.prediction ?? 'eps';
  const weighting = o.lossWeighting ?? 'uniform';
  const lr = o.learningRate ?? 5e-4;
  const emaDecay = o.emaDecay ?? 0.999;
  const seed = o.seed ?? 1;
  const flip = o.horizontalFlip ?? true;
  const weights = o.weights ? cloneTensors(o.weights) : createDiffusionWeights(c, seed);
  checkDiffusionWeights(c, weights);
  const ema = cloneTensors(o.emaWeights ?? weights);
  if (o.emaWeights) checkDiffusionWeights(c, ema);
  const schedule = noiseSchedule(c.schedule);
  const T = schedule.timesteps;

  const trainer = new Trainer({
    model: diffusionTrainModel(c),
    optimizer: { kind: 'adam' },
    clipGradNorm: (o.clipGradNorm ?? 1) > 0 ? (o.clipGradNorm ?? 1) : undefined,
    weights,
    seed,
    runtime: o.runtime,
  });
  const rand = seededRandom(seed ^ 0x5eed);
  const normal = gaussianSource(seed ^ 0xd1ff);
  const x = new Float32Array(B * px);
  const target = new Float32Array(B * px);
  const weight = new Float32Array(B);
  const t = new Float32Array(B);
  let order: number[] = [];
  let cursor = 0;
  let epoch = 0;
  const shuffle = () => {
    order = images.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    cursor = 0;
    epoch++;
  };
  const losses: number[] = [];
  const start = Date.now();
  let afterFirst = 0;
  try {
    for (let step = 1; step <= steps; step++) {
      if (o.signal?.aborted) throw new Error('trainDiffusion: aborted');
      if (step > 1 && Date.now() - start >= budgetMs) break;
      for (let b = 0; b < B; b++) {
        if (cursor >= order.length) shuffle();
        const im = images[order[cursor++]];
        const ts = Math.min(Math.floor(rand() * T), T - 1);
        t[b] = ts;
        const ab = schedule.alphasCumprod[ts];
        const sa = Math.sqrt(ab);
        const sb = Math.sqrt(1 - ab);
        weight[b] = diffusionLossWeight(ab, prediction, weighting, o.minSnrGamma);
        const mirror = flip && rand() < 0.5;
        const off = b * px;
        for (let ch = 0; ch < C; ch++) {
          for (let y = 0; y < H; y++) {
            const row = ch * H * W + y * W;
            for (let xx = 0; xx < W; xx++) {
              const x0 = im[row + (mirror ? W - 1 - xx : xx)] * 2 - 1;
              const e = normal();
              target[off + row + xx] = prediction === 'v' ? sa * e - sb * x0 : e;
              x[off + row + xx] = sa * x0 + sb * e;
            }
          }
        }
      }
      const r = await trainer.step(
        {
          x: { shape: [B, C, H, W], data: x },
          t: { shape: [B], data: t },
          target: { shape: [B, C, H, W], data: target },
          weight: { shape: [B, 1, 1, 1], data: weight },
        },
        lr,
      );
      if (step === 1) afterFirst = Date.now();
      const n = trainer.updates;
      emaUpdate(ema, trainer.weights, Math.min(emaDecay, (1 + n) / (10 + n)));
      losses.push(r.losses.mse);
      o.onProgress?.({ step, steps: Number.isFinite(steps) ? steps : 0, epoch: Math.max(epoch, 1), loss: r.losses.mse, elapsedMs: Date.now() - start, budgetMs: Number.isFinite(budgetMs) ? budgetMs : undefined });
      if (o.onCheckpoint && o.checkpoints?.includes(step)) await o.onCheckpoint(step, trainer.weights, ema);
    }
  } finally {
    await trainer.release();
  }
  const done = losses.length;
  const stepMs = done > 1 ? (Date.now() - afterFirst) / (done - 1) : Date.now() - start;
  return { weights: cloneTensors(trainer.weights), emaWeights: ema, losses, steps: done, stepMs, seconds: (Date.now() - start) / 1000 };
}
