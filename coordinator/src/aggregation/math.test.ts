import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  adaptiveServerStep,
  clipFactor,
  coordinateTrimmedMean,
  firstNonFinite,
  medianTrim,
  runningMeanStep,
  sumOfSquaredDifferences,
  sumOfSquares,
  trimCount,
  trimmedMeanOf,
} from './math';
import { assertClose } from '../testing/aggregation';

const f32 = (...v: number[]) => Float32Array.from(v);

describe('aggregation maths', () => {
  it('norms and finiteness', () => {
    assert.equal(sumOfSquares(f32(3, 4)), 25);
    assert.equal(sumOfSquaredDifferences(f32(4, 6), f32(1, 2)), 25); // 3² + 4²
    assert.equal(firstNonFinite(f32(1, 2, 3)), -1);
    assert.equal(firstNonFinite(f32(1, NaN, Infinity)), 1);
    assert.equal(firstNonFinite(f32(1, 2, -Infinity)), 2);
    assert.equal(clipFactor(5, 1), 0.2);
    assert.equal(clipFactor(0.5, 1), 1);
    assert.equal(clipFactor(0, 1), 1);
  });

  it('running weighted mean: weights 1 and 3', () => {
    // mean of [1, 2]·1 and [4, 8]·3 = [(1 + 12)/4, (2 + 24)/4] = [3.25, 6.5]
    const mean = new Float32Array(2);
    const x1 = f32(1, 2);
    const x2 = f32(4, 8);
    runningMeanStep(mean, x1, 1 / 1); // f = w/(W + w) = 1/1
    assert.deepEqual([...mean], [1, 2]);
    runningMeanStep(mean, x2, 3 / 4); // f = 3/(1 + 3)
    assert.deepEqual([...mean], [3.25, 6.5]);
    assert.deepEqual([...x1, ...x2], [1, 2, 4, 8], 'inputs untouched');
  });

  it('running mean of an affine term a·x + b·g', () => {
    // a = 0.5, b = 0.5: x = [4], g = [2] gives 0.5·4 + 0.5·2 = 3
    const mean = new Float32Array(1);
    runningMeanStep(mean, f32(4), 1, 0.5, 0.5, f32(2));
    assert.deepEqual([...mean], [3]);
    // a = 2, b = 0 (delta scaled): [1.5] → 3; mean with weight 1:1 → (3 + 3)/2 = 3
    runningMeanStep(mean, f32(1.5), 0.5, 2, 0);
    assert.deepEqual([...mean], [3]);
  });

  it('running mean in Float32 stays close to a Float64 sum over many sites', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const n = 1000;
    const sites = 200;
    const mean = new Float32Array(n);
    const ref = new Float64Array(n);
    let W = 0;
    for (let k = 0; k < sites; k++) {
      const w = 1 + (k % 7);
      const x = new Float32Array(n).map(() => rand());
      runningMeanStep(mean, x, w / (W + w));
      for (let i = 0; i < n; i++) ref[i] += w * x[i];
      W += w;
    }
    let maxErr = 0;
    for (let i = 0; i < n; i++) maxErr = Math.max(maxErr, Math.abs(mean[i] - ref[i] / W));
    assert.ok(maxErr < 1e-6, `max error ${maxErr}`);
  });

  it('trimmed mean, median as its special case', () => {
    // sorted [1, 2, 3, 4, 5]; trim 1 each side → (2 + 3 + 4)/3 = 3
    assert.equal(trimmedMeanOf(Float64Array.from([5, 1, 4, 2, 3]), 5, 1), 3);
    // median of 5: trim ⌊4/2⌋ = 2 → 3
    assert.equal(trimmedMeanOf(Float64Array.from([5, 1, 4, 2, 100]), 5, medianTrim(5)), 4);
    // median of 4 values [1, 2, 3, 4]: trim 1 → (2 + 3)/2 = 2.5
    assert.equal(trimmedMeanOf(Float64Array.from([4, 1, 3, 2]), 4, medianTrim(4)), 2.5);
    // trim 0 is the plain mean: (1 + 2 + 6)/3 = 3
    assert.equal(trimmedMeanOf(Float64Array.from([6, 1, 2]), 3, 0), 3);
    assert.equal(trimCount(10, 0.2), 2);
    assert.equal(trimCount(4, 0.49), 1); // ⌊1.96⌋
    assert.equal(trimCount(2, 0.49), 0);
    assert.equal(medianTrim(1), 0);
  });

  it('coordinate-wise trimmed mean over affine terms', () => {
    // columns: [1, 2, 100] → median 2; [10, -5, 0] → median 0
    const out = new Float32Array(2);
    const terms = [
      { x: f32(1, 10), a: 1, b: 0 },
      { x: f32(2, -5), a: 1, b: 0 },
      { x: f32(100, 0), a: 1, b: 0 },
    ];
    coordinateTrimmedMean(terms, 1, out);
    assert.deepEqual([...out], [2, 0]);
    // with g = [1, 1] and b = 1 (deltas added to g): [2, 3, 101] → 3; [11, -4, 1] → 1
    coordinateTrimmedMean(terms.map((t) => ({ ...t, b: 1 })), 1, out, f32(1, 1));
    assert.deepEqual([...out], [3, 1]);
    assert.throws(() => coordinateTrimmedMean(terms, 2, out), RangeError);
  });

  it('FedAdam and FedYogi server steps (Reddi et al. Algorithm 2)', () => {
    const hp = { eta: 1, beta1: 0.5, beta2: 0.5, tau: 0.5 };
    const x = f32(0);
    const delta = f32(1); // Δ = mean − x: the mean of the updates' weights is [1]
    const m = f32(0);
    const v = f32(0.25); // τ²
    const [ox, om, ov] = [new Float32Array(1), new Float32Array(1), new Float32Array(1)];
    // Adam: m = 0.5·0 + 0.5·1 = 0.5; v = 0.5·0.25 + 0.5·1 = 0.625; x = 0 + 0.5/(√0.625 + 0.5) = 0.387426
    adaptiveServerStep('adam', hp, x, delta, m, v, ox, om, ov);
    assertClose([ox[0], om[0], ov[0]], [0.38742588672279304, 0.5, 0.625]);
    // Yogi: v = 0.25 − 0.5·1·sign(0.25 − 1) = 0.75; x = 0.5/(√0.75 + 0.5) = 0.366025
    adaptiveServerStep('yogi', hp, x, delta, m, v, ox, om, ov);
    assertClose([ox[0], om[0], ov[0]], [0.36602540378443865, 0.5, 0.75]);
    // Yogi with v = Δ²: sign(0) = 0, v stays (Δ = 2 − 0)
    adaptiveServerStep('yogi', hp, x, f32(2), m, f32(4), ox, om, ov);
    assert.equal(ov[0], 4);
    assert.deepEqual([x[0], delta[0], m[0], v[0]], [0, 1, 0, 0.25], 'inputs untouched');
    // Δ = mean − x with x ≠ 0: x = 2, mean = 3 gives the Adam step above shifted by 2
    adaptiveServerStep('adam', hp, f32(2), f32(3), m, v, ox, om, ov);
    assertClose([ox[0]], [2.387425886722793]);
    // outX may be the mean itself
    const mean = f32(1);
    adaptiveServerStep('adam', hp, x, mean, m, v, mean, om, ov);
    assertClose([mean[0]], [0.38742588672279304]);
  });
});
