import { test } from 'node:test';
import assert from 'node:assert/strict';
import { accumulateConfusion, argmaxLabels, classCounts, emptyConfusion, forgetting, incrementalMiou, meanIoU, mergeConfusion, perClassIoU } from './confusion';

test('confusion counts, TP/FP/FN and IoU on a hand-computed case; 255 is not counted', () => {
  const truth = [0, 0, 1, 1, 2, 2, 255];
  const pred = [0, 1, 1, 1, 2, 0, 2];
  const cm = accumulateConfusion(emptyConfusion(3), pred, truth);
  assert.deepEqual(cm.matrix, [1, 1, 0, 0, 2, 0, 1, 0, 1]);
  assert.deepEqual(classCounts(cm), [
    { tp: 1, fp: 1, fn: 1 },
    { tp: 2, fp: 1, fn: 0 },
    { tp: 1, fp: 0, fn: 1 },
  ]);
  assert.deepEqual(perClassIoU(cm), [1 / 3, 2 / 3, 1 / 2]);
  assert.equal(meanIoU(cm), (1 / 3 + 2 / 3 + 1 / 2) / 3);
  const m = incrementalMiou(cm, 2);
  assert.equal(m.old, 0.5); // classes 0, 1
  assert.equal(m.new, 0.5); // class 2
  assert.equal(incrementalMiou(cm, 2, { includeBackground: false }).old, 2 / 3);
  assert.throws(() => accumulateConfusion(emptyConfusion(3), [3], [0]), /not a class/);
});

test('confusion counts add across batches and sites; an earlier step with fewer classes embeds', () => {
  const a = accumulateConfusion(emptyConfusion(3), [0, 1], [0, 1]);
  const b = accumulateConfusion(emptyConfusion(3), [2, 1], [1, 1]);
  const whole = accumulateConfusion(emptyConfusion(3), [0, 1, 2, 1], [0, 1, 1, 1]);
  assert.deepEqual(mergeConfusion(a, b), whole);
  const small = accumulateConfusion(emptyConfusion(2), [1], [0]);
  assert.deepEqual(mergeConfusion(small, a).matrix, [1, 1, 0, 0, 1, 0, 0, 0, 0]);
});

test('absent classes have no IoU and do not count in means; forgetting is best earlier IoU minus now', () => {
  const cm = accumulateConfusion(emptyConfusion(3), [0, 0], [0, 0]);
  assert.deepEqual(perClassIoU(cm), [1, null, null]);
  assert.equal(meanIoU(cm, [1, 2]), null);
  assert.deepEqual(forgetting([[0.9, 0.8, null], [0.95, 0.6, 0.7]], [0.9, 0.5, null]), [0.95 - 0.9, 0.8 - 0.5, null]);
  assert.deepEqual(forgetting([[0.9, null]], [0.9, 0.4]), [0, null]);
});

test('argmax over the class axis, ties to the lower class', () => {
  // N=1, C=3, 2 pixels: (0, 2, 1) -> 1; (1, 1, 0) -> 0
  assert.deepEqual([...argmaxLabels(Float32Array.of(0, 1, 2, 1, 1, 0), 1, 3, 2)], [1, 0]);
});
