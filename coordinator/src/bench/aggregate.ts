/**
 * Aggregation benchmark (`npm run bench:aggregate -w coordinator`): streams 10 updates of a
 * 50M-parameter model through FedAvg, each generated on the fly tensor by tensor (as the service
 * would decode a stored upload), and times the aggregation next to a plain memory copy of the same
 * bytes in the same process. Prints one JSON document.
 *
 * Figures:
 *   aggregateGBps   update bytes folded into the running weighted mean per second (FedAvg add)
 *   copyGBps        the same bytes copied (TypedArray.set) into a model-sized destination; the two
 *                   are measured interleaved, update by update, so machine load hits both alike;
 *                   both are the median update's throughput (…Total: over all updates)
 *   validateGBps    update bytes checked by validateUpdate (names, shapes, finite, delta norm)
 *   peakRssBytes    peak resident memory of a FedAvg round on its own (validate + aggregate each
 *                   update; VmHWM, reset before it): the global model, the mean, one tensor of
 *                   the update, and Node itself
 *   perStrategy     the other strategies on the same updates, each in a fresh child process so
 *                   its peak memory is its own (aggregateGBpsTotal: over all updates, the first
 *                   one's page faults included); median / trimmed mean, which hold every update,
 *                   on a tenth of the model (see their modelParameters)
 * Generation time is excluded from every throughput. Options: --params N, --updates N, --no-extra
 * (--only S: internal, one other strategy's child process).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { NamedTensor, NamedTensors } from '@fedciss/ml';
import { BenchUserError, benchOptions, oneOf, positiveNumber, runBenchCommand, valueOption } from '@fedciss/ml/bench';
import { createStrategy } from '../aggregation/registry';
import type { ClientUpdate, StrategyName } from '../aggregation/types';
import { modelReference, validateUpdate } from '../aggregation/validator';

interface Args {
  params: number;
  updates: number;
  extra: boolean;
  /** Internal: measure one other strategy in this (child) process. */
  only: StrategyName | null;
}

const STRATEGIES = ['fedprox', 'fedadam', 'fedyogi', 'median', 'trimmed-mean'] as const satisfies readonly StrategyName[];

function parseArgs(argv: string[]): Args {
  const v = benchOptions(argv, { params: valueOption(50_000_000), updates: valueOption(10), 'no-extra': { type: 'boolean', default: false }, only: { type: 'string' } });
  const params = positiveNumber('--params', v.params, true);
  if (params < MIN_PARAMS) throw new BenchUserError(`--params must be at least ${MIN_PARAMS}, got '${v.params}'`);
  return {
    params,
    updates: positiveNumber('--updates', v.updates, true),
    extra: !v['no-extra'],
    only: v.only === undefined ? null : oneOf('--only', v.only, STRATEGIES),
  };
}

/** The fewest parameters `layout` spreads over its tensors (its 32 biases alone take 8192). */
const MIN_PARAMS = 100_000;

/** A segmentation-network-like layout: a few large convolution weights, mid-size ones, biases. */
function layout(params: number): Array<[string, number[]]> {
  const out: Array<[string, number[]]> = [];
  const big = Math.floor((params * 0.9) / 24 / 9) * 9; // 24 tensors, 3×3 kernels
  for (let i = 0; i < 24; i++) out.push([`encoder.${i}.conv.weight`, [big / 9, 1, 3, 3]]);
  for (let i = 0; i < 32; i++) out.push([`decoder.${i}.bias`, [256]]);
  let rest = params - 24 * big - 32 * 256;
  const mid = Math.floor(rest / 8);
  for (let i = 0; i < 7; i++) out.push([`decoder.${i}.conv.weight`, [mid]]);
  rest -= 7 * mid;
  out.push(['head.weight', [rest]]);
  return out;
}

/** Deterministic pseudo-random fill: x[i] = base[i] + scale·u, u uniform in [−0.5, 0.5). */
function fill(out: Float32Array, seed: number, scale: number, base?: Float32Array): void {
  let h = seed | 0 || 1;
  for (let i = 0; i < out.length; i++) {
    h ^= h << 13;
    h ^= h >>> 17;
    h ^= h << 5;
    const u = (h >>> 0) * 2.3283064365386963e-10 - 0.5;
    out[i] = (base ? base[i] : 0) + scale * u;
  }
}

const clock = { gen: 0 };

/**
 * One site's update, produced tensor by tensor into one reused scratch buffer: a one-shot stream
 * whose memory is one tensor, as when decoding a stored upload. Time spent generating is added to
 * `clock.gen` so that it can be subtracted.
 */
function* streamedUpdate(global: NamedTensors, site: number, scratch: Float32Array): Generator<[string, NamedTensor]> {
  let k = 0;
  for (const [name, g] of global) {
    const t0 = performance.now();
    const data = scratch.subarray(0, g.data.length);
    fill(data, 1 + site * 7919 + k++ * 104729, 1e-3, g.data);
    clock.gen += performance.now() - t0;
    yield [name, { shape: g.shape, data }];
  }
}

function materialisedUpdate(global: NamedTensors, site: number): NamedTensors {
  const out: NamedTensors = new Map();
  let k = 0;
  for (const [name, g] of global) {
    const data = new Float32Array(g.data.length);
    fill(data, 1 + site * 7919 + k++ * 104729, 1e-3, g.data);
    out.set(name, { shape: g.shape, data });
  }
  return out;
}

function makeGlobal(params: number): NamedTensors {
  const g: NamedTensors = new Map();
  let k = 0;
  for (const [name, shape] of layout(params)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    fill(data, 12345 + k++, 0.1);
    g.set(name, { shape, data });
  }
  return g;
}

function maxTensor(g: NamedTensors): number {
  let m = 0;
  for (const t of g.values()) m = Math.max(m, t.data.length);
  return m;
}

/** Peak RSS since the last reset (Linux VmHWM), or the current RSS elsewhere. */
function peakRss(): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* not Linux */
  }
  return process.memoryUsage().rss;
}

function resetPeakRss(): boolean {
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    return true;
  } catch {
    return false;
  }
}

// Collect garbage between phases so one phase's freed models do not count in the next one's peak.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

const gbps = (bytes: number, ms: number): number => Math.round((bytes / 1e9 / (ms / 1e3)) * 100) / 100;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Streams `updates` updates through `strategy`, validating each first; returns times in ms, generation excluded. */
function runStreaming(strategy: StrategyName, global: NamedTensors, updates: number, validate: boolean) {
  const scratch = new Float32Array(maxTensor(global));
  const reference = modelReference(global);
  const limits = { maxDeltaNorm: null, maxRelativeDeltaNorm: 10, maxSampleCount: 1e7 };
  const round = createStrategy({ strategy }).begin(global, null);
  let validateMs = 0;
  let addMs = 0;
  for (let site = 0; site < updates; site++) {
    const sampleCount = 100 + 10 * site;
    let deltaNorm: number | undefined;
    if (validate) {
      clock.gen = 0;
      const t0 = performance.now();
      const verdict = validateUpdate(reference, { sampleCount, kind: 'weights', tensors: streamedUpdate(global, site, scratch) }, limits);
      validateMs += performance.now() - t0 - clock.gen;
      if (!verdict.ok) throw new Error(`bench update rejected: ${verdict.rejection.reason}`);
      deltaNorm = verdict.deltaNorm;
    }
    clock.gen = 0;
    const update: ClientUpdate = {
      siteId: `site-${site}`,
      sampleCount,
      kind: 'weights',
      tensors: streamedUpdate(global, site, scratch),
      ...(deltaNorm === undefined ? {} : { deltaNorm }),
    };
    const t0 = performance.now();
    round.add(update);
    addMs += performance.now() - t0 - clock.gen;
  }
  const t0 = performance.now();
  const result = round.finish();
  const finishMs = performance.now() - t0;
  return { validateMs, addMs, finishMs, result };
}

/**
 * Throughput, with aggregation and copy interleaved update by update (alternating which goes
 * first), so that both see the same machine load; a fresh round and a fresh copy destination.
 */
function runInterleaved(global: NamedTensors, updates: number): { addMs: number[]; copyMs: number[] } {
  const scratch = new Float32Array(maxTensor(global));
  const dst: Float32Array[] = [...global.values()].map((t) => new Float32Array(t.data.length));
  const round = createStrategy({ strategy: 'fedavg' }).begin(global, null);
  const addMs: number[] = [];
  const copyMs: number[] = [];
  const add = (site: number) => {
    clock.gen = 0;
    const t0 = performance.now();
    round.add({ siteId: `site-${site}`, sampleCount: 100 + site, kind: 'weights', tensors: streamedUpdate(global, site, scratch) });
    addMs.push(performance.now() - t0 - clock.gen);
  };
  const copy = (site: number) => {
    clock.gen = 0;
    let k = 0;
    const t0 = performance.now();
    for (const [, t] of streamedUpdate(global, site, scratch)) dst[k++].set(t.data);
    copyMs.push(performance.now() - t0 - clock.gen);
  };
  for (let site = 0; site < updates; site++) {
    if (site % 2 === 0) {
      add(site);
      copy(site);
    } else {
      copy(site);
      add(site);
    }
  }
  round.finish();
  return { addMs, copyMs };
}

function runBuffered(strategy: StrategyName, global: NamedTensors, updates: number) {
  const round = createStrategy({ strategy }).begin(global, null);
  for (let site = 0; site < updates; site++) {
    round.add({ siteId: `site-${site}`, sampleCount: 100, kind: 'weights', tensors: materialisedUpdate(global, site) });
  }
  const t0 = performance.now();
  round.finish();
  return performance.now() - t0;
}

/** One other strategy, in its own process: streamed ones on the full model, robust ones on a tenth of it. */
function measureOne(strategy: StrategyName, args: Args): Record<string, unknown> {
  const small = makeGlobal(200_000);
  if (strategy === 'median' || strategy === 'trimmed-mean') {
    runBuffered(strategy, small, 3);
    // The robust statistics hold every update: measured on a tenth of the model.
    const params = Math.max(MIN_PARAMS, Math.floor(args.params / 10));
    const global = makeGlobal(params);
    collect();
    resetPeakRss();
    const ms = runBuffered(strategy, global, args.updates);
    const peak = peakRss();
    return {
      modelParameters: params,
      finishGBps: gbps(params * 4 * args.updates, ms),
      finishMs: Math.round(ms),
      peakRssBytes: peak,
      peakRssModels: Math.round((peak / (params * 4)) * 100) / 100,
      memory: 'holds every update until finish (N models)',
    };
  }
  runStreaming(strategy, small, 3, false);
  const global = makeGlobal(args.params);
  collect();
  resetPeakRss();
  const r = runStreaming(strategy, global, args.updates, false);
  const peak = peakRss();
  return {
    aggregateGBpsTotal: gbps(args.params * 4 * args.updates, r.addMs),
    finishMs: Math.round(r.finishMs),
    peakRssBytes: peak,
    peakRssModels: Math.round((peak / (args.params * 4)) * 100) / 100,
  };
}

function main(): number {
  const args = parseArgs(process.argv.slice(2));
  if (args.only) {
    process.stdout.write(JSON.stringify(measureOne(args.only, args)));
    return 0;
  }
  // Warm the JIT on a small model so that the measured runs use optimised code.
  const small = makeGlobal(200_000);
  for (let i = 0; i < 3; i++) {
    runStreaming('fedavg', small, 3, true);
    runInterleaved(small, 3);
  }

  const global = makeGlobal(args.params);
  const modelBytes = args.params * 4;
  const updateBytes = modelBytes * args.updates;
  const baselineRss = process.memoryUsage().rss;

  collect();
  const peakResettable = resetPeakRss();
  const fedavg = runStreaming('fedavg', global, args.updates, true);
  const peakRssBytes = peakRss();
  const checksum = fedavg.result.weights.get('head.weight')!.data[0];
  fedavg.result.weights.clear();
  collect();

  const interleaved = runInterleaved(global, args.updates);
  collect();

  // Each other strategy in a fresh process, so that its peak memory is its own (the allocator
  // keeps freed pages of earlier phases resident).
  const perStrategy: Record<string, unknown> = {};
  if (args.extra) {
    for (const s of STRATEGIES) {
      const child = spawnSync(
        process.execPath,
        [process.argv[1], '--only', s, '--params', String(args.params), '--updates', String(args.updates)],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      // a failed child's first line is runBenchCommand's "bench:aggregate failed: <the error>"
      perStrategy[s] = child.status === 0 ? JSON.parse(child.stdout) : { error: child.stderr.trim().split('\n')[0] };
    }
  }

  // Headline figures: the median update (robust to load spikes on a shared machine); totals as well.
  const aggregateGBps = gbps(modelBytes, median(interleaved.addMs));
  const copyGBps = gbps(modelBytes, median(interleaved.copyMs));
  const report = {
    benchmark: 'aggregate',
    strategy: 'fedavg',
    parameters: args.params,
    updates: args.updates,
    modelBytes,
    aggregateGBps,
    copyGBps,
    aggregateToCopy: Math.round((aggregateGBps / copyGBps) * 100) / 100,
    validateGBps: gbps(updateBytes, fedavg.validateMs),
    aggregateGBpsTotal: gbps(updateBytes, sum(interleaved.addMs)),
    copyGBpsTotal: gbps(updateBytes, sum(interleaved.copyMs)),
    aggregateMsPerUpdate: interleaved.addMs.map(Math.round),
    copyMsPerUpdate: interleaved.copyMs.map(Math.round),
    validateMs: Math.round(fedavg.validateMs),
    aggregateGBpsMemoryPhase: gbps(updateBytes, fedavg.addMs),
    peakRssBytes,
    peakRssModels: Math.round((peakRssBytes / modelBytes) * 100) / 100,
    peakRssMeasure: peakResettable ? 'VmHWM of the FedAvg phase (validate + aggregate)' : 'process RSS after the FedAvg phase',
    rssBeforeBytes: baselineRss,
    targets: {
      aggregateAtLeastHalfOfCopy: aggregateGBps >= copyGBps / 2,
      peakRssUnderThreeModels: peakRssBytes < 3 * modelBytes,
    },
    perStrategy,
    checksum,
    node: process.version,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

runBenchCommand('aggregate', main);
