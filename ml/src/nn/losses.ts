/** Losses as compositions of primitives (their gradients come from the primitives' rules). */
import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';

/** The label of a pixel that teaches nothing (unannotated, or a teacher not confident enough):
 * the one ignore label of label maps, losses, pseudo-labels and replay sets. */
export const IGNORE_LABEL = 255;

export interface CrossEntropyOptions {
  /** Labels equal to this value contribute nothing (default IGNORE_LABEL). */
  readonly ignoreIndex?: number;
  /** One weight per class; the mean is weighted like PyTorch's (sum w_y nll / sum w_y). */
  readonly classWeights?: readonly number[] | Float32Array;
}

/** The one-hot of integer labels [N, ...] as float [N, C, ...] (ignored and out-of-range labels
 * give all-zero rows). */
export function oneHot(labels: Tensor, classes: number, ignoreIndex?: number): Tensor {
  const shape = [labels.shape[0], 1, ...labels.shape.slice(1)];
  const ids = labels.graph.constant(Array.from({ length: classes }, (_, i) => i), [1, classes, ...new Array<number>(labels.rank - 1).fill(1)], labels.dtype);
  let hot = F.cast(F.equal(F.reshape(labels, shape), ids), 'float32');
  if (ignoreIndex !== undefined && ignoreIndex >= 0 && ignoreIndex < classes) {
    hot = F.mul(hot, F.sub(1, F.cast(F.equal(F.reshape(labels, shape), ignoreIndex), 'float32')));
  }
  return hot;
}

/** Softmax cross-entropy of logits [N, C, ...] against integer labels [N, ...]; mean over the
 * labelled pixels. Its gradient reduces to (softmax - onehot) * w / count. */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, o: CrossEntropyOptions = {}): Tensor {
  const C = logits.shape[1];
  let hot = oneHot(labels, C, o.ignoreIndex ?? IGNORE_LABEL);
  if (o.classWeights) {
    if (o.classWeights.length !== C) throw new Error(`softmaxCrossEntropy: ${o.classWeights.length} class weights for ${C} classes`);
    hot = F.mul(hot, logits.graph.constant(Float32Array.from(o.classWeights), [1, C, ...new Array<number>(logits.rank - 2).fill(1)]));
  }
  const numer = F.neg(F.reduceSum(F.mul(hot, F.logSoftmax(logits, 1))));
  const denom = F.reduceSum(hot);
  return F.div(numer, F.where(F.equal(denom, 0), 1, denom));
}

/** Distillation: T^2 * KL(softmax(teacher/T) || softmax(student/T)) over the class axis (1),
 * averaged over the other positions; the teacher gets no gradient. */
export function klDivergence(student: Tensor, teacher: Tensor, o: { temperature?: number; axis?: number } = {}): Tensor {
  const T = o.temperature ?? 1;
  const axis = o.axis ?? 1;
  const logPt = F.logSoftmax(F.mul(F.detach(teacher), 1 / T), axis);
  const logPs = F.logSoftmax(F.mul(student, 1 / T), axis);
  const kl = F.reduceSum(F.mul(F.exp(logPt), F.sub(logPt, logPs)), [axis]);
  return F.mul(F.reduceMean(kl), T * T);
}

export function mse(a: Tensor, b: Tensor): Tensor {
  const d = F.sub(a, b);
  return F.reduceMean(F.mul(d, d));
}

export function l2Normalize(x: Tensor, axis = -1, eps = 1e-12): Tensor {
  return F.div(x, F.sqrt(F.add(F.reduceSum(F.mul(x, x), [axis], true), eps)));
}

/** InfoNCE over matching rows of queries and keys [N, D] (row i's positive is key i, the other
 * keys are its negatives). Normalise first (l2Normalize) for the cosine form. */
export function infoNCE(queries: Tensor, keys: Tensor, o: { temperature?: number } = {}): Tensor {
  const tau = o.temperature ?? 0.1;
  const N = queries.shape[0];
  const logits = F.mul(F.gemm(queries, keys, { transB: true }), 1 / tau);
  const eye = queries.graph.constant(Float32Array.from({ length: N * N }, (_, i) => (i % (N + 1) === 0 ? 1 : 0)), [N, N]);
  return F.neg(F.reduceMean(F.reduceSum(F.mul(eye, F.logSoftmax(logits, 1)), [1])));
}
