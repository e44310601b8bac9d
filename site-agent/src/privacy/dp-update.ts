/**
 * Differential privacy of a site's update, applied before it leaves: the delta from the round's
 * global model is clipped to an L2 norm C, Gaussian noise is added to every coordinate, and the
 * site sends global + noisy delta (the coordinator's aggregation is unchanged). The noise comes from
 * the operating system's CSPRNG, never from a seed the coordinator could know.
 */
import { randomBytes } from 'node:crypto';
import type { NamedTensors } from '@fedciss/ml';

export interface DpParams {
  readonly clipNorm: number;
  /** Per-coordinate standard deviation of the noise. */
  readonly noiseStddev: number;
  /** Adaptive clipping: noise on the "within the bound" bit (0 or absent: no bit). */
  readonly countNoiseStddev?: number;
}

export interface PrivatisedUpdate {
  readonly weights: NamedTensors;
  /** L2 norm of the delta before clipping. */
  readonly deltaNorm: number;
  /** Factor applied to the delta (1: within the bound). */
  readonly clipFactor: number;
  /**
   * Adaptive clipping: 1 if the delta's norm was within the bound (else 0) plus N(0, countNoiseStddev²);
   * what the coordinator learns of it is private like the update (its noise is part of the budget).
   */
  readonly unclippedIndicator?: number;
}

/**
 * Standard normal samples: Box–Muller on uniforms with 53 random bits each, read from the CSPRNG in
 * 64 KiB blocks. (Floating-point attacks on textbook Gaussian samplers, Mironov 2012, are not
 * addressed: the noise is continuous-valued doubles rounded to float32.)
 */
export function cryptoGaussian(bytes: (n: number) => Buffer = randomBytes): () => number {
  let block: Uint32Array = new Uint32Array(0);
  let at = 0;
  let spare: number | null = null;
  const word = () => {
    if (at >= block.length) {
      const b = bytes(65536);
      // A copy: a pooled Buffer's offset need not be 4-byte aligned.
      block = new Uint32Array(new Uint8Array(b).buffer, 0, b.byteLength >>> 2);
      at = 0;
    }
    return block[at++];
  };
  // (0, 1]: 53 random bits, never 0 (log(0) would be −∞).
  const uniform = () => ((word() >>> 5) * 67108864 + (word() >>> 6) + 1) / 9007199254740992;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const r = Math.sqrt(-2 * Math.log(uniform()));
    const theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}

/**
 * Clips `local − global` to `clipNorm`, adds N(0, noiseStddev²) per coordinate, returns global + result
 * (and, under adaptive clipping, the noisy bit of whether the delta was within the bound).
 */
export function privatiseUpdate(global: NamedTensors, local: NamedTensors, p: DpParams, gaussian = cryptoGaussian()): PrivatisedUpdate {
  if (!(p.clipNorm > 0)) throw new RangeError(`clip norm ${p.clipNorm} must be positive`);
  if (!(p.noiseStddev >= 0)) throw new RangeError(`noise standard deviation ${p.noiseStddev} must be >= 0`);
  let sq = 0;
  for (const [name, t] of local) {
    const g = global.get(name);
    if (!g || g.data.length !== t.data.length) {
      throw new Error(`tensor '${name}' of the trained model has no counterpart of the same size in the global model (${g ? `${g.data.length} vs ${t.data.length} values` : 'missing'})`);
    }
    for (let i = 0; i < t.data.length; i++) {
      const d = t.data[i] - g.data[i];
      sq += d * d;
    }
  }
  if (global.size !== local.size) throw new Error(`the trained model has ${local.size} tensors, the global model ${global.size}`);
  const deltaNorm = Math.sqrt(sq);
  const clipFactor = deltaNorm > p.clipNorm ? p.clipNorm / deltaNorm : 1;
  const weights: NamedTensors = new Map();
  for (const [name, t] of local) {
    const g = global.get(name)!;
    const data = new Float32Array(t.data.length);
    for (let i = 0; i < data.length; i++) data[i] = g.data[i] + (t.data[i] - g.data[i]) * clipFactor + (p.noiseStddev > 0 ? p.noiseStddev * gaussian() : 0);
    weights.set(name, { shape: [...t.shape], data });
  }
  const countNoise = p.countNoiseStddev ?? 0;
  if (!(countNoise >= 0)) throw new RangeError(`count noise standard deviation ${countNoise} must be >= 0`);
  return countNoise > 0 ? { weights, deltaNorm, clipFactor, unclippedIndicator: (deltaNorm <= p.clipNorm ? 1 : 0) + countNoise * gaussian() } : { weights, deltaNorm, clipFactor };
}
