import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../init/initializers';
import { checkGeneratedImages, frechetDistance, frechetFromFeatures, privacyReport, realismReport, symmetricEigen } from './checks';

const S = 16;
const geo = { channels: 3, height: S, width: S };

/** Smooth random colour fields (distinct from each other). */
function fields(n: number, seed: number, tint = [0.7, 0.35, 0.3]): Float32Array[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const im = new Float32Array(3 * S * S);
    const fx = 0.2 + r() * 0.6;
    const fy = 0.2 + r() * 0.6;
    const ph = r() * 6.28;
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < S; y++) {
        for (let x = 0; x < S; x++) im[c * S * S + y * S + x] = Math.min(1, Math.max(0, tint[c] + 0.2 * Math.sin(fx * x + fy * y + ph + c) + (r() - 0.5) * 0.05));
      }
    }
    return im;
  });
}

test('the memorisation check flags a planted copy (and a mirrored copy) of a training image, and nothing else', () => {
  const training = fields(40, 1);
  const generated = fields(12, 2);
  const planted = training[17].slice();
  // a near-copy: the training image plus slight noise (a memorised sample is never bit-exact)
  const r = seededRandom(9);
  generated[4] = planted.map((v) => Math.min(1, Math.max(0, v + (r() - 0.5) * 0.01)));
  const mirror = new Float32Array(3 * S * S);
  for (let row = 0; row < 3 * S; row++) for (let x = 0; x < S; x++) mirror[row * S + x] = training[30][row * S + S - 1 - x];
  generated[9] = mirror;

  const report = privacyReport(generated, training, geo);
  assert.deepEqual(report.flagged.map((f) => [f.sample, f.trainingIndex, f.mirrored]), [[4, 17, false], [9, 30, true]]);
  assert.equal(report.nearestIndex[4], 17);
  assert.ok(report.nearestDistance[4] < 0.01);
  assert.equal(report.nearestDistance[9], 0);
  assert.equal(report.warnings.length, 2);
  assert.match(report.warnings[0], /generated image 4 .* training image 17.*memorised/);
  assert.ok(report.referenceDistance > report.threshold);
  assert.ok(report.medianDistance > report.threshold);

  const clean = privacyReport(fields(12, 2), training, geo);
  assert.deepEqual(clean.flagged, []);
  assert.deepEqual(clean.warnings, []);
  const unmirrored = privacyReport(generated, training, geo, { mirrored: false });
  assert.deepEqual(unmirrored.flagged.map((f) => f.sample), [4]);
});

test('Frechet distance matches hand-computed values; Jacobi eigenvalues of a known matrix', () => {
  // 1-D: (0 - 1)^2 + 1 + 4 - 2 * sqrt(1 * 4) = 2
  assert.ok(Math.abs(frechetDistance(Float64Array.of(0), Float64Array.of(1), Float64Array.of(1), Float64Array.of(4), 1) - 2) < 1e-12);
  // identical Gaussians: 0
  const cov = Float64Array.of(2, 0.5, 0.5, 1);
  assert.ok(frechetDistance(Float64Array.of(1, 2), cov, Float64Array.of(1, 2), cov, 2) < 1e-9);
  // rows {0, 2} vs {1, 5}: means 1 and 3, variances 2 and 8 -> 4 + 2 + 8 - 2 * 4 = 6
  assert.ok(Math.abs(frechetFromFeatures([[0], [2]], [[1], [5]]) - 6) < 1e-9);
  const { values } = symmetricEigen(Float64Array.of(2, 1, 1, 2), 2);
  assert.deepEqual([...values].map((v) => Math.round(v * 1e9) / 1e9).sort(), [1, 3]);
});

test('realism: a set is close to itself and far from a differently coloured set', () => {
  const real = fields(30, 3);
  const sameKind = fields(30, 4);
  const blue = fields(30, 5, [0.2, 0.3, 0.8]);
  const near = realismReport(sameKind, real, geo);
  const far = realismReport(blue, real, geo);
  assert.ok(near.frechetDistance < far.frechetDistance / 10, `${near.frechetDistance} vs ${far.frechetDistance}`);
  assert.ok(near.histogramDistance < far.histogramDistance);
  assert.ok(far.features.mean_b.gap > 5);
  assert.equal(near.realCount, 30);
  const both = checkGeneratedImages(sameKind, real, geo);
  assert.equal(both.privacy.nearestDistance.length, 30);
  assert.equal(both.realism.generatedCount, 30);
});
