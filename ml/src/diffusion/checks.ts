/** The two checks reported with every generated set.
 *
 * Realism: hand-made feature statistics per image (colour moments, saturation, texture from
 * gradients and the Laplacian, centre-versus-border brightness), compared between generated and
 * real images as a Frechet distance between the two Gaussians fitted to the feature vectors
 * (FID's formula on these features, pixel units), plus the pooled colour-histogram distance.
 *
 * Privacy: for every generated image, the RMS pixel distance to its nearest training image (also
 * against the mirrored training image); a sample closer than the threshold is flagged, since a
 * memorised patient image must not leave the site as "synthetic". The threshold is relative to
 * how close real images are to each other (median nearest-neighbour distance among the training
 * images) with an absolute floor. */
import { ImageSet, imageList } from './images';

export interface ImageGeometry {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

export const REALISM_FEATURES = [
  'mean_r', 'mean_g', 'mean_b', 'std_r', 'std_g', 'std_b', 'skew_r', 'skew_g', 'skew_b',
  'saturation_mean', 'saturation_std', 'gradient_mean', 'gradient_std', 'laplacian_mean', 'centre_minus_border',
] as const;

/** Skewness is unit-free and ~10x larger than the other features (pixel units); scaled down so
 * that no feature dominates the Frechet distance. */
const SKEW_SCALE = 0.1;

/** The realism features of one planar image (grey images repeat their one channel). */
export function imageFeatures(image: Float32Array, geo: ImageGeometry): Float64Array {
  const { channels: C, height: H, width: W } = geo;
  const hw = H * W;
  const ch = (c: number) => Math.min(c, C - 1) * hw;
  const f = new Float64Array(REALISM_FEATURES.length);
  for (let c = 0; c < 3; c++) {
    const o = ch(c);
    let s = 0;
    for (let i = 0; i < hw; i++) s += image[o + i];
    const mean = s / hw;
    let m2 = 0;
    let m3 = 0;
    for (let i = 0; i < hw; i++) {
      const d = image[o + i] - mean;
      m2 += d * d;
      m3 += d * d * d;
    }
    m2 /= hw;
    m3 /= hw;
    const std = Math.sqrt(m2);
    f[c] = mean;
    f[3 + c] = std;
    f[6 + c] = std > 1e-6 ? (SKEW_SCALE * m3) / (std * std * std) : 0;
  }
  const lum = new Float64Array(hw);
  let satSum = 0;
  let satSq = 0;
  for (let i = 0; i < hw; i++) {
    const r = image[ch(0) + i];
    const g = image[ch(1) + i];
    const b = image[ch(2) + i];
    lum[i] = 0.299 * r + 0.587 * g + 0.114 * b;
    const mx = Math.max(r, g, b);
    const sat = mx > 1e-6 ? (mx - Math.min(r, g, b)) / mx : 0;
    satSum += sat;
    satSq += sat * sat;
  }
  f[9] = satSum / hw;
  f[10] = Math.sqrt(Math.max(satSq / hw - f[9] * f[9], 0));
  let gs = 0;
  let gq = 0;
  let lap = 0;
  let n = 0;
  let centre = 0;
  let nc = 0;
  let border = 0;
  let nb = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const inCentre = Math.abs(y - (H - 1) / 2) < H / 4 && Math.abs(x - (W - 1) / 2) < W / 4;
      if (inCentre) (centre += lum[i]), nc++;
      else (border += lum[i]), nb++;
      if (y === 0 || x === 0 || y === H - 1 || x === W - 1) continue;
      const gx = (lum[i + 1] - lum[i - 1]) / 2;
      const gy = (lum[i + W] - lum[i - W]) / 2;
      const gm = Math.sqrt(gx * gx + gy * gy);
      gs += gm;
      gq += gm * gm;
      lap += Math.abs(lum[i - 1] + lum[i + 1] + lum[i - W] + lum[i + W] - 4 * lum[i]);
      n++;
    }
  }
  f[11] = n ? gs / n : 0;
  f[12] = n ? Math.sqrt(Math.max(gq / n - f[11] * f[11], 0)) : 0;
  f[13] = n ? lap / n : 0;
  f[14] = (nc ? centre / nc : 0) - (nb ? border / nb : 0);
  return f;
}

// ---- small dense linear algebra (feature dimension ~15) ----------------------------------

/** Eigen-decomposition of a symmetric matrix (cyclic Jacobi). Returns values and row-major
 * eigenvectors as columns. */
export function symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const m = Float64Array.from(a);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += m[p * n + q] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (m[q * n + q] - m[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p];
          const akq = m[k * n + q];
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k];
          const aqk = m[q * n + k];
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = m[i * n + i];
  return { values, vectors: v };
}

/** Square root of a symmetric positive semi-definite matrix (negative eigenvalues clamped). */
function sqrtPsd(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += vectors[i * n + k] * Math.sqrt(Math.max(values[k], 0)) * vectors[j * n + k];
      out[i * n + j] = s;
    }
  }
  return out;
}

function matmulSq(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let k = 0; k < n; k++) for (let j = 0; j < n; j++) out[i * n + j] += a[i * n + k] * b[k * n + j];
  return out;
}

function meanCov(rows: readonly Float64Array[], d: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(d);
  for (const r of rows) for (let i = 0; i < d; i++) mean[i] += r[i] / rows.length;
  const cov = new Float64Array(d * d);
  const denom = Math.max(rows.length - 1, 1);
  for (const r of rows) {
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) cov[i * d + j] += ((r[i] - mean[i]) * (r[j] - mean[j])) / denom;
  }
  return { mean, cov };
}

/** Frechet distance between N(m1, S1) and N(m2, S2): |m1 - m2|^2 + tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). */
export function frechetDistance(m1: Float64Array, s1: Float64Array, m2: Float64Array, s2: Float64Array, d: number): number {
  let diff = 0;
  for (let i = 0; i < d; i++) diff += (m1[i] - m2[i]) ** 2;
  const r1 = sqrtPsd(s1, d);
  const covmean = sqrtPsd(matmulSq(matmulSq(r1, s2, d), r1, d), d);
  let tr = 0;
  for (let i = 0; i < d; i++) tr += s1[i * d + i] + s2[i * d + i] - 2 * covmean[i * d + i];
  return Math.max(diff + tr, 0);
}

/** Frechet distance between two sets of feature vectors (rows of equal length): e.g. the
 * segmenter's pooled encoder features of generated and real images (an FID on a domain network). */
export function frechetFromFeatures(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  if (!a.length || !b.length) throw new Error('frechetFromFeatures: needs at least one row in each set');
  const d = a[0].length;
  if ([...a, ...b].some((r) => r.length !== d)) throw new Error(`frechetFromFeatures: every row must have ${d} values`);
  const x = meanCov(a.map((r) => Float64Array.from(r)), d);
  const y = meanCov(b.map((r) => Float64Array.from(r)), d);
  return frechetDistance(x.mean, x.cov, y.mean, y.cov, d);
}

export interface RealismReport {
  /** Frechet distance between the standardised feature distributions (0 = identical). */
  readonly frechetDistance: number;
  /** Mean over colour channels of the total-variation distance between pooled 32-bin histograms (0..1). */
  readonly histogramDistance: number;
  /** Per feature: real and generated mean, and their gap in real standard deviations. */
  readonly features: Record<string, { readonly real: number; readonly generated: number; readonly gap: number }>;
  readonly realCount: number;
  readonly generatedCount: number;
}

function histograms(images: readonly Float32Array[], geo: ImageGeometry, bins: number): Float64Array[] {
  const hw = geo.height * geo.width;
  const out = Array.from({ length: geo.channels }, () => new Float64Array(bins));
  for (const im of images) {
    for (let c = 0; c < geo.channels; c++) {
      const h = out[c];
      for (let i = 0; i < hw; i++) h[Math.min(bins - 1, Math.max(0, Math.floor(im[c * hw + i] * bins)))]++;
    }
  }
  for (const h of out) {
    const total = h.reduce((a, b) => a + b, 0) || 1;
    for (let i = 0; i < bins; i++) h[i] /= total;
  }
  return out;
}

export function realismReport(generated: ImageSet, real: ImageSet, geo: ImageGeometry): RealismReport {
  const px = geo.channels * geo.height * geo.width;
  const gen = imageList(generated, px, 'realism (generated)');
  const ref = imageList(real, px, 'realism (real)');
  if (!gen.length || !ref.length) throw new Error('realism: needs at least one generated and one real image');
  const d = REALISM_FEATURES.length;
  const fr = ref.map((im) => imageFeatures(im, geo));
  const fg = gen.map((im) => imageFeatures(im, geo));
  const realStats = meanCov(fr, d);
  const genStats = meanCov(fg, d);
  const features: Record<string, { real: number; generated: number; gap: number }> = {};
  REALISM_FEATURES.forEach((name, i) => {
    const std = Math.max(Math.sqrt(realStats.cov[i * d + i]), 0.01);
    features[name] = { real: realStats.mean[i], generated: genStats.mean[i], gap: Math.abs(genStats.mean[i] - realStats.mean[i]) / std };
  });
  const hr = histograms(ref, geo, 32);
  const hg = histograms(gen, geo, 32);
  let tv = 0;
  for (let c = 0; c < geo.channels; c++) {
    let s = 0;
    for (let i = 0; i < 32; i++) s += Math.abs(hr[c][i] - hg[c][i]);
    tv += s / 2;
  }
  return {
    frechetDistance: frechetDistance(realStats.mean, realStats.cov, genStats.mean, genStats.cov, d),
    histogramDistance: tv / geo.channels,
    features,
    realCount: ref.length,
    generatedCount: gen.length,
  };
}

// ---- privacy ------------------------------------------------------------------------------

export interface PrivacyOptions {
  /** Flag a sample closer than this fraction of the median real-to-real nearest-neighbour
   * distance (default 0.25). */
  readonly relativeThreshold?: number;
  /** ... or closer than this RMS distance in [0, 1] pixel units, whichever is larger (default 2/255). */
  readonly absoluteThreshold?: number;
  /** Also compare with mirrored training images (default true). */
  readonly mirrored?: boolean;
  /** Real-to-real reference computed on at most this many training images (default 256). */
  readonly referenceSample?: number;
}

export interface PrivacyFlag {
  readonly sample: number;
  readonly trainingIndex: number;
  readonly distance: number;
  readonly mirrored: boolean;
}

export interface PrivacyReport {
  /** Per generated image: RMS distance to its nearest training image, and that image's index. */
  readonly nearestDistance: number[];
  readonly nearestIndex: number[];
  readonly minDistance: number;
  readonly medianDistance: number;
  /** Median nearest-neighbour distance among the training images themselves. */
  readonly referenceDistance: number;
  readonly threshold: number;
  readonly flagged: PrivacyFlag[];
  /** Human-readable warnings (empty when nothing is flagged). */
  readonly warnings: string[];
}

function rms(a: Float32Array, b: Float32Array, geo: ImageGeometry, mirror: boolean, stopAbove = Infinity): number {
  const n = a.length;
  let s = 0;
  const limit = stopAbove * stopAbove * n;
  if (!mirror) {
    for (let i = 0; i < n; i++) {
      const d = a[i] - b[i];
      s += d * d;
      if ((i & 1023) === 1023 && s > limit) return Infinity;
    }
  } else {
    const W = geo.width;
    for (let row = 0; row < geo.channels * geo.height; row++) {
      const o = row * W;
      for (let x = 0; x < W; x++) {
        const d = a[o + x] - b[o + W - 1 - x];
        s += d * d;
      }
      if (s > limit) return Infinity;
    }
  }
  return Math.sqrt(s / n);
}

const median = (v: readonly number[]) => {
  if (!v.length) return NaN;
  const s = [...v].sort((p, q) => p - q);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export function privacyReport(generated: ImageSet, training: ImageSet, geo: ImageGeometry, o: PrivacyOptions = {}): PrivacyReport {
  const px = geo.channels * geo.height * geo.width;
  const gen = imageList(generated, px, 'privacy (generated)');
  const train = imageList(training, px, 'privacy (training)');
  if (!train.length) throw new Error('privacy: needs at least one training image');
  const mirrored = o.mirrored ?? true;
  const refN = Math.min(train.length, o.referenceSample ?? 256);
  const refDists: number[] = [];
  for (let i = 0; i < refN; i++) {
    const a = train[Math.floor((i * train.length) / refN)];
    let best = Infinity;
    for (const b of train) {
      if (b === a) continue;
      best = Math.min(best, rms(a, b, geo, false, best));
    }
    if (Number.isFinite(best)) refDists.push(best);
  }
  const referenceDistance = refDists.length ? median(refDists) : NaN;
  const absolute = o.absoluteThreshold ?? 2 / 255;
  const threshold = Math.max(absolute, Number.isFinite(referenceDistance) ? (o.relativeThreshold ?? 0.25) * referenceDistance : 0);
  const nearestDistance: number[] = [];
  const nearestIndex: number[] = [];
  const flagged: PrivacyFlag[] = [];
  gen.forEach((g, s) => {
    let best = Infinity;
    let at = -1;
    let flip = false;
    train.forEach((t, j) => {
      const d = rms(g, t, geo, false, best);
      if (d < best) (best = d), (at = j), (flip = false);
      if (mirrored) {
        const m = rms(g, t, geo, true, best);
        if (m < best) (best = m), (at = j), (flip = true);
      }
    });
    nearestDistance.push(best);
    nearestIndex.push(at);
    if (best < threshold) flagged.push({ sample: s, trainingIndex: at, distance: best, mirrored: flip });
  });
  const warnings = flagged.map(
    (f) =>
      `generated image ${f.sample} is within ${f.distance.toFixed(4)} (RMS, threshold ${threshold.toFixed(4)}) of training image ${f.trainingIndex}` +
      `${f.mirrored ? ' (mirrored)' : ''}: the generator may have memorised a patient image; do not share this sample`,
  );
  return {
    nearestDistance,
    nearestIndex,
    minDistance: nearestDistance.length ? Math.min(...nearestDistance) : NaN,
    medianDistance: median(nearestDistance),
    referenceDistance,
    threshold,
    flagged,
    warnings,
  };
}

export interface GeneratorChecks {
  readonly realism: RealismReport;
  readonly privacy: PrivacyReport;
}

/** Both checks, as reported with every generated set. */
export function checkGeneratedImages(generated: ImageSet, training: ImageSet, geo: ImageGeometry, privacy: PrivacyOptions = {}): GeneratorChecks {
  return { realism: realismReport(generated, training, geo), privacy: privacyReport(generated, training, geo, privacy) };
}
