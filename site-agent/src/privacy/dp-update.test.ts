import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NamedTensors } from '@fedciss/ml';
import { cryptoGaussian, privatiseUpdate } from './dp-update';

const model = (values: number[]): NamedTensors => new Map([['w', { shape: [values.length], data: Float32Array.from(values) }]]);

test('a delta longer than the bound is scaled to it; a shorter one is left alone (no noise)', () => {
  const global = model([1, 1, 1]);
  // delta (3, 4, 0): norm 5, clipped to 1 → (0.6, 0.8, 0).
  const clipped = privatiseUpdate(global, model([4, 5, 1]), { clipNorm: 1, noiseStddev: 0 });
  assert.equal(clipped.deltaNorm, 5);
  assert.equal(clipped.clipFactor, 0.2);
  assert.deepEqual([...clipped.weights.get('w')!.data].map((v) => Math.round(v * 1e6) / 1e6), [1.6, 1.8, 1]);
  const kept = privatiseUpdate(global, model([1.3, 1.4, 1]), { clipNorm: 1, noiseStddev: 0 });
  assert.equal(kept.clipFactor, 1);
  assert.ok(Math.abs(kept.weights.get('w')!.data[0] - 1.3) < 1e-6);
});

test('the noise has the asked standard deviation and mean 0, and differs on every call (not seeded)', () => {
  const n = 200_000;
  const zeros = model(new Array(n).fill(0));
  const first = privatiseUpdate(zeros, zeros, { clipNorm: 1, noiseStddev: 0.5 }).weights.get('w')!.data;
  let sum = 0;
  let sq = 0;
  for (const v of first) (sum += v), (sq += v * v);
  const mean = sum / n;
  const sd = Math.sqrt(sq / n - mean * mean);
  // Standard error of the mean 0.5/√n ≈ 0.0011; of the sd ≈ 0.5/√(2n) ≈ 0.0008.
  assert.ok(Math.abs(mean) < 0.006, `mean ${mean}`);
  assert.ok(Math.abs(sd - 0.5) < 0.005, `sd ${sd}`);
  const second = privatiseUpdate(zeros, zeros, { clipNorm: 1, noiseStddev: 0.5 }).weights.get('w')!.data;
  assert.notDeepEqual(first.subarray(0, 8), second.subarray(0, 8));
});

test('the Gaussian source has normal tails: 4.55% beyond 2σ, 0.27% beyond 3σ', () => {
  const g = cryptoGaussian();
  const n = 400_000;
  let beyond2 = 0;
  let beyond3 = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.abs(g());
    if (x > 2) beyond2++;
    if (x > 3) beyond3++;
  }
  assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.002, `beyond 2σ: ${beyond2 / n}`);
  assert.ok(Math.abs(beyond3 / n - 0.0027) < 0.0005, `beyond 3σ: ${beyond3 / n}`);
});

test('mismatched models are refused with the tensor named', () => {
  assert.throws(() => privatiseUpdate(model([1, 2]), model([1, 2, 3]), { clipNorm: 1, noiseStddev: 0 }), /tensor 'w'.*2 vs 3 values/);
});

test('adaptive clipping: the bit says whether the delta was within the bound, plus the count noise', () => {
  const global = model([0, 0]);
  const zero = () => 0; // no noise: the bits themselves
  assert.equal(privatiseUpdate(global, model([3, 4]), { clipNorm: 5, noiseStddev: 0, countNoiseStddev: 1 }, zero).unclippedIndicator, 1, 'norm 5 = C: within');
  assert.equal(privatiseUpdate(global, model([3, 4.01]), { clipNorm: 5, noiseStddev: 0, countNoiseStddev: 1 }, zero).unclippedIndicator, 0);
  // A draw of 0.25 (standard normal) with count noise 2 moves the bit by 0.5.
  assert.equal(privatiseUpdate(global, model([1, 0]), { clipNorm: 5, noiseStddev: 0, countNoiseStddev: 2 }, () => 0.25).unclippedIndicator, 1.5);
  assert.equal(privatiseUpdate(global, model([1, 0]), { clipNorm: 5, noiseStddev: 0 }).unclippedIndicator, undefined, 'no bit without adaptive clipping');
});
