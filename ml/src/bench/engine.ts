/** `npm run bench:engine -w ml`: train-step and inference milliseconds of the reference U-Net on
 * this engine and on PyTorch (Debian's python3-torch, same architecture and thread count), resident
 * memory growth across many training steps, and the same figures for a larger network. Prints JSON.
 * Flags: --steps N (rss run, default 500), --iters N (timed repetitions, default 10),
 * --sizes 64,128, --batch 8, --larger 32,64,128,256 (channels of the larger network), --no-torch,
 * --ep cpu|cuda|webgpu (our execution provider, default cpu), --python PATH (one with torch, default
 * /usr/bin/python3), --torch-device cpu|cuda (default cpu).
 * Medians are the headline figures; minima are printed too (this machine is often shared). On a
 * provider other than cpu that started, each size also reports how far its losses stray from the
 * cpu's over the same steps from the same weights (agreementWithCpu). */
import * as os from 'node:os';
import { Graph } from '../graph/graph';
import { InferenceRunner } from '../infer/inference';
import { softmaxCrossEntropy } from '../nn/losses';
import { coreCount, EXECUTION_PROVIDERS, ExecutionProvider, RuntimeOptions, TensorValue } from '../runtime/session';
import { Trainer } from '../train/trainer';
import { totalParameters } from '../weights/named-tensors';
import { benchOptions, oneOf, positiveIntegers, positiveNumber, runBenchCommand, valueOption } from './command';
import { matmulPeakGflops, trainStepFlops } from './flops';
import { TorchPlace, TorchServer } from './torch-server';
import { referenceUNet } from './unet';

const CLASSES = 12;
const THREADS = coreCount();
const REFERENCE = [16, 32, 64, 128];
const AGREEMENT_STEPS = 5;
/** What the runtime said (a provider falling back to cpu, say): printed with the figures. */
const notes = new Set<string>();

/** The run's settings, from its flags (see the module's comment). */
interface Run {
  readonly steps: number;
  readonly iters: number;
  readonly sizes: readonly number[];
  readonly batch: number;
  readonly larger: readonly number[];
  readonly ep: ExecutionProvider;
  /** Where the PyTorch twin runs; undefined with --no-torch. */
  readonly torch?: TorchPlace;
  readonly runtime: RuntimeOptions;
}

function readRun(argv: readonly string[]): Run {
  const v = benchOptions(argv, {
    steps: valueOption('500'), iters: valueOption('10'), sizes: valueOption('64,128'), batch: valueOption('8'), larger: valueOption('32,64,128,256'),
    ep: valueOption('cpu'), python: valueOption('/usr/bin/python3'), 'torch-device': valueOption('cpu'), 'no-torch': { type: 'boolean', default: false },
  });
  const ep = oneOf('--ep', v.ep, EXECUTION_PROVIDERS);
  return {
    steps: positiveNumber('--steps', v.steps, true),
    iters: positiveNumber('--iters', v.iters, true),
    sizes: positiveIntegers('--sizes', v.sizes),
    batch: positiveNumber('--batch', v.batch, true),
    larger: positiveIntegers('--larger', v.larger),
    ep,
    torch: v['no-torch'] ? undefined : { python: v.python, device: oneOf<TorchPlace['device']>('--torch-device', v['torch-device'], ['cpu', 'cuda']) },
    runtime: { executionProvider: ep, threads: THREADS, log: (m) => notes.add(m) },
  };
}

/** Pause between the two engines' steps: lets the other one's spinning worker threads go idle. */
const settle = () => new Promise((r) => setTimeout(r, 200));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs: number[]) => Math.min(...xs);
const round = (x: number) => Math.round(x * 10) / 10;

function batchOf(batch: number, size: number): Record<string, TensorValue> {
  const image = Float32Array.from({ length: batch * 3 * size * size }, () => Math.random());
  const labels = BigInt64Array.from({ length: batch * size * size }, () => BigInt(Math.floor(Math.random() * CLASSES)));
  return { image: { shape: [batch, 3, size, size], data: image }, labels: { shape: [batch, size, size], data: labels } };
}

function trainer(channels: readonly number[], runtime: RuntimeOptions): Trainer {
  return new Trainer({
    model: (g: Graph, b) => ({ losses: { ce: softmaxCrossEntropy(referenceUNet(g, b.image, CLASSES, channels), b.labels) } }),
    optimizer: { kind: 'adam' },
    runtime,
  });
}

/** The same steps from the same weights on cpu and on the run's provider: the largest gap between
 * their losses, absolute and relative to the cpu's loss. */
async function agreementWithCpu(run: Run, channels: readonly number[], batch: Record<string, TensorValue>) {
  const [cpu, ep] = [trainer(channels, { threads: THREADS }), trainer(channels, run.runtime)];
  let maxAbs = 0;
  let maxRel = 0;
  for (let i = 0; i < AGREEMENT_STEPS; i++) {
    const [a, b] = [(await cpu.step(batch, 1e-3)).losses.total, (await ep.step(batch, 1e-3)).losses.total];
    maxAbs = Math.max(maxAbs, Math.abs(a - b));
    maxRel = Math.max(maxRel, Math.abs(a - b) / Math.abs(a));
  }
  await cpu.release();
  await ep.release();
  return { steps: AGREEMENT_STEPS, maxAbsLossDifference: maxAbs, maxRelativeLossDifference: maxRel };
}

/** Ours and PyTorch for one network and size, their steps alternating (ours, theirs, ours, ...)
 * so that both see the same machine load. */
async function compare(run: Run, channels: readonly number[], size: number) {
  const t = trainer(channels, run.runtime);
  const batch = batchOf(run.batch, size);
  const c0 = performance.now();
  await t.step(batch, 1e-3);
  const compileMs = performance.now() - c0;
  const runner = await InferenceRunner.create({
    model: (g, i) => ({ logits: referenceUNet(g, i.image, CLASSES, channels) }),
    inputs: { image: { shape: [run.batch, 3, size, size] } },
    weights: t.weights,
  }, run.runtime);
  const torch = run.torch
    ? await TorchServer.start(run.torch, THREADS, size, run.batch, channels, CLASSES)
    : { header: { available: false as const, reason: 'skipped (--no-torch)' }, server: undefined };
  const times = { train: [] as number[], infer: [] as number[], torchTrain: [] as number[], torchInfer: [] as number[] };
  for (let i = 0; i < run.iters + 2; i++) {
    const s = performance.now();
    await t.step(batch, 1e-3);
    const ms = performance.now() - s;
    await settle();
    const theirs = torch.server ? await torch.server.request('train') : NaN;
    await settle();
    if (i >= 2) times.train.push(ms), times.torchTrain.push(theirs);
  }
  for (let i = 0; i < run.iters + 2; i++) {
    const s = performance.now();
    await runner.run({ image: batch.image });
    const ms = performance.now() - s;
    await settle();
    const theirs = torch.server ? await torch.server.request('infer') : NaN;
    await settle();
    if (i >= 2) times.infer.push(ms), times.torchInfer.push(theirs);
  }
  torch.server?.close();
  const params = totalParameters(new Map([...t.weights].filter(([n]) => !n.includes('running_'))));
  await runner.release();
  await t.release();
  const flops = trainStepFlops((g) => referenceUNet(g, g.input('image', [run.batch, 3, size, size]), CLASSES, channels));
  const ours = {
    trainStepMs: round(median(times.train)),
    /** 3 x the forward convolutions' and products' FLOPs / the median step (see flops.ts). */
    achievedGflops: round(flops / median(times.train) / 1e6),
    trainStepGflop: round(flops / 1e9),
    inferMs: round(median(times.infer)),
    trainStepMsMin: round(min(times.train)),
    inferMsMin: round(min(times.infer)),
    firstStepWithCompileMs: round(compileMs),
    params,
  };
  const pytorch = torch.header.available
    ? {
        trainStepMs: round(median(times.torchTrain)),
        inferMs: round(median(times.torchInfer)),
        trainStepMsMin: round(min(times.torchTrain)),
        inferMsMin: round(min(times.torchInfer)),
        version: torch.header.version,
        device: torch.header.device,
        params: torch.header.params,
      }
    : { available: false, reason: torch.header.reason };
  const ratios = torch.header.available
    ? { trainSpeedup: round(pytorch.trainStepMs as number / ours.trainStepMs), inferSpeedup: round(pytorch.inferMs as number / ours.inferMs) }
    : undefined;
  // A provider that fell back (the runtime's only message) would be compared with the cpu itself.
  const agreement = run.ep === 'cpu' || notes.size > 0 ? {} : { agreementWithCpu: await agreementWithCpu(run, channels, batch) };
  return { size, ours, pytorch, ...(ratios ? { speedupOverPytorch: ratios } : {}), ...agreement };
}

async function rssGrowth(run: Run) {
  const { steps } = run;
  const t = trainer(REFERENCE, run.runtime);
  const batch = batchOf(run.batch, 64);
  for (let i = 0; i < 10; i++) await t.step(batch, 1e-3);
  const start = process.memoryUsage().rss;
  let peak = start;
  for (let i = 0; i < steps; i++) {
    await t.step(batch, 1e-3);
    peak = Math.max(peak, process.memoryUsage().rss);
  }
  const end = process.memoryUsage().rss;
  await t.release();
  return { steps, startMiB: round(start / 2 ** 20), endMiB: round(end / 2 ** 20), peakMiB: round(peak / 2 ** 20), growthPercent: round(((end - start) / start) * 100) };
}

async function main(): Promise<number> {
  const run = readRun(process.argv.slice(2));
  const loadAtStart = os.loadavg().map(round);
  const results = [];
  for (const size of run.sizes) results.push(await compare(run, REFERENCE, size));
  const larger = [];
  for (const size of run.sizes) larger.push(await compare(run, run.larger, size));
  const rss = await rssGrowth(run);
  const matmulPeak = round(await matmulPeakGflops(run.runtime));
  const report = {
    /** ONNX Runtime's best MatMul GFLOP/s on this machine in this run: the practical limit to read achievedGflops against. */
    matmulPeakGflops: matmulPeak,
    results,
    rssGrowthPercent: rss.growthPercent,
    rss,
    larger: { channels: run.larger, results: larger },
    config: { network: 'U-Net, two conv-BN-ReLU per level, channels ' + REFERENCE.join('-'), classes: CLASSES, batch: run.batch, optimizer: 'adam', threads: THREADS, iters: run.iters, statistic: 'median', pairing: 'our and PyTorch steps alternate', executionProvider: run.ep, torch: run.torch ?? 'skipped (--no-torch)' },
    notes: [...notes],
    machine: { cpus: os.cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg().map(round) },
  };
  console.log(JSON.stringify(report, null, 2));
  return 0;
}

runBenchCommand('engine', main);
