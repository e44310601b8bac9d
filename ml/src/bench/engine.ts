/** `npm run bench:engine -w ml`: train-step and inference milliseconds of the reference U-Net on
 * this engine and on PyTorch (Debian's python3-torch, same architecture and thread count), resident
 * memory growth across many training steps, and the same figures for a larger network. Prints JSON.
 * Flags: --steps N (rss run, default 500), --iters N (timed repetitions, default 10),
 * --sizes 64,128, --batch 8, --larger 32,64,128,256 (channels of the larger network), --no-torch.
 * Medians are the headline figures; minima are printed too (this machine is often shared). */
import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import * as path from 'node:path';
import { Graph } from '../graph/graph';
import { InferenceRunner } from '../infer/inference';
import { softmaxCrossEntropy } from '../nn/losses';
import { coreCount, TensorValue } from '../runtime/session';
import { Trainer } from '../train/trainer';
import { totalParameters } from '../weights/named-tensors';
import { referenceUNet } from './unet';

const argv = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const STEPS = Number(flag('steps', '500'));
const ITERS = Number(flag('iters', '10'));
const SIZES = flag('sizes', '64,128').split(',').map(Number);
const BATCH = Number(flag('batch', '8'));
const CLASSES = 12;
const THREADS = coreCount();
const REFERENCE = [16, 32, 64, 128];
const LARGER = flag('larger', '32,64,128,256').split(',').map(Number);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const min = (xs: number[]) => Math.min(...xs);
const round = (x: number) => Math.round(x * 10) / 10;

function batchOf(size: number): Record<string, TensorValue> {
  const image = Float32Array.from({ length: BATCH * 3 * size * size }, () => Math.random());
  const labels = BigInt64Array.from({ length: BATCH * size * size }, () => BigInt(Math.floor(Math.random() * CLASSES)));
  return { image: { shape: [BATCH, 3, size, size], data: image }, labels: { shape: [BATCH, size, size], data: labels } };
}

function trainer(channels: readonly number[]): Trainer {
  return new Trainer({
    model: (g: Graph, b) => ({ losses: { ce: softmaxCrossEntropy(referenceUNet(g, b.image, CLASSES, channels), b.labels) } }),
    optimizer: { kind: 'adam' },
  });
}

async function timeOurs(channels: readonly number[], size: number) {
  const t = trainer(channels);
  const batch = batchOf(size);
  const c0 = performance.now();
  await t.step(batch, 1e-3);
  const compileMs = performance.now() - c0;
  await t.step(batch, 1e-3);
  const train: number[] = [];
  for (let i = 0; i < ITERS; i++) {
    const s = performance.now();
    await t.step(batch, 1e-3);
    train.push(performance.now() - s);
  }
  const runner = await InferenceRunner.create({
    model: (g, i) => ({ logits: referenceUNet(g, i.image, CLASSES, channels) }),
    inputs: { image: { shape: [BATCH, 3, size, size] } },
    weights: t.weights,
  });
  const infer: number[] = [];
  for (let i = 0; i < ITERS + 2; i++) {
    const s = performance.now();
    await runner.run({ image: batch.image });
    if (i >= 2) infer.push(performance.now() - s);
  }
  const params = totalParameters(new Map([...t.weights].filter(([n]) => !n.includes('running_'))));
  await runner.release();
  await t.release();
  return {
    trainStepMs: round(median(train)),
    inferMs: round(median(infer)),
    trainStepMsMin: round(min(train)),
    inferMsMin: round(min(infer)),
    firstStepWithCompileMs: round(compileMs),
    params,
  };
}

function timeTorch(channels: readonly number[], size: number): Record<string, unknown> {
  if (argv.includes('--no-torch')) return { available: false, reason: 'skipped (--no-torch)' };
  const script = path.join(__dirname, '..', '..', 'bench', 'torch_unet.py');
  const r = spawnSync(
    '/usr/bin/python3',
    [script, String(THREADS), String(size), '--batch', String(BATCH), '--iters', String(ITERS), '--channels', channels.join(','), '--classes', String(CLASSES)],
    { encoding: 'utf8' },
  );
  if (r.error || r.status !== 0) return { available: false, reason: `PyTorch run failed: ${r.error?.message ?? r.stderr.trim().split('\n').pop()}` };
  const out = JSON.parse(r.stdout.trim().split('\n').pop() as string);
  if (!out.available) return { available: false, reason: out.reason };
  const res = out.results[0];
  return {
    trainStepMs: round(res.trainStepMs),
    inferMs: round(res.inferMs),
    trainStepMsMin: round(res.trainStepMsMin),
    inferMsMin: round(res.inferMsMin),
    version: out.version,
    params: out.params,
  };
}

async function rssGrowth(steps: number) {
  const t = trainer(REFERENCE);
  const batch = batchOf(64);
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

async function main() {
  const loadAtStart = os.loadavg().map(round);
  const results = [];
  for (const size of SIZES) results.push({ size, ours: await timeOurs(REFERENCE, size), pytorch: timeTorch(REFERENCE, size) });
  const larger = [];
  for (const size of SIZES) larger.push({ size, ours: await timeOurs(LARGER, size), pytorch: timeTorch(LARGER, size) });
  const rss = await rssGrowth(STEPS);
  const report = {
    results,
    rssGrowthPercent: rss.growthPercent,
    rss,
    larger: { channels: LARGER, results: larger },
    config: { network: 'U-Net, two conv-BN-ReLU per level, channels ' + REFERENCE.join('-'), classes: CLASSES, batch: BATCH, optimizer: 'adam', threads: THREADS, iters: ITERS, statistic: 'median' },
    machine: { cpus: os.cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: os.loadavg().map(round) },
  };
  console.log(JSON.stringify(report, null, 2));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
