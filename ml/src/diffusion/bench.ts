/** `npm run bench:diffusion`: training-step time and generated images per second of the diffusion
 * generator at the default configuration, as one JSON document on stdout.
 * Flags: --image-size N, --base N, --batch N (train batch, default 16), --train-steps N (timed,
 * default 5), --count N (images to sample, default 16), --ddim-steps N (default 50),
 * --sample-batch N (default 16), --ep cpu|cuda|webgpu, --threads N. */
import { matmulPeakGflops, trainStepFlops } from '../bench/flops';
import { coreCount, ExecutionProvider, RuntimeOptions } from '../runtime/session';
import { totalParameters } from '../weights/named-tensors';
import { DiffusionSampler } from './sample';
import { trainDiffusion } from './train';
import { createDiffusionWeights, DEFAULT_DIFFUSION_CONFIG, denoiser, diffusionConfig, diffusionGeometry } from './unet';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, dflt: number) => {
  const v = flag(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got '${v}'`);
  return n;
};

async function main(): Promise<void> {
  const config = diffusionConfig({
    imageSize: num('image-size', DEFAULT_DIFFUSION_CONFIG.imageSize),
    baseChannels: num('base', DEFAULT_DIFFUSION_CONFIG.baseChannels),
  });
  const batch = num('batch', 16);
  const timedSteps = num('train-steps', 5);
  const count = num('count', 16);
  const ddimSteps = num('ddim-steps', 50);
  const sampleBatch = num('sample-batch', 16);
  const ep = (flag('ep') ?? 'cpu') as ExecutionProvider;
  const notes: string[] = [];
  const runtime: RuntimeOptions = { executionProvider: ep, threads: flag('threads') ? num('threads', 1) : undefined, log: (m) => notes.push(m) };
  const geo = diffusionGeometry(config);
  const px = geo.channels * geo.height * geo.width;
  const images = Array.from({ length: batch * 2 }, (_, i) => Float32Array.from({ length: px }, (_, j) => ((i * 31 + j * 7) % 97) / 96));
  const weights = createDiffusionWeights(config, 1);

  const t0 = Date.now();
  const train = await trainDiffusion({ config, weights, images, steps: timedSteps + 1, batchSize: batch, runtime });
  const trainTotalMs = Date.now() - t0;
  const firstStepMs = trainTotalMs - train.stepMs * timedSteps;

  const c0 = Date.now();
  const sampler = await DiffusionSampler.create(config, train.emaWeights, { batchSize: sampleBatch, runtime });
  const compileMs = Date.now() - c0;
  await sampler.sample({ count: Math.min(count, sampleBatch), steps: 2 }); // warm-up
  const s0 = Date.now();
  await sampler.sample({ count, steps: ddimSteps, seed: 2 });
  const sampleMs = Date.now() - s0;
  await sampler.release();
  const batches = Math.ceil(count / sampleBatch);
  const flops = trainStepFlops((g) => denoiser(g, g.input('x', [batch, geo.channels, geo.height, geo.width]), g.input('t', [batch]), config));
  const matmulPeak = await matmulPeakGflops(runtime);

  const report = {
    benchmark: 'diffusion',
    executionProvider: ep,
    threads: runtime.threads ?? coreCount(),
    config,
    parameters: totalParameters(weights),
    train: { batchSize: batch, timedSteps, firstStepMs: Math.round(firstStepMs), lossAfter: train.losses.at(-1) },
    trainStepMs: Math.round(train.stepMs * 10) / 10,
    /** 3 x the forward convolutions' and products' FLOPs / the mean step (see bench/flops.ts). */
    achievedGflops: Math.round((flops / train.stepMs / 1e6) * 10) / 10,
    /** ONNX Runtime's best MatMul GFLOP/s on this machine, measured in this run. */
    matmulPeakGflops: Math.round(matmulPeak * 10) / 10,
    trainImagesPerSecond: Math.round((batch / train.stepMs) * 1000 * 10) / 10,
    sampling: { count, ddimSteps, batchSize: sampleBatch, compileMs, totalMs: sampleMs, denoiserRunMs: Math.round((sampleMs / (batches * ddimSteps)) * 10) / 10 },
    imagesPerSecond: Math.round((count / sampleMs) * 1000 * 100) / 100,
    notes,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).stack ?? e}\n`);
  process.exitCode = 1;
});
