/** Segmentation metrics from confusion counts. A ConfusionCounts is plain JSON (it crosses the
 * wire in evaluation reports) and adds up across batches and sites: merging is summing. */

export interface ConfusionCounts {
  readonly numClasses: number;
  /** numClasses x numClasses counts, row = true class, column = predicted class. */
  readonly matrix: number[];
}

export interface ClassCounts {
  readonly tp: number;
  readonly fp: number;
  readonly fn: number;
}

export function emptyConfusion(numClasses: number): ConfusionCounts {
  return { numClasses, matrix: new Array<number>(numClasses * numClasses).fill(0) };
}

/** Adds the pixels of predicted and true label maps (same length) into `cm` (mutated and returned).
 * Labels >= numClasses (255 = ignore) are skipped; predictions >= numClasses are an error. */
export function accumulateConfusion(cm: ConfusionCounts, predicted: ArrayLike<number>, truth: ArrayLike<number>): ConfusionCounts {
  if (predicted.length !== truth.length) throw new Error(`accumulateConfusion: ${predicted.length} predictions for ${truth.length} labels`);
  const n = cm.numClasses;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i];
    if (t >= n) continue;
    const p = predicted[i];
    if (p >= n || p < 0) throw new Error(`accumulateConfusion: prediction ${p} is not a class of ${n}`);
    cm.matrix[t * n + p]++;
  }
  return cm;
}

/** The sum of several confusion counts. Counts over fewer classes (an earlier step's model) are
 * embedded into the largest class count (class ids are stable across steps). */
export function mergeConfusion(...cms: readonly ConfusionCounts[]): ConfusionCounts {
  const n = Math.max(0, ...cms.map((c) => c.numClasses));
  const out = emptyConfusion(n);
  for (const cm of cms) {
    if (cm.matrix.length !== cm.numClasses * cm.numClasses) throw new Error('mergeConfusion: malformed matrix');
    for (let t = 0; t < cm.numClasses; t++) {
      for (let p = 0; p < cm.numClasses; p++) out.matrix[t * n + p] += cm.matrix[t * cm.numClasses + p];
    }
  }
  return out;
}

export function classCounts(cm: ConfusionCounts): ClassCounts[] {
  const n = cm.numClasses;
  const out: ClassCounts[] = [];
  for (let c = 0; c < n; c++) {
    let row = 0;
    let col = 0;
    for (let k = 0; k < n; k++) (row += cm.matrix[c * n + k]), (col += cm.matrix[k * n + c]);
    const tp = cm.matrix[c * n + c];
    out.push({ tp, fp: col - tp, fn: row - tp });
  }
  return out;
}

/** IoU = TP / (TP + FP + FN); null when the class is neither present nor predicted. */
export function iouOfCounts({ tp, fp, fn }: ClassCounts): number | null {
  return tp + fp + fn === 0 ? null : tp / (tp + fp + fn);
}

/** IoU per class (see iouOfCounts). */
export function perClassIoU(cm: ConfusionCounts): (number | null)[] {
  return classCounts(cm).map(iouOfCounts);
}

/** Mean IoU over the given classes (default all), skipping classes whose IoU is null; null if none. */
export function meanIoU(cm: ConfusionCounts, classes?: readonly number[]): number | null {
  const iou = perClassIoU(cm);
  const vals = (classes ?? iou.map((_, i) => i)).map((c) => iou[c]).filter((v): v is number => v !== null && v !== undefined);
  return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : null;
}

export interface IncrementalMiou {
  readonly old: number | null;
  readonly new: number | null;
  readonly all: number | null;
  readonly perClass: (number | null)[];
}

/** mIoU of old classes (0..oldClasses-1; background counted as old, as MiB and PLOP report it,
 * unless includeBackground is false), new classes (oldClasses..n-1) and all classes. */
export function incrementalMiou(cm: ConfusionCounts, oldClasses: number, o: { includeBackground?: boolean } = {}): IncrementalMiou {
  const n = cm.numClasses;
  const start = o.includeBackground === false ? 1 : 0;
  const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
  return {
    old: meanIoU(cm, range(start, oldClasses)),
    new: meanIoU(cm, range(oldClasses, n)),
    all: meanIoU(cm, range(start, n)),
    perClass: perClassIoU(cm),
  };
}

/** Forgetting per class: the best IoU an earlier step reached minus the current IoU (positive =
 * forgotten); null where the class has no earlier or no current IoU. `history[s][c]` is class c's
 * IoU after step s. */
export function forgetting(history: readonly (readonly (number | null)[])[], current: readonly (number | null)[]): (number | null)[] {
  return current.map((now, c) => {
    const earlier = history.map((h) => h[c]).filter((v): v is number => v !== null && v !== undefined);
    return now === null || now === undefined || !earlier.length ? null : Math.max(...earlier) - now;
  });
}

/** Argmax over the class axis of logits [N, C, H*W] -> labels [N*H*W] (ties go to the lower class). */
export function argmaxLabels(logits: Float32Array, n: number, c: number, hw: number): Uint8Array {
  const out = new Uint8Array(n * hw);
  for (let b = 0; b < n; b++) {
    for (let p = 0; p < hw; p++) {
      let best = 0;
      let max = logits[b * c * hw + p];
      for (let k = 1; k < c; k++) {
        const v = logits[(b * c + k) * hw + p];
        if (v > max) (max = v), (best = k);
      }
      out[b * hw + p] = best;
    }
  }
  return out;
}
