/** Seeded pseudo-random numbers (no Math.random anywhere in the data layer). */

import { seededRandom } from '@fedciss/ml';

export type Rng = () => number;

/** mulberry32 (the learning core's seeded generator): floats in [0, 1), the same sequence for a seed. */
export const mulberry32: (seed: number) => Rng = seededRandom;

/** Mixes several integers into one 32-bit seed. */
export function hashSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x01000193);
    h ^= h >>> 13;
    h = Math.imul(h, 0x5bd1e995);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** A stable 31-bit seed of a text (FNV-1a; never 0). Every site's training seed comes from it
 * ("step:round:site"), so its values must not change: benchmarks rerun federations by seed. */
export function textSeed(text: string): number {
  let h = 2166136261;
  for (const ch of text) h = Math.imul(h ^ ch.charCodeAt(0), 16777619);
  return (h >>> 1) || 1;
}

/** Fisher-Yates shuffle in place with the given generator; returns the array. */
export function shuffleInPlace<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = items[i]!;
    items[i] = items[j]!;
    items[j] = t;
  }
  return items;
}

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

export function intIn(rng: Rng, lo: number, hiInclusive: number): number {
  return lo + Math.floor(rng() * (hiInclusive - lo + 1));
}

/** Standard normal (Box-Muller). */
export function gaussian(rng: Rng): number {
  const u = Math.max(rng(), 1e-12);
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** 2D value noise with a seeded lattice, smooth interpolation; fbm sums octaves. Output ~[0, 1]. */
export class ValueNoise {
  private readonly table: Float32Array;
  private readonly perm: Uint16Array;

  constructor(seed: number) {
    const rng = mulberry32(seed);
    this.table = new Float32Array(256);
    for (let i = 0; i < 256; i++) this.table[i] = rng();
    const p = Array.from({ length: 256 }, (_, i) => i);
    shuffleInPlace(p, rng);
    this.perm = new Uint16Array(512);
    for (let i = 0; i < 512; i++) this.perm[i] = p[i & 255]!;
  }

  private lattice(ix: number, iy: number): number {
    return this.table[this.perm[(this.perm[ix & 255]! + iy) & 511]! & 255]!;
  }

  noise(x: number, y: number): number {
    const ix = Math.floor(x);
    const iy = Math.floor(y);
    const fx = x - ix;
    const fy = y - iy;
    const sx = fx * fx * (3 - 2 * fx);
    const sy = fy * fy * (3 - 2 * fy);
    const a = this.lattice(ix, iy);
    const b = this.lattice(ix + 1, iy);
    const c = this.lattice(ix, iy + 1);
    const d = this.lattice(ix + 1, iy + 1);
    return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
  }

  fbm(x: number, y: number, octaves = 4): number {
    let sum = 0;
    let amp = 0.5;
    let norm = 0;
    let f = 1;
    for (let o = 0; o < octaves; o++) {
      sum += amp * this.noise(x * f + o * 17.3, y * f - o * 9.1);
      norm += amp;
      amp *= 0.5;
      f *= 2;
    }
    return sum / norm;
  }
}
