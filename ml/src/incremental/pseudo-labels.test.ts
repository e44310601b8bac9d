import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../init/initializers';
import { PrototypeMemory, pseudoLabelBackground, sampleContrastivePixels, teacherLabels } from './pseudo-labels';

const ln = Math.log;
/** teacher logits [1, 3, 1, 4] from per-pixel rows */
const teacher = (rows: number[][]) => Float32Array.from([0, 1, 2].flatMap((c) => rows.map((r) => r[c])));

test('PLOP pseudo-labels: confident teacher classes fill background pixels, unconfident ones are ignored', () => {
  const t = teacher([
    [0, ln(8), 0], // p(1) = 0.8: confident class 1
    [0, 0, 0], // 1/3 each: unconfident
    [0, 0, ln(8)], // labelled pixel: untouched
    [ln(8), 0, 0], // confident background
  ]);
  const labels = Uint8Array.of(0, 0, 3, 0);
  assert.deepEqual([...pseudoLabelBackground(labels, t, 1, 3, 4, { threshold: 0.7 })], [1, 255, 3, 0]);
  assert.deepEqual([...pseudoLabelBackground(labels, t, 1, 3, 4, { threshold: 0.7, unconfident: 'background' })], [1, 0, 3, 0]);
  assert.deepEqual([...labels], [0, 0, 3, 0], 'input not modified');
  // entropy mode: H(0.8, 0.1, 0.1) / ln 3 = 0.5817; uniform = 1
  assert.deepEqual([...pseudoLabelBackground(labels, t, 1, 3, 4, { mode: 'entropy', threshold: 0.6 })], [1, 255, 3, 0]);
  assert.deepEqual([...pseudoLabelBackground(labels, t, 1, 3, 4, { mode: 'entropy', threshold: 0.5 })], [255, 255, 3, 255]);
  assert.deepEqual([...teacherLabels(t, 1, 3, 4, { threshold: 0.7 })], [1, 255, 2, 0]);
});

test('contrastive sampling is balanced over the classes present, across images, with padding', () => {
  const labels = new Uint8Array(200);
  labels.fill(0, 0, 150);
  labels.fill(1, 150, 197);
  labels.fill(2, 197, 199);
  labels[199] = 255;
  const s = sampleContrastivePixels(labels, 3, 12, seededRandom(1));
  const count = (c: number) => [...s.classes].filter((v, i) => v === c && s.mask[i] === 1).length;
  assert.deepEqual([count(0), count(1), count(2)], [5, 5, 2]); // class 2 has only 2 pixels; leftovers go to the others
  for (let i = 0; i < 12; i++) assert.equal(labels[Number(s.indices[i])], s.classes[i]);
  const few = sampleContrastivePixels(Uint8Array.of(1, 255), 3, 4, seededRandom(1));
  assert.deepEqual([...few.mask], [1, 0, 0, 0]);
});

test('prototype memory: first update sets the normalised mean, later ones move by the momentum', () => {
  const m = new PrototypeMemory(2, 2, 0.5);
  m.update(Float32Array.of(1, 0, 0, 1, 0, 1), Float32Array.of(0, 0, 1), Float32Array.of(1, 1, 0));
  assert.deepEqual([...m.valid], [1, 0]);
  assert.ok(Math.abs(m.prototypes[0] - Math.SQRT1_2) < 1e-6 && Math.abs(m.prototypes[1] - Math.SQRT1_2) < 1e-6);
  m.update(Float32Array.of(1, 0), Float32Array.of(0), Float32Array.of(1));
  const [x, y] = [0.5 * Math.SQRT1_2 + 0.5, 0.5 * Math.SQRT1_2];
  const n = Math.hypot(x, y);
  assert.ok(Math.abs(m.prototypes[0] - x / n) < 1e-6 && Math.abs(m.prototypes[1] - y / n) < 1e-6);
});
