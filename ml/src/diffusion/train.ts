/** Training the denoiser on a site's images with the ml engine: epsilon-prediction MSE, one
 * compiled ONNX train step (forward, backward, Adam) per batch shape, EMA of the weights in JS. */
import type { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { seededRandom } from '../init/initializers';
import { mse } from '../nn/losses';
import type { RuntimeOptions } from '../runtime/session';
import { Trainer } from '../train/trainer';
import { cloneTensors, NamedTensors } from '../weights/named-tensors';
import { gaussianSource, ImageSet, imageList } from './images';
import { noiseSchedule } from './schedule';
import { checkDiffusionWeights, createDiffusionWeights, DiffusionConfig, denoiser, validateDiffusionConfig } from './unet';

export interface DiffusionProgress {
  /** 1-based step just finished, of `steps`. */
  readonly step: number;
  readonly steps: number;
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
  /** Training images, each channels x imageSize x imageSize in [0, 1] (scaled to [-1, 1] here). */
  readonly images: ImageSet;
  /** Number of optimizer steps; or give `epochs` (passes over the images). Default 1 epoch. */
  readonly steps?: number;
  readonly epochs?: number;
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
  readonly runtime?: RuntimeOptions;
  readonly signal?: AbortSignal;
}

export interface TrainDiffusionResult {
  readonly weights: NamedTensors;
  readonly emaWeights: NamedTensors;
  /** The loss of every step. */
  readonly losses: number[];
  readonly steps: number;
  /** Mean wall time of a step after the first (which compiles), ms. */
  readonly stepMs: number;
}

/** The training graph of one batch: inputs `x` (noisy images), `t` (timesteps, float) and `eps`
 * (the noise to predict); loss `mse`. */
export function diffusionTrainModel(config: DiffusionConfig) {
  return (g: Graph, b: Readonly<Record<string, Tensor>>) => ({ losses: { mse: mse(denoiser(g, b.x, b.t, config), b.eps) } });
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
  const S = c.imageSize;
  const C = c.channels;
  const px = C * S * S;
  const images = imageList(o.images, px, 'trainDiffusion');
  if (!images.length) throw new Error('trainDiffusion: no images');
  const B = o.batchSize ?? 16;
  const steps = o.steps ?? Math.max(1, Math.ceil(((o.epochs ?? 1) * images.length) / B));
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
  const eps = new Float32Array(B * px);
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
      for (let b = 0; b < B; b++) {
        if (cursor >= order.length) shuffle();
        const im = images[order[cursor++]];
        const ts = Math.min(Math.floor(rand() * T), T - 1);
        t[b] = ts;
        const ab = schedule.alphasCumprod[ts];
        const sa = Math.sqrt(ab);
        const sb = Math.sqrt(1 - ab);
        const mirror = flip && rand() < 0.5;
        const off = b * px;
        for (let ch = 0; ch < C; ch++) {
          for (let y = 0; y < S; y++) {
            const row = ch * S * S + y * S;
            for (let xx = 0; xx < S; xx++) {
              const v = im[row + (mirror ? S - 1 - xx : xx)] * 2 - 1;
              const e = normal();
              eps[off + row + xx] = e;
              x[off + row + xx] = sa * v + sb * e;
            }
          }
        }
      }
      const r = await trainer.step(
        { x: { shape: [B, C, S, S], data: x }, t: { shape: [B], data: t }, eps: { shape: [B, C, S, S], data: eps } },
        lr,
      );
      if (step === 1) afterFirst = Date.now();
      const n = trainer.updates;
      emaUpdate(ema, trainer.weights, Math.min(emaDecay, (1 + n) / (10 + n)));
      losses.push(r.losses.mse);
      o.onProgress?.({ step, steps, epoch: Math.max(epoch, 1), loss: r.losses.mse, elapsedMs: Date.now() - start });
    }
  } finally {
    await trainer.release();
  }
  const stepMs = steps > 1 ? (Date.now() - afterFirst) / (steps - 1) : Date.now() - start;
  return { weights: cloneTensors(trainer.weights), emaWeights: ema, losses, steps, stepMs };
}
