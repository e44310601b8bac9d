/**
 * Renders one synthetic laparoscopic scene into an RGB buffer plus a per-pixel owner map (which of
 * the 11 DSAD structures, if any, is visible there). Plain TypeScript, deterministic for a seed.
 *
 * Scene: textured retroperitoneal/mesenteric tissue (pink tissue and yellow fat), then a subset of
 * structures in anatomical groups (upper abdomen or lower abdomen/pelvis), each with its own shape,
 * colour and texture; unlabelled distractor vessels; instruments occluding; then the camera: spot
 * lighting, specular highlights, endoscope vignetting, smoke, blur and noise. The per-surgery
 * `Appearance` (colour cast, brightness, contrast, gamma, blur, noise, fat) shifts hospitals/patients.
 * Thin structures (ureter, artery, veins) are narrow, low-contrast and partly veiled by fat, so they
 * are clearly harder to segment than liver or stomach, as on the real data.
 */
import { DSAD_STRUCTURES, type DsadStructure } from '@fedciss/ml/dsad';
import { gaussian, intIn, mulberry32, uniform, ValueNoise, type Rng } from './prng';

type Rgb = [number, number, number];

/** Per-surgery appearance shift. */
export interface Appearance {
  gain: Rgb;
  brightness: number;
  contrast: number;
  gamma: number;
  blur: number; // gaussian sigma in pixels at 128 px height
  noise: number;
  fat: number; // 0..1 amount of yellow fat and veiling
  tissueHue: number; // -1..1 shifts tissue between pinker and browner
  smoke: number;
}

export function sampleAppearance(rng: Rng): Appearance {
  return {
    gain: [uniform(rng, 0.88, 1.12), uniform(rng, 0.85, 1.08), uniform(rng, 0.8, 1.15)],
    brightness: uniform(rng, 0.8, 1.12),
    contrast: uniform(rng, 0.85, 1.15),
    gamma: uniform(rng, 0.85, 1.2),
    blur: uniform(rng, 0.3, 1.1),
    noise: uniform(rng, 0.01, 0.035),
    fat: uniform(rng, 0.2, 0.85),
    tissueHue: uniform(rng, -1, 1),
    smoke: uniform(rng, 0, 0.2),
  };
}

export interface Scene {
  width: number;
  height: number;
  /** RGB bytes, row-major HWC. */
  rgb: Uint8Array;
  /** 0 = nothing labelled, 1..11 = DSAD_STRUCTURES[v - 1], 12 = instrument. */
  owner: Uint8Array;
}

export const INSTRUMENT = 12;

const STRUCT_INDEX = new Map<DsadStructure, number>(DSAD_STRUCTURES.map((s, i) => [s, i + 1]));

class Canvas {
  readonly n: number;
  readonly rgb: Float32Array;
  readonly owner: Uint8Array;
  /** Shading term used for specular highlights (0 = matte). */
  readonly gloss: Float32Array;
  constructor(
    readonly w: number,
    readonly h: number,
  ) {
    this.n = w * h;
    this.rgb = new Float32Array(this.n * 3);
    this.owner = new Uint8Array(this.n);
    this.gloss = new Float32Array(this.n);
  }
  set(i: number, c: Rgb, alpha = 1): void {
    const o = i * 3;
    this.rgb[o] = this.rgb[o]! * (1 - alpha) + c[0] * alpha;
    this.rgb[o + 1] = this.rgb[o + 1]! * (1 - alpha) + c[1] * alpha;
    this.rgb[o + 2] = this.rgb[o + 2]! * (1 - alpha) + c[2] * alpha;
  }
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const scale = (a: Rgb, s: number): Rgb => [a[0] * s, a[1] * s, a[2] * s];
const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
const jitter = (rng: Rng, c: Rgb, amount: number): Rgb => [c[0] * (1 + uniform(rng, -amount, amount)), c[1] * (1 + uniform(rng, -amount, amount)), c[2] * (1 + uniform(rng, -amount, amount))];

// ---------- geometry ----------

interface Tube {
  xs: Float32Array;
  ys: Float32Array;
  cum: Float32Array; // arc length at each point
}

/** A smooth random path starting near (x0, y0) heading `angle`, `len` pixels long, `bend` radians of curvature noise per step. */
function randomPath(rng: Rng, x0: number, y0: number, angle: number, len: number, bend: number, points = 28): Tube {
  const xs = new Float32Array(points);
  const ys = new Float32Array(points);
  const cum = new Float32Array(points);
  const step = len / (points - 1);
  let x = x0;
  let y = y0;
  let a = angle;
  let da = uniform(rng, -bend, bend);
  for (let i = 0; i < points; i++) {
    xs[i] = x;
    ys[i] = y;
    cum[i] = i * step;
    da = da * 0.85 + uniform(rng, -bend, bend) * 0.5;
    a += da;
    x += Math.cos(a) * step;
    y += Math.sin(a) * step;
  }
  return { xs, ys, cum };
}

/** For every pixel: distance to the path, arc-length position of the nearest point, signed side. */
function tubeField(c: Canvas, t: Tube, maxDist: number): { dist: Float32Array; along: Float32Array } {
  const dist = new Float32Array(c.n).fill(Number.POSITIVE_INFINITY);
  const along = new Float32Array(c.n);
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < t.xs.length; i++) {
    minX = Math.min(minX, t.xs[i]!);
    maxX = Math.max(maxX, t.xs[i]!);
    minY = Math.min(minY, t.ys[i]!);
    maxY = Math.max(maxY, t.ys[i]!);
  }
  const x0 = Math.max(0, Math.floor(minX - maxDist));
  const x1 = Math.min(c.w - 1, Math.ceil(maxX + maxDist));
  const y0 = Math.max(0, Math.floor(minY - maxDist));
  const y1 = Math.min(c.h - 1, Math.ceil(maxY + maxDist));
  const segs = t.xs.length - 1;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      let best = Infinity;
      let bestAlong = 0;
      for (let s = 0; s < segs; s++) {
        const ax = t.xs[s]!;
        const ay = t.ys[s]!;
        const dx = t.xs[s + 1]! - ax;
        const dy = t.ys[s + 1]! - ay;
        const l2 = dx * dx + dy * dy || 1e-9;
        let u = ((x + 0.5 - ax) * dx + (y + 0.5 - ay) * dy) / l2;
        u = u < 0 ? 0 : u > 1 ? 1 : u;
        const px = ax + u * dx - (x + 0.5);
        const py = ay + u * dy - (y + 0.5);
        const d2 = px * px + py * py;
        if (d2 < best) {
          best = d2;
          bestAlong = t.cum[s]! + u * (t.cum[s + 1]! - t.cum[s]!);
        }
      }
      const i = y * c.w + x;
      dist[i] = Math.sqrt(best);
      along[i] = bestAlong;
    }
  }
  return { dist, along };
}

interface Blob {
  cx: number;
  cy: number;
  r: number;
  rot: number;
  aspect: number;
  harm: Array<[number, number, number]>; // k, amplitude, phase
}

function randomBlob(rng: Rng, cx: number, cy: number, r: number, aspect: number, roughness: number, maxK: number): Blob {
  const harm: Array<[number, number, number]> = [];
  for (let k = 2; k <= maxK; k++) harm.push([k, (roughness * uniform(rng, 0.3, 1)) / Math.sqrt(k), uniform(rng, 0, Math.PI * 2)]);
  return { cx, cy, r, rot: uniform(rng, 0, Math.PI), aspect, harm };
}

/** Signed depth inside the blob in pixels (positive inside), and the normalised radius. */
function blobDepth(b: Blob, x: number, y: number): number {
  const dx = x - b.cx;
  const dy = y - b.cy;
  const cr = Math.cos(b.rot);
  const sr = Math.sin(b.rot);
  const u = dx * cr + dy * sr;
  const v = (-dx * sr + dy * cr) * b.aspect;
  const r = Math.sqrt(u * u + v * v);
  const th = Math.atan2(v, u);
  let f = 1;
  for (const [k, a, p] of b.harm) f += a * Math.cos(k * th + p);
  return b.r * f - r;
}

// ---------- painters ----------

interface Ctx {
  c: Canvas;
  rng: Rng;
  noise: ValueNoise;
  app: Appearance;
  U: number; // size unit: image height
  fatColor: Rgb;
  tissueColor: Rgb;
}

function paintBackground(ctx: Ctx): void {
  const { c, noise, U, app } = ctx;
  const fs = 3.5 / U;
  for (let y = 0; y < c.h; y++) {
    for (let x = 0; x < c.w; x++) {
      const i = y * c.w + x;
      const f = noise.fbm(x * fs, y * fs, 4);
      const fine = noise.fbm(x * fs * 5 + 40, y * fs * 5, 2);
      const fatT = clamp01((f - (0.62 - app.fat * 0.3)) * 5);
      let col = mix(ctx.tissueColor, ctx.fatColor, fatT);
      col = scale(col, 0.82 + 0.3 * fine);
      c.set(i, col);
      c.gloss[i] = 0.25 * (1 - fatT);
    }
  }
}

function paintTube(ctx: Ctx, owner: number, t: Tube, width: number, base: Rgb, opts: { haustra?: number; veil?: number; gloss?: number; stripe?: Rgb; varyWidth?: number }): void {
  const { c, noise } = ctx;
  const { dist, along } = tubeField(c, t, width * 1.6);
  for (let i = 0; i < c.n; i++) {
    const d = dist[i]!;
    if (d === Number.POSITIVE_INFINITY) continue;
    const s = along[i]!;
    const x = i % c.w;
    const y = (i - x) / c.w;
    const w = width * (1 + (opts.varyWidth ?? 0.15) * (noise.noise(s * 0.08 + owner * 10, 3.3) - 0.5) * 2);
    if (d > w) continue;
    const q = d / w; // 0 at axis, 1 at border
    const cyl = Math.sqrt(Math.max(0, 1 - q * q));
    let col = scale(base, 0.55 + 0.5 * cyl);
    if (opts.haustra) col = scale(col, 0.78 + 0.22 * Math.abs(Math.sin((s / opts.haustra) * Math.PI)));
    if (opts.stripe && q < 0.22) col = mix(col, opts.stripe, 0.35);
    col = scale(col, 0.92 + 0.16 * noise.noise(x * 0.35 + owner, y * 0.35));
    const veil = opts.veil ?? 0;
    if (veil > 0) {
      // Fat and peritoneum partly covering the structure: blend toward the background beneath.
      const v = veil * clamp01(noise.fbm(s * 0.06 + owner * 3.1, q * 0.5 + 7, 2) * 1.6 - 0.3);
      const o = i * 3;
      const under: Rgb = [c.rgb[o]!, c.rgb[o + 1]!, c.rgb[o + 2]!];
      col = mix(col, under, v);
    }
    c.set(i, col, q > 0.85 ? 0.75 : 1);
    c.owner[i] = owner;
    c.gloss[i] = (opts.gloss ?? 0.3) * cyl;
  }
}

function paintBlob(ctx: Ctx, owner: number, b: Blob, base: Rgb, shade: (x: number, y: number, depth: number, col: Rgb) => Rgb, gloss: number, rim = 0.12): void {
  const { c } = ctx;
  const x0 = Math.max(0, Math.floor(b.cx - b.r * 2.2));
  const x1 = Math.min(c.w - 1, Math.ceil(b.cx + b.r * 2.2));
  const y0 = Math.max(0, Math.floor(b.cy - b.r * 2.2 * b.aspect - b.r * 2));
  const y1 = Math.min(c.h - 1, Math.ceil(b.cy + b.r * 2.2 * b.aspect + b.r * 2));
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const depth = blobDepth(b, x + 0.5, y + 0.5);
      if (depth <= 0) continue;
      const i = y * c.w + x;
      const rimT = clamp01(depth / (b.r * rim + 1e-6));
      const col = shade(x, y, depth, scale(base, 0.6 + 0.4 * Math.sqrt(rimT)));
      c.set(i, col, depth < 0.8 ? 0.7 : 1);
      c.owner[i] = owner;
      c.gloss[i] = gloss * rimT;
    }
  }
}

/** A point somewhere in the frame, kept `margin` (fraction) from the borders. */
function pointIn(ctx: Ctx, margin = 0.1): [number, number] {
  return [uniform(ctx.rng, margin, 1 - margin) * ctx.c.w, uniform(ctx.rng, margin, 1 - margin) * ctx.c.h];
}

/** A start point on a random border and an inward direction. */
function fromBorder(ctx: Ctx): [number, number, number] {
  const { c, rng } = ctx;
  const side = intIn(rng, 0, 3);
  const t = uniform(rng, 0.15, 0.85);
  const spread = uniform(rng, -0.6, 0.6);
  if (side === 0) return [t * c.w, -2, Math.PI / 2 + spread];
  if (side === 1) return [c.w + 2, t * c.h, Math.PI + spread];
  if (side === 2) return [t * c.w, c.h + 2, -Math.PI / 2 + spread];
  return [-2, t * c.h, spread];
}

const PAINTERS: Record<DsadStructure, (ctx: Ctx, owner: number) => void> = {
  abdominal_wall(ctx, owner) {
    const { c, rng, noise, U } = ctx;
    const side = intIn(rng, 0, 3);
    const depth = uniform(rng, 0.15, 0.35);
    const base = jitter(rng, [0.9, 0.78, 0.64], 0.06);
    const fascia: Rgb = [0.96, 0.93, 0.88];
    for (let y = 0; y < c.h; y++) {
      for (let x = 0; x < c.w; x++) {
        const along = side % 2 === 0 ? x / c.w : y / c.h;
        const across = side === 0 ? y / c.h : side === 1 ? 1 - x / c.w : side === 2 ? 1 - y / c.h : x / c.w;
        const edge = depth * (0.75 + 0.5 * noise.noise(along * 3 + 50, 1.7));
        if (across > edge) continue;
        const i = y * c.w + x;
        const streak = noise.fbm(along * 2 + 90, across * 14, 3);
        let col = mix(base, fascia, clamp01((streak - 0.55) * 3));
        col = scale(col, 0.85 + 0.25 * noise.fbm(x * 6 / U, y * 6 / U + 30, 3));
        c.set(i, col);
        c.owner[i] = owner;
        c.gloss[i] = 0.35;
      }
    }
  },
  liver(ctx, owner) {
    const { c, rng, noise, U } = ctx;
    const cx = uniform(rng, -0.1, 1.1) * c.w;
    const cy = uniform(rng, -0.25, 0.35) * c.h;
    const b = randomBlob(rng, cx, cy, uniform(rng, 0.55, 0.85) * U, uniform(rng, 1.0, 1.6), 0.12, 4);
    const base = jitter(rng, [0.42, 0.14, 0.11], 0.08);
    paintBlob(ctx, owner, b, base, (x, y, _d, col) => scale(col, 0.9 + 0.18 * noise.fbm((x * 2) / U + 11, (y * 2) / U, 2)), 1.0, 0.06);
    void c;
  },
  spleen(ctx, owner) {
    const { c, rng, noise, U } = ctx;
    const [cx, cy] = [uniform(rng, 0.05, 0.95) * c.w, uniform(rng, 0.1, 0.5) * c.h];
    const b = randomBlob(rng, cx, cy, uniform(rng, 0.25, 0.4) * U, uniform(rng, 1.4, 2.0), 0.08, 3);
    const base = jitter(rng, [0.38, 0.12, 0.2], 0.08);
    paintBlob(ctx, owner, b, base, (x, y, _d, col) => scale(col, 0.9 + 0.15 * noise.fbm((x * 4) / U + 70, (y * 4) / U, 2)), 0.9, 0.15);
  },
  stomach(ctx, owner) {
    const { c, rng, noise, U } = ctx;
    const [cx, cy] = pointIn(ctx, 0.15);
    const b = randomBlob(rng, cx, cy, uniform(rng, 0.35, 0.5) * U, uniform(rng, 1.1, 1.6), 0.15, 4);
    const base = jitter(rng, [0.82, 0.56, 0.52], 0.06);
    const dir = uniform(rng, 0, Math.PI);
    const period = uniform(rng, 0.06, 0.1) * U;
    const vessel: Rgb = [0.6, 0.22, 0.25];
    paintBlob(ctx, owner, b, base, (x, y, _d, col) => {
      const warp = 6 * noise.noise((x * 3) / U, (y * 3) / U + 5);
      const t = (x * Math.cos(dir) + y * Math.sin(dir)) / period + warp;
      let out = scale(col, 0.86 + 0.14 * Math.abs(Math.sin(t * Math.PI)));
      const v = noise.fbm((x * 7) / U + 33, (y * 7) / U, 3);
      if (Math.abs(v - 0.5) < 0.012) out = mix(out, vessel, 0.5);
      return out;
    }, 0.8, 0.12);
    void c;
  },
  colon(ctx, owner) {
    const { rng, U } = ctx;
    const [x, y, a] = fromBorder(ctx);
    const t = randomPath(rng, x, y, a, uniform(rng, 1.2, 2.2) * U, 0.12);
    paintTube(ctx, owner, t, uniform(rng, 0.11, 0.17) * U, jitter(rng, [0.78, 0.56, 0.46], 0.06), { haustra: uniform(rng, 0.1, 0.16) * U, gloss: 0.6, stripe: [0.92, 0.8, 0.7] });
  },
  small_intestine(ctx, owner) {
    const { rng, U } = ctx;
    const loops = intIn(rng, 2, 4);
    const base = jitter(rng, [0.9, 0.5, 0.5], 0.06);
    const [x0, y0] = pointIn(ctx, 0.2);
    const a0 = uniform(rng, 0, Math.PI * 2);
    for (let k = 0; k < loops; k++) {
      const off = (k - loops / 2) * 0.2 * U;
      const t = randomPath(rng, x0 + off * Math.sin(a0) - Math.cos(a0) * U, y0 - off * Math.cos(a0) - Math.sin(a0) * U, a0 + uniform(rng, -0.3, 0.3), uniform(rng, 1.6, 2.4) * U, 0.2);
      paintTube(ctx, owner, t, uniform(rng, 0.08, 0.11) * U, jitter(rng, base, 0.04), { gloss: 0.8 });
    }
  },
  pancreas(ctx, owner) {
    const { rng, noise, U } = ctx;
    const [cx, cy] = pointIn(ctx, 0.2);
    const b = randomBlob(rng, cx, cy, uniform(rng, 0.3, 0.45) * U, uniform(rng, 2.4, 3.2), 0.1, 12);
    const base = jitter(rng, [0.86, 0.68, 0.48], 0.05);
    paintBlob(ctx, owner, b, base, (x, y, _d, col) => {
      const lob = noise.noise((x * 18) / U + 200, (y * 18) / U);
      return scale(col, 0.8 + 0.3 * lob);
    }, 0.25, 0.2);
  },
  vesicular_glands(ctx, owner) {
    const { rng, noise, U } = ctx;
    const [x, y] = pointIn(ctx, 0.2);
    const path = randomPath(rng, x, y, uniform(rng, 0, Math.PI * 2), uniform(rng, 0.4, 0.7) * U, 0.5, 8);
    const base = jitter(rng, [0.86, 0.72, 0.66], 0.05);
    const lobes = intIn(rng, 5, 9);
    for (let k = 0; k < lobes; k++) {
      const p = Math.min(path.xs.length - 1, Math.floor((k / lobes) * path.xs.length));
      const r = uniform(rng, 0.07, 0.11) * U;
      const b = randomBlob(rng, path.xs[p]! + uniform(rng, -0.03, 0.03) * U, path.ys[p]! + uniform(rng, -0.03, 0.03) * U, r, uniform(rng, 1, 1.4), 0.15, 5);
      paintBlob(ctx, owner, b, base, (px, py, _d, col) => scale(col, 0.88 + 0.2 * noise.noise(px * 0.6 + 300, py * 0.6)), 0.5, 0.35);
    }
  },
  ureter(ctx, owner) {
    const { rng, U } = ctx;
    const [x, y, a] = fromBorder(ctx);
    const t = randomPath(rng, x, y, a, uniform(rng, 1.2, 2.0) * U, 0.1);
    paintTube(ctx, owner, t, Math.max(1.0, uniform(rng, 0.018, 0.03) * U), jitter(rng, [0.9, 0.82, 0.72], 0.05), { veil: 0.25 + 0.5 * ctx.app.fat, gloss: 0.3, stripe: [0.8, 0.45, 0.4] });
  },
  inferior_mesenteric_artery(ctx, owner) {
    const { rng, U } = ctx;
    const [x, y, a] = fromBorder(ctx);
    const t = randomPath(rng, x, y, a, uniform(rng, 1.0, 1.8) * U, 0.05);
    paintTube(ctx, owner, t, Math.max(1.0, uniform(rng, 0.025, 0.04) * U), jitter(rng, [0.86, 0.58, 0.54], 0.05), { veil: 0.2 + 0.45 * ctx.app.fat, gloss: 0.35 });
  },
  intestinal_veins(ctx, owner) {
    const { rng, U } = ctx;
    const [x, y, a] = fromBorder(ctx);
    const trunk = randomPath(rng, x, y, a, uniform(rng, 1.0, 1.7) * U, 0.12);
    const base = jitter(rng, [0.36, 0.24, 0.42], 0.08);
    const w = Math.max(1.0, uniform(rng, 0.022, 0.035) * U);
    paintTube(ctx, owner, trunk, w, base, { veil: 0.15 + 0.35 * ctx.app.fat, gloss: 0.4 });
    const branches = intIn(rng, 1, 3);
    for (let k = 0; k < branches; k++) {
      const p = intIn(rng, 6, trunk.xs.length - 4);
      const t = randomPath(rng, trunk.xs[p]!, trunk.ys[p]!, a + (rng() < 0.5 ? -1 : 1) * uniform(rng, 0.6, 1.2), uniform(rng, 0.3, 0.6) * U, 0.15, 12);
      paintTube(ctx, owner, t, w * 0.7, base, { veil: 0.2 + 0.35 * ctx.app.fat, gloss: 0.4 });
    }
  },
};

/** Unlabelled small vessels: look like the thin structures but are not annotated. */
function paintDistractors(ctx: Ctx): void {
  const { rng, U } = ctx;
  const k = intIn(rng, 1, 4);
  for (let j = 0; j < k; j++) {
    const [x, y, a] = fromBorder(ctx);
    const t = randomPath(rng, x, y, a, uniform(rng, 0.6, 1.4) * U, 0.2, 16);
    const col: Rgb = rng() < 0.5 ? [0.62, 0.2, 0.22] : [0.45, 0.25, 0.38];
    paintTube(ctx, 0, t, Math.max(0.7, uniform(rng, 0.01, 0.02) * U), col, { veil: 0.4, gloss: 0.2 });
  }
}

function paintInstrument(ctx: Ctx): void {
  const { c, rng, U } = ctx;
  const [x0, y0, a] = fromBorder(ctx);
  const len = uniform(rng, 0.5, 1.0) * U;
  const w = uniform(rng, 0.05, 0.075) * U;
  const dark = rng() < 0.4;
  const metal: Rgb = dark ? [0.12, 0.12, 0.13] : [0.62, 0.64, 0.67];
  const dx = Math.cos(a);
  const dy = Math.sin(a);
  const jawOpen = uniform(rng, 0.1, 0.5);
  for (let y = 0; y < c.h; y++) {
    for (let x = 0; x < c.w; x++) {
      const px = x + 0.5 - x0;
      const py = y + 0.5 - y0;
      const s = px * dx + py * dy; // along
      const q = -px * dy + py * dx; // across
      let inside = false;
      let t = 0;
      if (s >= 0 && s <= len && Math.abs(q) <= w) {
        inside = true;
        t = Math.abs(q) / w;
      } else if (s > len && s <= len + w * 2.2) {
        // two jaws opening from the tip
        const ds = s - len;
        for (const sign of [-1, 1]) {
          const cq = sign * ds * jawOpen;
          if (Math.abs(q - cq) <= w * 0.45 * (1 - ds / (w * 2.6))) {
            inside = true;
            t = Math.abs(q - cq) / (w * 0.45);
          }
        }
      }
      if (!inside) continue;
      const i = y * c.w + x;
      const shine = Math.exp(-((t - 0.3) ** 2) / 0.02);
      const col = mix(scale(metal, 0.65 + 0.35 * Math.sqrt(Math.max(0, 1 - t * t))), [1, 1, 1], (dark ? 0.35 : 0.55) * shine);
      c.set(i, col);
      c.owner[i] = INSTRUMENT;
      c.gloss[i] = 0;
    }
  }
}

const UPPER: Array<[DsadStructure, number]> = [
  ['abdominal_wall', 0.35],
  ['liver', 0.75],
  ['spleen', 0.35],
  ['stomach', 0.55],
  ['pancreas', 0.4],
  ['small_intestine', 0.3],
  ['colon', 0.3],
];
const LOWER: Array<[DsadStructure, number]> = [
  ['abdominal_wall', 0.35],
  ['colon', 0.6],
  ['small_intestine', 0.45],
  ['vesicular_glands', 0.35],
  ['inferior_mesenteric_artery', 0.45],
  ['intestinal_veins', 0.5],
  ['ureter', 0.5],
];
/** Back-to-front painting order. */
const ORDER: DsadStructure[] = [
  'ureter',
  'inferior_mesenteric_artery',
  'intestinal_veins',
  'pancreas',
  'vesicular_glands',
  'spleen',
  'stomach',
  'liver',
  'small_intestine',
  'colon',
  'abdominal_wall',
];

/**
 * Renders one scene. `appearance` is the surgery's; `seed` the image's. Structures in `absent` are
 * never painted (a surgery that does not show them, e.g. a later step's images without the earlier
 * steps' organs); with none absent the scene is the same as ever for the same seed.
 */
export function renderScene(width: number, height: number, seed: number, app: Appearance, absent: ReadonlySet<DsadStructure> = new Set()): Scene {
  const rng = mulberry32(seed);
  const c = new Canvas(width, height);
  const noise = new ValueNoise(seed ^ 0x9e3779b9);
  const hue = app.tissueHue;
  const ctx: Ctx = {
    c,
    rng,
    noise,
    app,
    U: height,
    tissueColor: [0.74 - 0.06 * hue, 0.36 + 0.04 * hue, 0.33 + 0.02 * hue],
    fatColor: [0.9, 0.76, 0.46],
  };
  paintBackground(ctx);
  paintDistractors(ctx);
  // With nothing absent these are the draws of every earlier build (pinned in generate.test), so a
  // step-0 model trained on earlier scenes still fits; absent structures are simply not drawn.
  const shown = (g: typeof UPPER) => g.filter(([s]) => !absent.has(s));
  const upper = rng() < 0.45;
  let group = shown(upper ? UPPER : LOWER);
  if (group.length === 0) group = shown(upper ? LOWER : UPPER);
  const chosen = new Set<DsadStructure>();
  for (const [s, p] of group) if (rng() < p) chosen.add(s);
  // Never the abdominal wall alone: a scene shows at least one organ or vessel when it can.
  const fallback = group.filter(([s]) => s !== 'abdominal_wall');
  if (chosen.size === 0 && fallback.length) chosen.add(fallback[intIn(rng, 0, fallback.length - 1)]![0]);
  for (const s of ORDER) if (chosen.has(s)) PAINTERS[s](ctx, STRUCT_INDEX.get(s)!);
  const instruments = rng() < 0.75 ? intIn(rng, 1, 2) : 0;
  for (let k = 0; k < instruments; k++) paintInstrument(ctx);
  const rgb = finish(ctx);
  return { width, height, rgb, owner: c.owner };
}

function blurInPlace(buf: Float32Array, w: number, h: number, sigma: number): void {
  if (sigma < 0.25) return;
  const r = Math.max(1, Math.ceil(sigma * 2.5));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i]! /= sum;
  const tmp = new Float32Array(buf.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < 3; ch++) {
        let acc = 0;
        for (let j = -r; j <= r; j++) {
          const xx = Math.min(w - 1, Math.max(0, x + j));
          acc += buf[(y * w + xx) * 3 + ch]! * k[j + r]!;
        }
        tmp[(y * w + x) * 3 + ch] = acc;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let ch = 0; ch < 3; ch++) {
        let acc = 0;
        for (let j = -r; j <= r; j++) {
          const yy = Math.min(h - 1, Math.max(0, y + j));
          acc += tmp[(yy * w + x) * 3 + ch]! * k[j + r]!;
        }
        buf[(y * w + x) * 3 + ch] = acc;
      }
    }
  }
}

/** Camera: lighting, speculars, smoke, blur, vignetting, colour cast, noise; returns bytes. */
function finish(ctx: Ctx): Uint8Array {
  const { c, rng, noise, app, U } = ctx;
  const lx = uniform(rng, 0.35, 0.65) * c.w;
  const ly = uniform(rng, 0.35, 0.65) * c.h;
  const fall = uniform(rng, 0.6, 1.3);
  const smoke = app.smoke * uniform(rng, 0, 1.5);
  const diag = Math.hypot(c.w, c.h) / 2;
  const specScale = 26 / U;
  for (let i = 0; i < c.n; i++) {
    const x = i % c.w;
    const y = (i - x) / c.w;
    const d = Math.hypot(x - lx, y - ly) / diag;
    let light = 1.15 - fall * d * d;
    light = Math.max(0.15, light);
    const o = i * 3;
    let r = c.rgb[o]! * light;
    let g = c.rgb[o + 1]! * light;
    let b = c.rgb[o + 2]! * light;
    const gl = c.gloss[i]!;
    if (gl > 0) {
      const sp = noise.noise(x * specScale + 500, y * specScale * 1.3);
      const spec = clamp01((sp - (0.95 - 0.08 * gl)) * 16) * gl * clamp01(light);
      r += spec;
      g += spec;
      b += spec;
    }
    if (smoke > 0) {
      const s = smoke * noise.fbm(x / U + 900, y / U, 2);
      r = r * (1 - s) + 0.85 * s;
      g = g * (1 - s) + 0.82 * s;
      b = b * (1 - s) + 0.8 * s;
    }
    c.rgb[o] = r;
    c.rgb[o + 1] = g;
    c.rgb[o + 2] = b;
  }
  blurInPlace(c.rgb, c.w, c.h, (app.blur * c.h) / 128);
  const out = new Uint8Array(c.n * 3);
  const vr = uniform(rng, 1.0, 1.25) * diag;
  for (let i = 0; i < c.n; i++) {
    const x = i % c.w;
    const y = (i - x) / c.w;
    const d = Math.hypot(x + 0.5 - c.w / 2, y + 0.5 - c.h / 2);
    const vig = clamp01((vr - d) / (0.25 * diag));
    if (vig < 0.1) c.owner[i] = 0; // nothing can be annotated in the black rim of the endoscope
    for (let ch = 0; ch < 3; ch++) {
      let v = c.rgb[i * 3 + ch]! * app.gain[ch]! * app.brightness;
      v = (v - 0.5) * app.contrast + 0.5;
      v = Math.pow(clamp01(v), app.gamma) * vig + app.noise * gaussian(rng);
      out[i * 3 + ch] = Math.round(clamp01(v) * 255);
    }
  }
  return out;
}
