import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NamedTensors } from '@fedciss/ml';
import { createStrategy, resolveAggregationOptions } from './registry';
import { aggregateBySlices, sliceValuesFor, slicedFromMemory, type SliceSink, type SlicedUpdate } from './sliced';
import { deltaNormOf } from './tensor-walk';
import { update } from '../testing/aggregation';
import { StreamingWeightedMean } from './streaming-mean';
import type { AggregationOptions, ClientUpdate, UpdateKind } from './types';

/** A seeded generator of floats in [-1, 1) (xorshift32), so failures replay. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return ((s >>> 0) / 2 ** 32) * 2 - 1;
  };
}

const SHAPES: Array<[string, number[]]> = [['conv.weight', [3, 2, 5]], ['conv.bias', [3]], ['head.weight', [7, 4]]];

function model(rand: () => number, scale = 1): NamedTensors {
  return new Map(SHAPES.map(([name, shape]) => [name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() * scale) }]));
}

/** Collects the sink's slices into whole tensors, checking they arrive in order and cover each tensor once. */
function memorySink(): SliceSink & { tensors: Map<string, number[]> } {
  const tensors = new Map<string, number[]>();
  return {
    tensors,
    async write(name, from, values) {
      const t = tensors.get(name) ?? [];
      assert.equal(from, t.length, `slice of ${name} at ${from} arrives in order`);
      t.push(...values);
      tensors.set(name, t);
    },
  };
}

/** FedAvg as its strategy runs it, with the JavaScript loop instead of the SIMD kernel. */
function streamingRound(global: NamedTensors, clipNorm: number | null) {
  const mean = new StreamingWeightedMean(global, 'weights', clipNorm, false);
  let samples = 0;
  return {
    add: (u: ClientUpdate) => ((samples += u.sampleCount), mean.add(u)),
    finish: () => ({ contributors: mean.count, totalSamples: samples, clipped: mean.clipped, weights: mean.result() }),
  };
}

async function compare(options: AggregationOptions, sites: number, kinds: (i: number) => UpdateKind, budgetBytes: number, seed: number): Promise<void> {
  const rand = prng(seed);
  const global = model(rand);
  const locals = Array.from({ length: sites }, (_, i) => {
    const kind = kinds(i);
    const delta = model(rand, 0.5 + i);
    const tensors: NamedTensors = kind === 'delta' ? delta : new Map([...global].map(([n, g]) => [n, { shape: g.shape, data: g.data.map((v, j) => v + delta.get(n)!.data[j]) }]));
    return { siteId: `s${i}`, sampleCount: 1 + (i % 4), kind, tensors };
  });
  const resolved = resolveAggregationOptions(options);
  // FedAvg's reference is its JavaScript loop: the WebAssembly SIMD kernel rounds differently (1 ulp).
  const round = options.strategy === 'fedavg' ? streamingRound(global, resolved.clipNorm) : createStrategy(options).begin(global, null);
  for (const l of locals) round.add(update(l.siteId, l.sampleCount, l.kind, l.tensors, deltaNormOf(global, update(l.siteId, l.sampleCount, l.kind, l.tensors))));
  const expected = round.finish();
  const sink = memorySink();
  const sliced: SlicedUpdate[] = locals.map((l) => ({ ...l, deltaNorm: deltaNormOf(global, update(l.siteId, l.sampleCount, l.kind, l.tensors)), tensors: slicedFromMemory(l.tensors) }));
  const r = await aggregateBySlices(resolved, slicedFromMemory(global), sliced, sink, budgetBytes);
  assert.deepEqual([r.contributors, r.totalSamples, r.clipped], [expected.contributors, expected.totalSamples, expected.clipped]);
  assert.ok(r.scratchBytes <= budgetBytes, `scratch ${r.scratchBytes} within the budget ${budgetBytes}`);
  for (const [name, t] of expected.weights) {
    const got = Float32Array.from(sink.tensors.get(name)!);
    assert.deepEqual(got, Float32Array.from(t.data), `${options.strategy}: ${name}, ${sites} sites, budget ${budgetBytes}`);
  }
}

describe('aggregation by slices gives exactly the in-memory strategies\' result', () => {
  // Budgets from 3 values per slice (slices cut tensors at odd places) to whole tensors.
  for (const strategy of ['median', 'trimmed-mean', 'fedavg'] as const) {
    for (const sites of [1, 2, 5, 8]) {
      it(`${strategy}, ${sites} sites, weights and deltas mixed, with and without clipping`, async () => {
        for (const [budgetValues, clipNorm] of [[3, null], [17, 2.5], [10_000, null], [10_000, 4]] as const) {
          await compare({ strategy, clipNorm, ...(strategy === 'trimmed-mean' ? { trimFraction: 0.25 } : {}) }, sites, (i) => (i % 3 === 1 ? 'delta' : 'weights'), budgetValues * (sites + 2) * 4, 7 + sites);
        }
      });
    }
  }
});

describe('aggregation by slices refuses what it cannot do', () => {
  const rand = prng(3);
  const global = slicedFromMemory(model(rand));
  const one = (tensors: NamedTensors, deltaNorm?: number): SlicedUpdate => ({ siteId: 'a', sampleCount: 1, kind: 'weights', tensors: slicedFromMemory(tensors), ...(deltaNorm === undefined ? {} : { deltaNorm }) });
  it('names a missing tensor and a shape that differs', async () => {
    const m = model(rand);
    m.delete('conv.bias');
    await assert.rejects(aggregateBySlices(resolveAggregationOptions({ strategy: 'median' }), global, [one(m)], memorySink(), 1 << 20), /conv\.bias/);
    const bad = model(rand);
    bad.set('head.weight', { shape: [4, 7], data: bad.get('head.weight')!.data });
    await assert.rejects(aggregateBySlices(resolveAggregationOptions({ strategy: 'median' }), global, [one(bad)], memorySink(), 1 << 20), /'head\.weight' has shape \[4, 7\], the global model \[7, 4\]/);
  });
  it('needs the delta norm to clip, and refuses server-optimizer strategies and a budget below one value per update', async () => {
    await assert.rejects(aggregateBySlices(resolveAggregationOptions({ strategy: 'median', clipNorm: 1 }), global, [one(model(rand))], memorySink(), 1 << 20), /clipping needs its deltaNorm/);
    await assert.rejects(aggregateBySlices(resolveAggregationOptions({ strategy: 'fedadam' }), global, [one(model(rand))], memorySink(), 1 << 20), /keeps server state/);
    assert.throws(() => sliceValuesFor(100, 100, 10), /cannot hold one value of 100 updates/);
  });
});
