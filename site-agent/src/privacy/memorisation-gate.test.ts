import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkGeneratedImages } from '@fedciss/ml';
import { memorisationGate } from './memorisation-gate';

const geo = { channels: 3, height: 16, width: 16 };
const px = geo.channels * geo.height * geo.width;

/** Deterministic pseudo-random images in [0, 1]. */
function images(n: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  return Array.from({ length: n }, () => Float32Array.from({ length: px }, next));
}

test('a generator that reproduces a training image is stopped, with the numbers the coordinator is told', () => {
  const training = images(6, 1);
  const samples = [...images(3, 2), Float32Array.from(training[4], (v) => v + 0.001)];
  const verdict = memorisationGate(checkGeneratedImages(samples, training, geo).privacy);
  assert.equal(verdict.pass, false);
  if (verdict.pass) return;
  assert.match(verdict.reason, /1 of 4 generated samples lie within the threshold/);
  assert.match(verdict.reason, /not sent/);
  assert.equal(verdict.metrics.privacyFlagged, 1);
  assert.ok(verdict.metrics.privacyMinDistance < verdict.metrics.privacyThreshold);
});

test('samples unlike every training image pass', () => {
  const verdict = memorisationGate(checkGeneratedImages(images(4, 3), images(6, 1), geo).privacy);
  assert.equal(verdict.pass, true);
  assert.equal(verdict.metrics.privacyFlagged, 0);
  assert.ok(verdict.metrics.privacyMinDistance > verdict.metrics.privacyThreshold);
});
