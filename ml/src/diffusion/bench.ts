/** `npm run bench:diffusion`: training-step time and generated images per second of the diffusion
 * generator at the default configuration, as one JSON document on stdout.
 * Flags: --image-size N, --base N, --batch N (train batch, default 16), --train-steps N (timed,
 * default 5), --count N (images to sample, default 16), --ddim-steps N (default 50),
 * --sample-batch N (default 16), --ep cpu|cuda|webgpu, --threads N. */
import { benchOptions, oneOf, positiveNumber, runBenchCommand, valueOption } from '../bench/command';
import { matmulPeakGflops, trainStepFlops } from '../bench/flops';
import { coreCount, EXECUTION_PROVIDERS, RuntimeOptions } from '../runtime/session';
import { totalParameters } from '../weights/named-tensors';
import { DiffusionSampler } from './sample';
import { trainDiffusion } from './train';
import { createDiffusionWeights, DEFAULT_DIFFUSION_CONFIG, denoiser, diffusionConfig, diffusionGeometry } from './unet';

async function main(): Promise<number> {
  const v = benchOptions(process.argv.slice(2), {
    'image-size': valueOption(DEFAULT_DIFFUSION_CONFIG.imageSize), base: valueOption(DEFAULT_DIFFUSION_CONFIG.baseChannels), batch: valueOption(16), 'train-steps': valueOption(5),
    count: valueOption(16), 'ddim-steps': valueOption(50), 'sample-batch': valueOption(16), ep: valueOption('cpu'), threads: { type: 'string' },
  });
  const int = (name: Exclude<keyof typeof v, 'ep' | 'threads'>) => positiveNumber(`--${name}`, v[name], true);
  const config = diffusionConfig({ imageSize: int('image-size'), baseChannels: int('base') });
  const batch = int('batch');
  const timedSteps = int('train-steps');
  const count = int('count');
  const ddimSteps = int('ddim-steps');
  const sampleBatch = int('sample-batch');
  const ep = oneOf('--ep', v.ep, EXECUTION_PROVIDERS);
  const notes: string[] = [];
  const runtime: RuntimeOptions = { executionProvider: ep, threads: v.threads === undefined ? undefined : positiveNumber('--threads', v.threads, true), log: (m) => notes.push(m) };
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
  return 0;
}

runBenchCommand('diffusion', main);
