/**
 * Rényi differential privacy (RDP) of the sampled Gaussian mechanism, and its conversion to
 * (ε, δ)-DP. Pure maths, no framework; written from the published analysis:
 *
 * - Mironov, "Rényi Differential Privacy", CSF 2017: composition adds RDP order by order.
 * - Mironov, Talwar, Zhang, "Rényi Differential Privacy of the Sampled Gaussian Mechanism", 2019
 *   (arXiv:1908.10530), Section 3: for a Gaussian mechanism of noise multiplier σ (noise standard
 *   deviation σ·C for sensitivity C) applied to a Poisson sample of rate q, the RDP of order α is
 *   log(A_α)/(α−1) with A_α = E_{z~N(0,σ²)}[((1−q) + q·exp((2z−1)/(2σ²)))^α].
 *   Integer α: A_α = Σ_k C(α,k)(1−q)^(α−k) q^k exp((k²−k)/(2σ²)).
 *   Fractional α: split the expectation at z0 = σ²·log(1/q − 1) + 1/2, where the two terms of the
 *   base are equal, and expand the binomial series on each side (each converges there):
 *     A_α = Σ_i C(α,i)(1−q)^(α−i) q^i exp((i²−i)/(2σ²)) · ½erfc((i − z0)/(√2σ))
 *         + Σ_i C(α,i)(1−q)^i q^(α−i) exp(((α−i)²−(α−i))/(2σ²)) · ½erfc((z0 − (α−i))/(√2σ)).
 *   (Each term: completing the square, E[e^{iz/σ²}; z ≤ z0] = e^{i²/(2σ²)}·P(N(i,σ²) ≤ z0).)
 * - Conversion to (ε, δ): Canonne, Kamath, Steinke 2020 (Prop. 12) / Balle et al. 2020
 *   (Thm. 21): ε = rdp(α) + log((α−1)/α) − (log δ + log α)/(α−1), minimised over the orders;
 *   tighter than Mironov 2017's rdp(α) + log(1/δ)/(α−1).
 *
 * Everything runs in log space: A_α overflows a double for large orders.
 */

/** Orders used unless told otherwise: dense at small α, where the optimum lies for large ε. */
export const DEFAULT_ORDERS: readonly number[] = [
  ...Array.from({ length: 99 }, (_, i) => 1 + (i + 1) / 10),
  ...Array.from({ length: 52 }, (_, i) => 12 + i),
  80, 96, 128, 192, 256, 384, 512,
];

/** log(e^a + e^b) without overflow. */
export function logAdd(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  return hi + Math.log1p(Math.exp(Math.min(a, b) - hi));
}

/** log(e^a − e^b) for a ≥ b. */
function logSub(a: number, b: number): number {
  if (b === -Infinity) return a;
  if (b > a) throw new RangeError(`logSub: ${b} > ${a}`);
  if (a === b) return -Infinity;
  return a + Math.log(-Math.expm1(b - a));
}

/**
 * log(erfc(x)) for any real x, to ~1e-13 relative: the Maclaurin series of erf for |x| < 2.5,
 * Lentz's continued fraction erfc(x) = e^{−x²}/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …))))
 * for x ≥ 2.5 (kept in log space, so it never underflows), and erfc(−x) = 2 − erfc(x).
 */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return Math.log(2 - Math.exp(logErfc(-x)));
  if (x < 2.5) {
    // erf(x) = 2/√π Σ_n (−1)^n x^(2n+1) / (n! (2n+1))
    let term = x;
    let sum = x;
    for (let n = 1; n < 200; n++) {
      term *= (-x * x) / n;
      const add = term / (2 * n + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    return Math.log(1 - (2 / Math.sqrt(Math.PI)) * sum);
  }
  // Continued fraction K = x + a1/(x + a2/(x + …)) with a_k = k/2, evaluated by modified Lentz.
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = x + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return -x * x - 0.5 * Math.log(Math.PI) - Math.log(f);
}

/** log A_α for integer α ≥ 2 (a finite sum). */
function logAInteger(q: number, sigma: number, alpha: number): number {
  let logA = -Infinity;
  let logBinom = 0; // log C(α, 0)
  for (let k = 0; k <= alpha; k++) {
    if (k > 0) logBinom += Math.log((alpha - k + 1) / k);
    const t = logBinom + (alpha - k) * Math.log1p(-q) + k * Math.log(q) + (k * k - k) / (2 * sigma * sigma);
    logA = logAdd(logA, t);
  }
  return logA;
}

/** log A_α for fractional α > 1 (two convergent series with signed generalised binomials). */
function logAFractional(q: number, sigma: number, alpha: number): number {
  let pos = -Infinity; // log of the sum of the positive terms
  let neg = -Infinity; // log of the sum of the magnitudes of the negative terms
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const s2 = Math.SQRT2 * sigma;
  let logBinom = 0;
  let sign = 1;
  for (let i = 0; ; i++) {
    if (i > 0) {
      const factor = (alpha - i + 1) / i;
      logBinom += Math.log(Math.abs(factor));
      if (factor < 0) sign = -sign;
    }
    const j = alpha - i;
    const t1 = logBinom + i * Math.log(q) + j * Math.log1p(-q) + (i * i - i) / (2 * sigma * sigma) + Math.log(0.5) + logErfc((i - z0) / s2);
    const t2 = logBinom + j * Math.log(q) + i * Math.log1p(-q) + (j * j - j) / (2 * sigma * sigma) + Math.log(0.5) + logErfc((z0 - j) / s2);
    if (sign > 0) {
      pos = logAdd(pos, t1);
      pos = logAdd(pos, t2);
    } else {
      neg = logAdd(neg, t1);
      neg = logAdd(neg, t2);
    }
    // Up to z0 the terms fall like a Gaussian; past z0 (and past α, where the binomials start to
    // alternate) they fall like |C(α,i)|/i, i.e. faster than i^−(α+1), and are already below
    // e^{−z0²/(2σ²)} relative to A_α ≥ 1. Stop once they no longer move the sum; the cap bounds
    // the rare slow case (q near ½, tiny σ) where the remaining tail is below ~1e−8.
    if (i > alpha && i > z0 && Math.max(t1, t2) < logSub(pos, neg) - 40) break;
    if (i >= 10_000) break;
  }
  return logSub(pos, neg);
}

/**
 * RDP of one release of the sampled Gaussian mechanism at order α > 1: sampling rate q in [0, 1],
 * noise multiplier σ > 0 (σ = 0: no privacy, ∞).
 */
export function rdpSampledGaussian(q: number, sigma: number, alpha: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling rate ${q} must be in [0, 1]`);
  if (!(sigma >= 0)) throw new RangeError(`noise multiplier ${sigma} must be >= 0`);
  if (!(alpha > 1)) throw new RangeError(`RDP order ${alpha} must be > 1`);
  if (q === 0) return 0;
  if (sigma === 0 || alpha === Infinity) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha) ? logAInteger(q, sigma, alpha) : logAFractional(q, sigma, alpha);
  return logA / (alpha - 1);
}

/** RDP at every order of `steps` compositions of the sampled Gaussian mechanism. */
export function rdpCurve(q: number, sigma: number, steps: number, orders: readonly number[] = DEFAULT_ORDERS): number[] {
  if (!Number.isInteger(steps) || steps < 0) throw new RangeError(`steps ${steps} must be a non-negative integer`);
  return orders.map((a) => (steps === 0 ? 0 : steps * rdpSampledGaussian(q, sigma, a)));
}

export interface EpsilonResult {
  readonly epsilon: number;
  /** The RDP order that gave the smallest ε. */
  readonly order: number;
}

/** The smallest ε such that the RDP curve implies (ε, δ)-DP (conversion of Canonne et al. 2020). */
export function epsilonFromRdp(orders: readonly number[], rdp: readonly number[], delta: number): EpsilonResult {
  if (orders.length !== rdp.length) throw new RangeError(`${orders.length} orders but ${rdp.length} RDP values`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ ${delta} must be in (0, 1)`);
  let best: EpsilonResult = { epsilon: Infinity, order: NaN };
  orders.forEach((a, i) => {
    if (!(a > 1) || !Number.isFinite(rdp[i])) return;
    const eps = rdp[i] + Math.log1p(-1 / a) - (Math.log(delta) + Math.log(a)) / (a - 1);
    if (eps < best.epsilon) best = { epsilon: Math.max(0, eps), order: a };
  });
  return best;
}

/** One release of the sampled Gaussian mechanism (e.g. one round's update of one site). */
export interface Release {
  readonly noiseMultiplier: number;
  readonly samplingRate: number;
}

/** (ε, δ) of a sequence of releases with possibly different σ and q (RDP composes by addition). */
export function epsilonOfReleases(releases: readonly Release[], delta: number, orders: readonly number[] = DEFAULT_ORDERS): EpsilonResult {
  if (!releases.length) return { epsilon: 0, order: NaN };
  const counts = new Map<string, { r: Release; n: number }>();
  for (const r of releases) {
    const key = `${r.noiseMultiplier}:${r.samplingRate}`;
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { r, n: 1 });
  }
  const total = orders.map(() => 0);
  for (const { r, n } of counts.values()) rdpCurve(r.samplingRate, r.noiseMultiplier, n, orders).forEach((v, i) => (total[i] += v));
  return epsilonFromRdp(orders, total, delta);
}

/**
 * The smallest noise multiplier σ (to a relative 1e-6) whose `steps` releases at sampling rate q
 * stay within (ε, δ): bisection on σ, ε being decreasing in σ. Used to size a run to a target ε.
 */
export function noiseMultiplierFor(targetEpsilon: number, steps: number, q: number, delta: number, orders: readonly number[] = DEFAULT_ORDERS): number {
  if (!(targetEpsilon > 0)) throw new RangeError(`target ε ${targetEpsilon} must be positive`);
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`steps ${steps} must be a positive integer`);
  const eps = (sigma: number) => epsilonFromRdp(orders, rdpCurve(q, sigma, steps, orders), delta).epsilon;
  let lo = 1e-3;
  let hi = 1;
  while (eps(hi) > targetEpsilon) {
    lo = hi;
    hi *= 2;
    if (hi > 1e6) throw new RangeError(`no noise multiplier up to 1e6 reaches ε ${targetEpsilon} in ${steps} steps`);
  }
  while ((hi - lo) / hi > 1e-6) {
    const mid = (lo + hi) / 2;
    if (eps(mid) > targetEpsilon) lo = mid;
    else hi = mid;
  }
  return hi;
}
