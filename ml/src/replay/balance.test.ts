import { test } from 'node:test';
import assert from 'node:assert/strict';
import { balancedSubset, classShares, MIN_CLASS_SHARE } from './balance';

// A hand-made pool: classes background, liver, stomach, small intestine; liver is in half the
// images, stomach and small intestine in two each. Percent of each image per class:
const percent = [
  [50, 30, 0, 0],
  [60, 20, 0, 0],
  [40, 40, 0, 0],
  [70, 0, 10, 0],
  [50, 10, 0, 5],
  [80, 0, 0, 0],
  [30, 0, 0, 20],
  [20, 0, 30, 0],
];
const pool = percent.map((row) => row.map((p) => p / 100));
const showing = (subset: number[]) => [0, 1, 2, 3].map((k) => subset.filter((i) => pool[i][k] >= MIN_CLASS_SHARE).length);

test('balanced subset: every class of the pool is in it, rare classes first, most pixels of the needed class first', () => {
  const subset = balancedSubset(pool, 4);
  // stomach (rarest, lower id) -> image 7 (30 px), small intestine -> 6, liver -> 2 (40 px), stomach again -> 3
  assert.deepEqual(subset, [2, 3, 6, 7]);
  assert.deepEqual(showing(subset), [4, 1, 2, 1]);
  // The first four of the pool would have had no small intestine at all and liver three times.
  assert.deepEqual(showing([0, 1, 2, 3]), [4, 3, 1, 0]);
  // With three images each foreground class is in exactly one.
  assert.deepEqual(showing(balancedSubset(pool, 3)), [3, 1, 1, 1]);
});

test('balanced subset: minShare decides which images show a class; the whole pool and nothing are allowed', () => {
  // Image 4's 5 % of small intestine no longer counts: small intestine is in one image (6) only.
  const subset = balancedSubset(pool, 3, { minShare: 0.1 });
  assert.deepEqual(subset, [2, 6, 7]);
  assert.deepEqual(balancedSubset(pool, 8), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(balancedSubset(pool, 0), []);
  // Images the teacher labelled nowhere confidently show no class: after the one that shows
  // something, the rest is filled in pool order.
  assert.deepEqual(balancedSubset([[0, 0], [0, 0], [0, 3]], 2), [0, 2]);
});

test('balanced subset and class shares: bad input is named', () => {
  assert.throws(() => balancedSubset(pool, 9), /9 images asked of a pool of 8/);
  assert.throws(() => balancedSubset(pool, 1.5), /count must be a non-negative integer/);
  assert.throws(() => balancedSubset([[1, 2], [1]], 1), /pool image 1 has amounts for 1 classes, image 0 for 2/);
  // Ignored pixels are part of the whole and of no class.
  assert.deepEqual(classShares(Uint8Array.from([0, 1, 1, 255, 2, 255, 1, 0]), 3), [0.25, 0.375, 0.125]);
  assert.throws(() => classShares(Uint8Array.from([0, 3]), 3), /label 3 at pixel 1 is outside 0..2/);
});
