/** Teacher-side label work on plain arrays: PLOP-style pseudo-labels of background pixels, the
 * per-class pixel sampling of the contrastive loss, and the memory of class prototypes. */
import { IGNORE_LABEL } from '../nn/losses';

export interface PseudoLabelOptions {
  /** 'confidence': max probability >= threshold; 'entropy': entropy / log(K) <= threshold (PLOP). */
  readonly mode?: 'confidence' | 'entropy';
  /** Default 0.7 for confidence, 0.5 for entropy. */
  readonly threshold?: number;
  /** What an unconfident background pixel becomes: 'ignore' (255, PLOP) or 'background' (keep 0). */
  readonly unconfident?: 'ignore' | 'background';
}

/** Per-pixel teacher decision: argmax class and whether it is confident. logits [N, K, H, W]. */
export function teacherDecisions(logits: Float32Array, n: number, k: number, hw: number, o: PseudoLabelOptions = {}) {
  const mode = o.mode ?? 'confidence';
  const threshold = o.threshold ?? (mode === 'confidence' ? 0.7 : 0.5);
  const cls = new Uint8Array(n * hw);
  const confident = new Uint8Array(n * hw);
  const logK = Math.log(Math.max(k, 2));
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      let best = 0;
      let max = -Infinity;
      for (let c = 0; c < k; c++) {
        const v = logits[(b * k + c) * hw + p];
        if (v > max) (max = v), (best = c);
      }
      let sum = 0;
      let ent = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(logits[(b * k + c) * hw + p] - max);
      if (mode === 'entropy') {
        for (let c = 0; c < k; c++) {
          const q = Math.exp(logits[(b * k + c) * hw + p] - max) / sum;
          if (q > 0) ent -= q * Math.log(q);
        }
      }
      const ok = mode === 'confidence' ? 1 / sum >= threshold : ent / logK <= threshold;
      cls[b * hw + p] = best;
      confident[b * hw + p] = ok ? 1 : 0;
    }
  }
  return { cls, confident };
}

/** PLOP's pseudo-labelling: pixels labelled background (0) take the teacher's class where it is
 * confident, and become `unconfident` otherwise; every other pixel keeps its label.
 * labels [N*H*W] (not modified), teacher logits [N, K, H, W]. */
export function pseudoLabelBackground(labels: Uint8Array, teacherLogits: Float32Array, n: number, k: number, hw: number, o: PseudoLabelOptions = {}): Uint8Array {
  const { cls, confident } = teacherDecisions(teacherLogits, n, k, hw, o);
  const out = labels.slice();
  const fallback = (o.unconfident ?? 'ignore') === 'ignore' ? IGNORE_LABEL : 0;
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== 0) continue;
    out[i] = confident[i] ? cls[i] : fallback;
  }
  return out;
}

/** Teacher labels of unlabelled (e.g. generated replay) images: the argmax where confident, 255 elsewhere. */
export function teacherLabels(teacherLogits: Float32Array, n: number, k: number, hw: number, o: PseudoLabelOptions = {}): Uint8Array {
  const { cls, confident } = teacherDecisions(teacherLogits, n, k, hw, o);
  for (let i = 0; i < cls.length; i++) if (!confident[i]) cls[i] = IGNORE_LABEL;
  return cls;
}

export interface ContrastiveSample {
  /** Flat indices into N*H*W, int64 [M]. */
  readonly indices: BigInt64Array;
  readonly classes: Float32Array;
  readonly mask: Float32Array;
}

/** Samples up to M pixels across all images of a batch, balanced over the classes present
 * (each class gets floor(M / classes present), leftovers go to classes with more pixels);
 * padding has mask 0. labels [N*H*W] with 255 = ignore. */
export function sampleContrastivePixels(labels: Uint8Array, numClasses: number, M: number, rand: () => number): ContrastiveSample {
  const byClass: number[][] = Array.from({ length: numClasses }, () => []);
  for (let i = 0; i < labels.length; i++) if (labels[i] < numClasses) byClass[labels[i]].push(i);
  const present = byClass.map((l, c) => ({ l, c })).filter((e) => e.l.length > 0);
  const indices = new BigInt64Array(M);
  const classes = new Float32Array(M);
  const mask = new Float32Array(M);
  if (!present.length) return { indices, classes, mask };
  const quota = present.map((e) => Math.min(e.l.length, Math.floor(M / present.length)));
  let left = M - quota.reduce((a, b) => a + b, 0);
  for (let changed = true; left > 0 && changed; ) {
    changed = false;
    for (let j = 0; j < present.length && left > 0; j++) {
      if (quota[j] < present[j].l.length) quota[j]++, left--, (changed = true);
    }
  }
  let at = 0;
  present.forEach((e, j) => {
    const pool = e.l;
    for (let t = 0; t < quota[j]; t++) {
      const r = t + Math.floor(rand() * (pool.length - t)); // partial Fisher-Yates
      [pool[t], pool[r]] = [pool[r], pool[t]];
      indices[at] = BigInt(pool[t]);
      classes[at] = e.c;
      mask[at] = 1;
      at++;
    }
  });
  return { indices, classes, mask };
}

/** A memory of class prototypes: per class, an exponential moving average of the mean normalised
 * embedding of its sampled pixels (kept normalised). Row k is class k. */
export class PrototypeMemory {
  readonly prototypes: Float32Array;
  readonly valid: Float32Array;

  constructor(readonly numClasses: number, readonly dim: number, readonly momentum = 0.9) {
    this.prototypes = new Float32Array(numClasses * dim);
    this.valid = new Float32Array(numClasses);
  }

  /** Folds in normalised sample embeddings z [M, D] with their classes and mask. */
  update(z: Float32Array, classes: Float32Array, mask: Float32Array): void {
    const D = this.dim;
    const sums = new Float32Array(this.numClasses * D);
    const counts = new Float32Array(this.numClasses);
    for (let i = 0; i < classes.length; i++) {
      if (!mask[i]) continue;
      const c = classes[i];
      counts[c]++;
      for (let d = 0; d < D; d++) sums[c * D + d] += z[i * D + d];
    }
    for (let c = 0; c < this.numClasses; c++) {
      if (!counts[c]) continue;
      const m = this.valid[c] ? this.momentum : 0;
      let norm = 0;
      for (let d = 0; d < D; d++) {
        const v = m * this.prototypes[c * D + d] + (1 - m) * (sums[c * D + d] / counts[c]);
        this.prototypes[c * D + d] = v;
        norm += v * v;
      }
      norm = Math.sqrt(norm) || 1;
      for (let d = 0; d < D; d++) this.prototypes[c * D + d] /= norm;
      this.valid[c] = 1;
    }
  }
}
