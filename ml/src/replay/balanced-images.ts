/** A class-balanced choice of generated images by a teacher segmenter: what bench:replay's
 * students and a site's replay-check floor learn from, chosen as a site's replay set is
 * (diffusion/replay.ts: the same balancedSubset over the teacher's confident labels). */
import type { SegImage } from '../incremental/samples';
import type { RuntimeOptions } from '../runtime/session';
import { labelWithTeacher, type ModelRef } from '../segmentation/predict';
import { balancedSubset, classShares, MIN_CLASS_SHARE } from './balance';

export interface BalancedImages {
  /** The chosen images, in pool order. */
  readonly images: SegImage[];
  /** How many of them show each class 0..numClasses-1 (teacher-confident on >= MIN_CLASS_SHARE). */
  readonly classImages: number[];
}

/** `count` of `pool` balanced over the classes `teacher` labels with at least `confidenceThreshold`
 * (default 0.7, the replay sets' threshold); all of them when count >= pool.length. */
export async function balancedImages(teacher: ModelRef, pool: readonly SegImage[], count: number, o: { confidenceThreshold?: number; runtime?: RuntimeOptions } = {}): Promise<BalancedImages> {
  const labelled = await labelWithTeacher({ ...teacher, runtime: o.runtime ?? teacher.runtime }, pool, { threshold: o.confidenceThreshold ?? 0.7 });
  const shares = labelled.map((s) => classShares(s.label, teacher.numClasses));
  const picked = count >= pool.length ? pool.map((_, i) => i) : balancedSubset(shares, count);
  return {
    images: picked.map((i) => pool[i]),
    classImages: Array.from({ length: teacher.numClasses }, (_, k) => picked.filter((i) => shares[i][k] >= MIN_CLASS_SHARE).length),
  };
}
