import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allocateMean } from './simd-kernel';
import { StreamingWeightedMean } from './streaming-mean';
import { tensors, update } from '../testing/aggregation';

describe('SIMD running-mean kernel', () => {
  it('is available here and matches the hand-computed step, tail included', () => {
    const { arrays, step } = allocateMean([3, 19]);
    assert.ok(step, 'WebAssembly SIMD should be available on Node 20');
    arrays[1].fill(1);
    // 1 + 0.5·(x − 1) = (x + 1)/2 for x = 0..18 (16 values in SIMD, 3 in the scalar tail)
    step(1, Float32Array.from({ length: 19 }, (_, i) => i), 0.5);
    assert.deepEqual([...arrays[1]], Array.from({ length: 19 }, (_, i) => (i + 1) / 2));
    assert.deepEqual([...arrays[0]], [0, 0, 0], 'the neighbouring tensor is untouched');
  });

  it('falls back to plain arrays when asked', () => {
    const { arrays, step } = allocateMean([3, 5], false);
    assert.equal(step, null);
    assert.deepEqual(arrays.map((a) => a.length), [3, 5]);
  });

  it('streamed FedAvg agrees with the Float64 reference over 200 sites', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const shapes: Record<string, number[]> = { a: [5, 7], b: [1], c: [64] };
    const global = tensors(Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, [s, new Array(s.reduce((x, y) => x * y)).fill(0)]])));
    const simd = new StreamingWeightedMean(global, 'weights');
    const scalar = new StreamingWeightedMean(global, 'weights', null, false);
    const ref = new Map([...global].map(([k, t]) => [k, new Float64Array(t.data.length)]));
    let W = 0;
    for (let site = 0; site < 200; site++) {
      const w = 1 + (site % 5);
      const u = tensors(Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, [s, new Array(s.reduce((x, y) => x * y)).fill(0).map(rand)]])));
      simd.add(update(`s${site}`, w, 'weights', u));
      scalar.add(update(`s${site}`, w, 'weights', u));
      for (const [k, t] of u) t.data.forEach((v, i) => (ref.get(k)![i] += w * v));
      W += w;
    }
    const [ms, mj] = [simd.result(), scalar.result()];
    for (const [k, r] of ref) {
      r.forEach((v, i) => {
        assert.ok(Math.abs(ms.get(k)!.data[i] - v / W) < 2e-6, `simd ${k}[${i}]`);
        assert.ok(Math.abs(mj.get(k)!.data[i] - v / W) < 1e-6, `scalar ${k}[${i}]`);
      });
    }
  });
});
