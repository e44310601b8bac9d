/** The losses of the class-incremental recipe, written as graph compositions (their gradients come
 * from the engine's primitive rules). Logits are [N, C, H, W]; labels are integer [N, H, W] with
 * 255 = ignore. Old classes are 0..oldClasses-1 (0 = background), new ones oldClasses..C-1. */
import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import { IGNORE_LABEL, l2Normalize, oneHot } from '../nn/losses';

/** log(sum(exp(x))) over axis 1, kept as a size-1 axis (max-shifted, the shift gets no gradient). */
export function logSumExp(x: Tensor, axis = 1): Tensor {
  const m = F.detach(F.reduceMax(x, [axis], true));
  return F.add(m, F.log(F.reduceSum(F.exp(F.sub(x, m)), [axis], true)));
}

/** Mean of -log p(label) over the labelled pixels (0 when none is). */
function labelledNll(logProb: Tensor, labels: Tensor): Tensor {
  const hot = oneHot(labels, logProb.shape[1], IGNORE_LABEL);
  const count = F.reduceSum(hot);
  return F.div(F.neg(F.reduceSum(F.mul(hot, logProb))), F.where(F.equal(count, 0), 1, count));
}

/** The logits of background and of the classes [from, to), along the class axis. */
function backgroundAnd(logits: Tensor, from: number, to: number): Tensor {
  if (from === 1) return F.slice(logits, [1], [0], [to]);
  const bg = F.slice(logits, [1], [0], [1]);
  return from < to ? F.concat([bg, F.slice(logits, [1], [from], [to])], 1) : bg;
}

/** Log-probabilities in which background's column holds the log of the summed probability of
 * background and the classes [from, to) (the other columns are the plain log-probabilities). */
function backgroundMerged(logits: Tensor, from: number, to: number): Tensor {
  const C = logits.shape[1];
  const lse = logSumExp(logits);
  const bg = F.sub(logSumExp(backgroundAnd(logits, from, to)), lse);
  return C > 1 ? F.concat([bg, F.sub(F.slice(logits, [1], [1], [C]), lse)], 1) : bg;
}

/** MiB's unbiased cross-entropy: a pixel labelled background may show an old class, so its
 * probability is that of background OR any old class: log sum_{c < oldClasses} p_c. Pixels of other
 * classes use the plain log-probability. Mean over labelled pixels. */
export function unbiasedCrossEntropy(logits: Tensor, labels: Tensor, oldClasses: number): Tensor {
  return labelledNll(backgroundMerged(logits, 1, oldClasses), labels);
}

/** Separated-softmax cross-entropy (SS-IL, Ahn et al., ICCV 2021) for the step's own images: a pixel
 * labelled background or a new class is scored over background and the new classes only, so its
 * softmax never pushes the old classes' logits down (the step's images label no old class, and plain
 * cross-entropy on them biases the model towards the new classes); a pixel labelled with an old class
 * (a teacher's pseudo-label) over every class. Mean over labelled pixels; without old classes
 * (oldClasses 1: background only) it is plain cross-entropy. */
export function separatedCrossEntropy(logits: Tensor, labels: Tensor, oldClasses: number): Tensor {
  const C = logits.shape[1];
  if (oldClasses <= 1) return labelledNll(F.logSoftmax(logits, 1), labels);
  const current = backgroundAnd(logits, oldClasses, C);
  // 1 where the pixel is labelled with an old class (1..oldClasses-1), else 0: [N, 1, H, W]
  const oldPixel = F.reduceSum(F.slice(oneHot(labels, C, IGNORE_LABEL), [1], [1], [oldClasses]), [1], true);
  const lse = F.add(F.mul(oldPixel, logSumExp(logits)), F.mul(F.sub(1, oldPixel), logSumExp(current)));
  return labelledNll(F.sub(logits, lse), labels);
}

/** Cross-entropy for teacher-labelled replay images: the teacher knows only the old classes, so its
 * background may be any NEW class too; a pixel labelled background counts as background OR any new
 * class (log(p_0 + sum_{c >= oldClasses} p_c)) and never teaches "not new". Old-class pixels use
 * the plain log-probability. Mean over labelled pixels. */
export function replayCrossEntropy(logits: Tensor, labels: Tensor, oldClasses: number): Tensor {
  const C = logits.shape[1];
  return labelledNll(oldClasses < C ? backgroundMerged(logits, oldClasses, C) : F.logSoftmax(logits, 1), labels);
}

/** Soft Dice loss over a batch (nnU-Net's "batch Dice", the standard companion of cross-entropy in
 * medical segmentation: it weighs a thin structure's pixels as much as a large organ's). For each
 * foreground class c present among the labels: Dice_c = (2 sum p_c g_c + eps) / (sum p_c + sum g_c
 * + eps) over the batch's labelled pixels (p softmax, g one-hot; 255-labelled pixels take no part);
 * the loss is 1 - the mean Dice over the classes present (0 when none is). Background is left out. */
export function softDice(logits: Tensor, labels: Tensor, o: { eps?: number } = {}): Tensor {
  const C = logits.shape[1];
  if (C < 2) throw new Error('softDice: needs at least one foreground class');
  const eps = o.eps ?? 1;
  const fg = (x: Tensor) => F.slice(x, [1], [1], [C]);
  const hot = oneHot(labels, C, IGNORE_LABEL);
  const labelled = F.reduceSum(hot, [1], true); // [N, 1, H, W]: 1 where the pixel has a label
  const prob = fg(F.mul(F.softmax(logits, 1), labelled));
  const target = fg(hot);
  const axes = [0, 2, 3];
  const overlap = F.reduceSum(F.mul(prob, target), axes);
  const size = F.reduceSum(target, axes);
  const dice = F.div(F.add(F.mul(overlap, 2), eps), F.add(F.add(F.reduceSum(prob, axes), size), eps));
  const present = F.cast(F.greater(size, 0), 'float32');
  const count = F.reduceSum(present);
  return F.div(F.reduceSum(F.mul(F.sub(1, dice), present)), F.where(F.equal(count, 0), 1, count));
}

/** MiB's unbiased output distillation, as a KL divergence (0 when the student matches):
 * the teacher's distribution over its K classes against the student's, in which the
 * probabilities of background and of every new class are summed into background.
 * Divided by K, as MiB does (its KD averages over the old classes, and its weight of 10 assumes
 * that), then averaged over pixels (optionally weighted per pixel by `mask` [N, H, W] in {0, 1}). */
export function unbiasedDistillation(student: Tensor, teacher: Tensor, o: { temperature?: number; mask?: Tensor } = {}): Tensor {
  const T = o.temperature ?? 1;
  const C = student.shape[1];
  const K = teacher.shape[1];
  if (K > C) throw new Error(`unbiasedDistillation: teacher has ${K} classes, student ${C}`);
  const s = T === 1 ? student : F.mul(student, 1 / T);
  const t = F.detach(T === 1 ? teacher : F.mul(teacher, 1 / T));
  const lse = logSumExp(s);
  const bgAndNew = K < C ? F.concat([F.slice(s, [1], [0], [1]), F.slice(s, [1], [K], [C])], 1) : F.slice(s, [1], [0], [1]);
  const qBg = F.sub(logSumExp(bgAndNew), lse);
  const logQ = K > 1 ? F.concat([qBg, F.sub(F.slice(s, [1], [1], [K]), lse)], 1) : qBg;
  const logP = F.logSoftmax(t, 1);
  const kl = F.mul(F.reduceSum(F.mul(F.exp(logP), F.sub(logP, logQ)), [1]), 1 / K); // [N, H, W]
  if (!o.mask) return F.mul(F.reduceMean(kl), T * T);
  const m = F.reduceSum(o.mask);
  return F.mul(F.div(F.reduceSum(F.mul(kl, o.mask)), F.where(F.equal(m, 0), 1, m)), T * T);
}

/** PLOP's (local) POD embedding of one feature map [N, C, H, W]: the squared activations, for
 * each scale s (s x s windows), mean-pooled along the height and along the width in every window,
 * each pooled vector L2-normalised per sample; concatenated [N, D]. */
export function podEmbedding(f: Tensor, scales: readonly number[] = [1]): Tensor {
  const [N, , H, W] = f.shape;
  const sq = F.mul(f, f);
  const parts: Tensor[] = [];
  for (const s of scales) {
    if (H % s !== 0 || W % s !== 0) continue;
    const h = H / s;
    const w = W / s;
    for (let i = 0; i < s; i++) {
      for (let j = 0; j < s; j++) {
        const win = s === 1 ? sq : F.slice(sq, [2, 3], [i * h, j * w], [(i + 1) * h, (j + 1) * w]);
        parts.push(l2Normalize(F.reshape(F.reduceMean(win, [3]), [N, -1]), 1, 1e-8)); // along height
        parts.push(l2Normalize(F.reshape(F.reduceMean(win, [2]), [N, -1]), 1, 1e-8)); // along width
      }
    }
  }
  if (!parts.length) throw new Error(`podEmbedding: no scale of [${scales.join(', ')}] divides ${H}x${W}`);
  return F.concat(parts, 1);
}

/** POD feature distillation: for each pair of student/teacher feature maps, the L2 distance of
 * their POD embeddings per sample, averaged over samples; then averaged over the pairs. */
export function podDistillation(student: readonly Tensor[], teacher: readonly Tensor[], scales: readonly number[] = [1, 2]): Tensor {
  if (student.length !== teacher.length || !student.length) throw new Error('podDistillation: feature lists differ or are empty');
  let total: Tensor | undefined;
  student.forEach((s, i) => {
    const d = F.sub(podEmbedding(s, scales), podEmbedding(F.detach(teacher[i]), scales));
    const dist = F.reduceMean(F.sqrt(F.add(F.reduceSum(F.mul(d, d), [1]), 1e-8)));
    total = total ? F.add(total, dist) : dist;
  });
  return F.mul(total as Tensor, 1 / student.length);
}

/** The pixel embeddings [N, D, H, W] at flat pixel indices (into N*H*W, int64 [M]) -> [M, D]. */
export function gatherPixels(embeddings: Tensor, indices: Tensor): Tensor {
  const [N, D, H, W] = embeddings.shape;
  return F.gather(F.reshape(F.transpose(embeddings, [0, 2, 3, 1]), [N * H * W, D]), indices, 0);
}

export interface ContrastiveInputs {
  /** Sampled pixel embeddings [M, D] (see gatherPixels; normalised inside). */
  readonly samples: Tensor;
  /** Class of each sample, float [M]. */
  readonly sampleClasses: Tensor;
  /** 1 for real samples, 0 for padding, float [M]. */
  readonly sampleMask: Tensor;
  /** Memory of class prototypes [K, D] (class k's prototype in row k, normalised inside). */
  readonly prototypes?: Tensor;
  /** 1 where class k has a prototype, float [K]. */
  readonly prototypeMask?: Tensor;
  readonly temperature?: number;
}

/** Supervised cross-image pixel contrastive loss (SupCon over pixels sampled from every image of
 * the batch, real and replayed, plus a memory of class prototypes as extra candidates): for each
 * anchor i with positives P(i) (other samples of its class and its class prototype),
 *   l_i = -1/|P(i)| sum_{p in P(i)} log( exp(z_i.z_p/tau) / sum_{a != i} exp(z_i.z_a/tau) ),
 * averaged over anchors with at least one positive. Embeddings and prototypes are L2-normalised;
 * prototypes get no gradient. */
export function pixelContrastive(o: ContrastiveInputs): Tensor {
  const g = o.samples.graph;
  const M = o.samples.shape[0];
  const tau = o.temperature ?? 0.1;
  const z = l2Normalize(o.samples, 1, 1e-8);
  let cand = z;
  let candClasses = o.sampleClasses;
  let candMask = o.sampleMask;
  let selfMask = g.constant(Float32Array.from({ length: M * M }, (_, i) => (i % (M + 1) === 0 ? 0 : 1)), [M, M]);
  if (o.prototypes) {
    const K = o.prototypes.shape[0];
    cand = F.concat([z, l2Normalize(F.detach(o.prototypes), 1, 1e-8)], 0);
    candClasses = F.concat([o.sampleClasses, g.constant(Array.from({ length: K }, (_, k) => k), [K])], 0);
    candMask = F.concat([o.sampleMask, o.prototypeMask ?? g.constant(new Float32Array(K).fill(1), [K])], 0);
    selfMask = F.concat([selfMask, g.constant(new Float32Array(M * K).fill(1), [M, K])], 1);
  }
  const allowed = F.mul(F.mul(selfMask, F.reshape(candMask, [1, -1])), F.reshape(o.sampleMask, [M, 1]));
  const logits = F.mul(F.gemm(z, cand, { transB: true }), 1 / tau);
  const masked = F.add(logits, F.mul(F.sub(allowed, 1), 1e4));
  const logProb = F.logSoftmax(masked, 1);
  const same = F.cast(F.equal(F.reshape(o.sampleClasses, [M, 1]), F.reshape(candClasses, [1, -1])), 'float32');
  const pos = F.mul(same, allowed);
  const count = F.reduceSum(pos, [1]); // [M]
  const hasPos = F.cast(F.greater(count, 0), 'float32');
  const perAnchor = F.div(F.neg(F.reduceSum(F.mul(pos, logProb), [1])), F.where(F.equal(count, 0), 1, count));
  const anchors = F.reduceSum(hasPos);
  return F.div(F.reduceSum(F.mul(perAnchor, hasPos)), F.where(F.equal(anchors, 0), 1, anchors));
}

/** The mirror of unbiasedDistillation for the server side: keeps the student close to a reference
 * model (e.g. the aggregated model before distillation) on the NEW classes, with background and
 * every old class summed into background in both: KL(ref || student), mean over pixels. */
export function newClassDistillation(student: Tensor, reference: Tensor, oldClasses: number, o: { temperature?: number } = {}): Tensor {
  const T = o.temperature ?? 1;
  const C = student.shape[1];
  if (reference.shape[1] !== C) throw new Error('newClassDistillation: reference and student class counts differ');
  if (oldClasses >= C) throw new Error('newClassDistillation: there are no new classes');
  const merge = (x: Tensor) => {
    const lse = logSumExp(x);
    return F.concat([F.sub(logSumExp(F.slice(x, [1], [0], [oldClasses])), lse), F.sub(F.slice(x, [1], [oldClasses], [C]), lse)], 1);
  };
  const logQ = merge(T === 1 ? student : F.mul(student, 1 / T));
  const logP = merge(F.detach(T === 1 ? reference : F.mul(reference, 1 / T)));
  return F.mul(F.reduceMean(F.reduceSum(F.mul(F.exp(logP), F.sub(logP, logQ)), [1])), T * T);
}

/** FedProx's proximal term 1/2 * sum ||w - w_global||^2 (its weight is mu). */
export function proximalTerm(params: readonly Tensor[], global: readonly Tensor[]): Tensor {
  let total: Tensor | undefined;
  params.forEach((p, i) => {
    const d = F.sub(p, F.detach(global[i]));
    const s = F.reduceSum(F.mul(d, d));
    total = total ? F.add(total, s) : s;
  });
  if (!total) throw new Error('proximalTerm: no parameters');
  return F.mul(total, 0.5);
}
