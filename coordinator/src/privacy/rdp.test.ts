import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_ORDERS, epsilonFromRdp, epsilonOfReleases, logErfc, noiseMultiplierFor, rdpCurve, rdpSampledGaussian } from './rdp';

const within = (actual: number, expected: number, rtol: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= rtol * Math.abs(expected), `${what}: ${actual} is not within ${rtol * 100}% of ${expected}`);

test('log erfc matches tabulated values (Abramowitz & Stegun, Table 7.1) and is finite far in the tail', () => {
  within(Math.exp(logErfc(0)), 1, 1e-15, 'erfc(0)');
  within(Math.exp(logErfc(0.5)), 0.4795001221869535, 1e-12, 'erfc(0.5)');
  within(Math.exp(logErfc(1)), 0.15729920705028513, 1e-12, 'erfc(1)');
  within(Math.exp(logErfc(2)), 0.004677734981047266, 1e-11, 'erfc(2)');
  within(Math.exp(logErfc(3)), 2.209049699858544e-5, 1e-11, 'erfc(3)');
  within(Math.exp(logErfc(-1)), 2 - 0.15729920705028513, 1e-12, 'erfc(-1)');
  // Far tail: log erfc(x) → −x² − log(x√π) − 1/(2x²) + …; at x = 30 the correction terms are < 1e-3.
  const x = 30;
  within(logErfc(x), -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log1p(-1 / (2 * x * x) + 3 / (4 * x ** 4)), 1e-10, 'log erfc(30)');
  // Continuity where the two methods meet.
  within(logErfc(2.4999999), logErfc(2.5), 1e-6, 'erfc at the switch');
});

test('Gaussian without sampling: RDP α/(2σ²) exactly (Mironov 2017, Prop. 7)', () => {
  assert.equal(rdpSampledGaussian(1, 2, 3), 3 / 8);
  assert.equal(rdpSampledGaussian(0, 2, 3), 0);
  assert.equal(rdpSampledGaussian(0.5, 0, 3), Infinity);
});

test('integer orders: the closed sum equals a direct evaluation of the binomial formula', () => {
  // A_2 = (1−q)² + 2q(1−q) + q² e^{1/σ²} = 1 + q²(e^{1/σ²} − 1), by hand.
  const q = 0.1;
  const sigma = 1.3;
  within(rdpSampledGaussian(q, sigma, 2), Math.log(1 + q * q * (Math.exp(1 / (sigma * sigma)) - 1)), 1e-12, 'α = 2');
});

test('fractional orders agree with neighbouring integer orders (RDP is continuous and increasing in α)', () => {
  const q = 0.05;
  const sigma = 1.2;
  const r3 = rdpSampledGaussian(q, sigma, 3);
  const r3p = rdpSampledGaussian(q, sigma, 3.000001);
  within(r3p, r3, 1e-4, 'α = 3 from the fractional series');
  assert.ok(rdpSampledGaussian(q, sigma, 2.5) < r3 && rdpSampledGaussian(q, sigma, 2.5) > rdpSampledGaussian(q, sigma, 2));
});

test('sampled Gaussian RDP matches the published values of TensorFlow Privacy within 1%', () => {
  // tensorflow/privacy, privacy/analysis/rdp_accountant_test.py, test_compute_rdp_sequence:
  // q = 0.01, σ = 2.5, 50 steps at orders 1.5, 2.5, 5, 50, 100 → 0.00065, 0.001085, 0.00218075,
  // 0.023846, 167.416307; and test_compute_rdp_scalar: q = 0.1, σ = 2, 10 steps, order 5 → 0.07737.
  // (google/differential-privacy's newer dp_accounting prints 6.70579741e-4 at order 1.5: 3% above
  // the exact divergence, which the quadrature test below recomputes; its other four values agree
  // with these within 1e-4.)
  const orders = [1.5, 2.5, 5, 50, 100];
  const expected = [0.00065, 0.001085, 0.00218075, 0.023846, 167.416307];
  const got = rdpCurve(0.01, 2.5, 50, orders);
  orders.forEach((a, i) => within(got[i], expected[i], 0.01, `RDP at order ${a}`));
  within(rdpCurve(0.1, 2, 10, [5])[0], 0.07737, 0.01, 'RDP q 0.1, σ 2, 10 steps, order 5');
});

test('A_α from the series equals a direct quadrature of its definition (independent check, fractional and integer α)', () => {
  // A_α = ∫ φ_σ(z) ((1−q) + q·e^{(2z−1)/(2σ²)})^α dz by Simpson's rule; the integrand minus 1 is
  // integrated so the small RDP values keep their digits.
  const quadrature = (q: number, s: number, a: number) => {
    const lo = -20 * s;
    const hi = 20 * s + 40;
    const n = 100_000;
    const h = (hi - lo) / n;
    let sum = 0;
    for (let k = 0; k <= n; k++) {
      const z = lo + k * h;
      const w = k === 0 || k === n ? 1 : k % 2 ? 4 : 2;
      const phi = Math.exp((-z * z) / (2 * s * s)) / (Math.sqrt(2 * Math.PI) * s);
      sum += w * phi * ((1 - q + q * Math.exp((2 * z - 1) / (2 * s * s))) ** a - 1);
    }
    return Math.log1p((sum * h) / 3) / (a - 1);
  };
  for (const [q, s, a] of [[0.01, 2.5, 1.5], [0.04, 1.5, 3.7], [0.2, 1, 2.25], [0.05, 0.8, 4]]) {
    within(rdpSampledGaussian(q, s, a), quadrature(q, s, a), 1e-6, `q ${q}, σ ${s}, α ${a}`);
  }
});

test('RDP → (ε, δ) conversion matches the published pure-DP case of google/differential-privacy', () => {
  // Same file, test_compute_epsilon_delta_pure_dp: orders 2..32, RDP 1.1 at every order, δ = 1e-5
  // → ε = 1.32783806176 at order 32.
  const orders = Array.from({ length: 31 }, (_, i) => i + 2);
  const r = epsilonFromRdp(orders, orders.map(() => 1.1), 1e-5);
  within(r.epsilon, 1.32783806176, 1e-9, 'ε');
  assert.equal(r.order, 32);
});

test('σ = 4.530877117 without sampling gives exactly (1, 1e-6)-DP (google/differential-privacy, test_compute_epsilon_delta_gaussian)', () => {
  const orders = Array.from({ length: 99_000 }, (_, i) => 1 + (i + 1) * 0.001);
  within(epsilonFromRdp(orders, rdpCurve(1, 4.530877117, 1, orders), 1e-6).epsilon, 1, 0.01, 'ε');
});

test('end to end: Opacus RDPAccountant published ε = 7.32911117143 for σ 1.5, q 0.04, 2250 steps, δ 1e-5', () => {
  // pytorch/opacus, opacus/tests/accountants_test.py, test_rdp_accountant.
  const r = epsilonFromRdp(DEFAULT_ORDERS, rdpCurve(0.04, 1.5, 2250), 1e-5);
  within(r.epsilon, 7.32911117143, 0.01, 'ε');
});

test('bad arguments are refused with the value named', () => {
  assert.throws(() => rdpSampledGaussian(1.5, 1, 2), /sampling rate 1.5/);
  assert.throws(() => rdpSampledGaussian(0.5, 1, 1), /order 1 must be > 1/);
  assert.throws(() => epsilonFromRdp([2], [1], 0), /δ 0/);
});

test('calibration: the noise multiplier for a target ε inverts the published cases', () => {
  // Opacus' case backwards: ε 7.32911117143 for q 0.04, 2250 steps, δ 1e-5 needs σ 1.5.
  within(noiseMultiplierFor(7.32911117143, 2250, 0.04, 1e-5), 1.5, 0.01, 'σ');
  // google/differential-privacy's: (1, 1e-6) in one release without sampling needs σ 4.530877117 (our orders are coarser: 1%).
  within(noiseMultiplierFor(1, 1, 1, 1e-6), 4.530877117, 0.01, 'σ');
  // And forwards: the σ found spends the target, not more.
  const sigma = noiseMultiplierFor(8, 2, 1, 1e-5);
  assert.ok(epsilonOfReleases([{ noiseMultiplier: sigma, samplingRate: 1 }, { noiseMultiplier: sigma, samplingRate: 1 }], 1e-5).epsilon <= 8);
});
