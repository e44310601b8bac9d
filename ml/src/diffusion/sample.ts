/** DDIM sampling: the denoiser as an ONNX inference graph (weights baked in, fixed batch), one
 * session run per DDIM step and batch, the update in JS. Runs on any execution provider the
 * runtime offers (cpu, cuda, webgpu; unavailable ones fall back to cpu). */
import { exportInferenceModel, InferenceRunner, InferenceSpec } from '../infer/inference';
import type { RuntimeOptions } from '../runtime/session';
import type { NamedTensors } from '../weights/named-tensors';
import { fillGaussian, gaussianSource, mixSeed } from './images';
import { ddimStep, ddimTimesteps, noiseSchedule, type DdimSpacing, NoiseSchedule } from './schedule';
import { checkDiffusionWeights, DiffusionConfig, denoiser, diffusionGeometry } from './unet';

export interface SampleProgress {
  /** DDIM steps done so far over all batches, of `total` = batches * steps. */
  readonly done: number;
  readonly total: number;
  /** Images finished so far, of `count`. */
  readonly images: number;
  readonly count: number;
  readonly elapsedMs: number;
}

export interface SampleOptions {
  readonly count: number;
  /** DDIM steps; default 50. */
  readonly steps?: number;
  /** 0 = deterministic DDIM (default), 1 = DDPM-like noise. */
  readonly eta?: number;
  /** Each image's noise comes from (seed, index): the same images whatever the batch size. */
  readonly seed?: number;
  /** Clip predicted x0 to [-clip, clip]; default 1, 0 = off. */
  readonly clip?: number;
  /** Which timesteps DDIM visits; default 'leading'. */
  readonly spacing?: DdimSpacing;
  readonly onProgress?: (p: SampleProgress) => void;
  readonly signal?: AbortSignal;
}

function denoiserSpec(config: DiffusionConfig, weights: NamedTensors, batchSize: number): InferenceSpec {
  const { channels, height, width } = diffusionGeometry(config);
  return {
    model: (g, i) => ({ eps: denoiser(g, i.x, i.t, config) }),
    inputs: { x: { shape: [batchSize, channels, height, width] }, t: { shape: [batchSize] } },
    weights,
  };
}

/** Turns a velocity prediction into the noise it implies, in place: eps = sqrt(abar) v +
 * sqrt(1 - abar) x_t (from x_t = sqrt(abar) x0 + sqrt(1 - abar) eps, v = sqrt(abar) eps -
 * sqrt(1 - abar) x0). */
export function velocityToNoise(v: Float32Array, x: Float32Array, alphaBar: number): Float32Array {
  const a = Math.sqrt(alphaBar);
  const b = Math.sqrt(1 - alphaBar);
  for (let i = 0; i < v.length; i++) v[i] = a * v[i] + b * x[i];
  return v;
}

/** The denoiser as standalone ONNX bytes: inputs x [B, C, H, W] in noise space and t [B] (float
 * timesteps), output `eps`: the network's raw prediction (the velocity when the config predicts v). */
export function exportDenoiser(config: DiffusionConfig, weights: NamedTensors, batchSize = 1): Uint8Array {
  checkDiffusionWeights(config, weights);
  return exportInferenceModel(denoiserSpec(config, weights, batchSize));
}

/** A compiled denoiser for repeated sampling (one graph per batch size; release when done). */
export class DiffusionSampler {
  readonly schedule: NoiseSchedule;

  private constructor(
    readonly config: DiffusionConfig,
    readonly batchSize: number,
    private readonly runner: InferenceRunner,
  ) {
    this.schedule = noiseSchedule(config.schedule);
  }

  static async create(config: DiffusionConfig, weights: NamedTensors, o: { batchSize?: number; runtime?: RuntimeOptions } = {}): Promise<DiffusionSampler> {
    checkDiffusionWeights(config, weights);
    const B = o.batchSize ?? 16;
    const runner = await InferenceRunner.create(denoiserSpec(config, weights, B), o.runtime);
    return new DiffusionSampler(config, B, runner);
  }

  /** The predicted noise for a full batch x [B, C, H, W] at one timestep (converted from the
   * velocity when the config predicts v). */
  async predictNoise(x: Float32Array, t: number): Promise<Float32Array> {
    const B = this.batchSize;
    const { channels, height, width } = diffusionGeometry(this.config);
    const out = await this.runner.run({
      x: { shape: [B, channels, height, width], data: x },
      t: { shape: [B], data: new Float32Array(B).fill(t) },
    });
    const pred = out.eps.data as Float32Array;
    return this.config.prediction === 'v' ? velocityToNoise(pred, x, this.schedule.alphasCumprod[Math.round(t)]) : pred;
  }

  /** `count` images [count, C, H, W] with values in [0, 1]. */
  async sample(o: SampleOptions): Promise<Float32Array> {
    const { config, batchSize: B, schedule } = this;
    const { channels, height, width } = diffusionGeometry(config);
    const px = channels * height * width;
    const steps = o.steps ?? 50;
    const eta = o.eta ?? 0;
    const seed = o.seed ?? 1;
    const ts = ddimTimesteps(schedule.timesteps, steps, o.spacing);
    const batches = Math.ceil(o.count / B);
    const result = new Float32Array(o.count * px);
    const start = Date.now();
    let done = 0;
    for (let b = 0; b < batches; b++) {
      const first = b * B;
      const n = Math.min(B, o.count - first);
      const sources = Array.from({ length: n }, (_, i) => gaussianSource(mixSeed(seed, first + i)));
      const x = new Float32Array(B * px);
      sources.forEach((src, i) => fillGaussian(x.subarray(i * px, (i + 1) * px), src));
      const noise = eta > 0 ? new Float32Array(B * px) : undefined;
      for (let k = 0; k < ts.length; k++) {
        if (o.signal?.aborted) throw new Error('sampleImages: aborted');
        const eps = await this.predictNoise(x, ts[k]);
        const ab = schedule.alphasCumprod[ts[k]];
        const abPrev = k + 1 < ts.length ? schedule.alphasCumprod[ts[k + 1]] : 1;
        if (noise) sources.forEach((src, i) => fillGaussian(noise.subarray(i * px, (i + 1) * px), src));
        ddimStep(x, eps, ab, abPrev, { eta, clip: o.clip ?? 1, noise }, x);
        done++;
        o.onProgress?.({ done, total: batches * ts.length, images: first + (k + 1 === ts.length ? n : 0), count: o.count, elapsedMs: Date.now() - start });
      }
      const dst = result.subarray(first * px, (first + n) * px);
      for (let i = 0; i < dst.length; i++) dst[i] = Math.min(Math.max((x[i] + 1) / 2, 0), 1);
    }
    return result;
  }

  release(): Promise<void> {
    return this.runner.release();
  }
}

export interface SampleImagesOptions extends SampleOptions {
  readonly config: DiffusionConfig;
  readonly weights: NamedTensors;
  /** Images per session run; default min(count, 16). */
  readonly batchSize?: number;
  readonly runtime?: RuntimeOptions;
}

/** Generates `count` images [count, C, H, W] in [0, 1] with DDIM. */
export async function sampleImages(o: SampleImagesOptions): Promise<Float32Array> {
  const sampler = await DiffusionSampler.create(o.config, o.weights, { batchSize: o.batchSize ?? Math.max(1, Math.min(o.count, 16)), runtime: o.runtime });
  try {
    return await sampler.sample(o);
  } finally {
    await sampler.release();
  }
}

/** An onProgress callback that draws a one-line text progress bar (default on stderr). */
export function progressBar(label = 'sampling', write: (s: string) => void = (s) => void process.stderr.write(s)): (p: SampleProgress) => void {
  return (p) => {
    const width = 30;
    const filled = Math.round((p.done / p.total) * width);
    const secs = (p.elapsedMs / 1000).toFixed(1);
    write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} steps, ${p.images}/${p.count} images, ${secs}s`);
    if (p.done === p.total) write('\n');
  };
}
