/** Class-balanced replay sets: from a pool of teacher-labelled generated images, keep a subset in
 * which every class the teacher sees in the pool turns up in as even a number of images as the
 * pool allows.
 *
 * Why: a generator samples the classes in the proportions it learnt (large organs often, small
 * ones rarely), so a replay set of ~100 samples can miss a class entirely, and a student (or a
 * site's local training) taught on it forgets that class whatever the generator could make. In
 * bench:replay the fidelity of the same generator moved with which classes its 96 samples held
 * (issue 17's note: a seed whose samples lacked stomach and small intestine scored lowest).
 * Sampling more and keeping a balanced subset costs sampling time only. */
import { IGNORE_LABEL } from '../nn/losses';

/** An image shows a class when at least this share of its pixels is confidently that class: at
 * the generator's 24x32, 8 pixels, a small organ; fewer are mostly the teacher's stray pixels. */
export const MIN_CLASS_SHARE = 0.01;

/** Share of the label map's pixels of each class 0..numClasses-1 (IGNORE_LABEL pixels count in
 * the whole, for no class): comparable between label maps of different sizes. */
export function classShares(label: ArrayLike<number>, numClasses: number): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < label.length; i++) {
    const l = label[i];
    if (l === IGNORE_LABEL) continue;
    if (!(l >= 0 && l < numClasses)) throw new Error(`classShares: label ${l} at pixel ${i} is outside 0..${numClasses - 1} (and not the ignore label ${IGNORE_LABEL})`);
    counts[l]++;
  }
  return counts.map((c) => (label.length ? c / label.length : 0));
}

export interface BalanceOptions {
  /** An image shows a class when its amount of it is at least this (default MIN_CLASS_SHARE). */
  readonly minShare?: number;
}

/**
 * Indices (ascending) of `count` images of the pool, chosen greedily: take the class shown by the
 * fewest chosen images so far (ties: the class fewest pool images show, then the lower id), add the
 * unchosen image with the most pixels of it (ties: the lower index), repeat. Classes no unchosen
 * image shows are passed over; when none is left, the rest is filled in pool order.
 * `amounts[i][k]` = amount of class k in pool image i (classShares). Deterministic.
 */
export function balancedSubset(amounts: readonly (readonly number[])[], count: number, o: BalanceOptions = {}): number[] {
  if (!Number.isInteger(count) || count < 0) throw new Error(`balancedSubset: count must be a non-negative integer, got ${count}`);
  if (count > amounts.length) throw new Error(`balancedSubset: ${count} images asked of a pool of ${amounts.length}`);
  const minShare = o.minShare ?? MIN_CLASS_SHARE;
  const K = amounts.length ? amounts[0].length : 0;
  amounts.forEach((p, i) => {
    if (p.length !== K) throw new Error(`balancedSubset: pool image ${i} has amounts for ${p.length} classes, image 0 for ${K}`);
  });
  const shows = (i: number, k: number) => amounts[i][k] >= minShare;
  const inPool = Array.from({ length: K }, (_, k) => amounts.reduce((n, _p, i) => n + (shows(i, k) ? 1 : 0), 0));
  const chosenShowing = new Array<number>(K).fill(0);
  const chosen = new Set<number>();
  while (chosen.size < count) {
    // Classes an unchosen image still shows, neediest first.
    let best: { k: number; image: number } | undefined;
    for (let k = 0; k < K; k++) {
      let image = -1;
      for (let i = 0; i < amounts.length; i++) if (!chosen.has(i) && shows(i, k) && (image < 0 || amounts[i][k] > amounts[image][k])) image = i;
      if (image < 0) continue;
      const needier = !best || chosenShowing[k] < chosenShowing[best.k] || (chosenShowing[k] === chosenShowing[best.k] && inPool[k] < inPool[best.k]);
      if (needier) best = { k, image };
    }
    const next = best ? best.image : [...amounts.keys()].find((i) => !chosen.has(i))!;
    chosen.add(next);
    for (let k = 0; k < K; k++) if (shows(next, k)) chosenShowing[k]++;
  }
  return [...chosen].sort((a, b) => a - b);
}
