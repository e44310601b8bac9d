import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../init/initializers';
import { augmentPair } from './augment';
import { resizeLabel } from '../images/resize';

test('augmentation keeps image and label aligned (flip, scale, crop) and pads labels with 255', () => {
  const S = 8;
  const image = new Float32Array(3 * S * S);
  const label = new Uint8Array(S * S);
  for (let p = 0; p < S * S; p++) if (p % S < 3) (label[p] = 1), (image[p] = 1); // left stripe, red = 1
  const rand = seededRandom(3);
  let sawFlip = false;
  let sawPad = false;
  for (let k = 0; k < 20; k++) {
    const a = augmentPair(image, label, 3, S, S, rand, { colorJitter: 0, scale: [0.7, 1.4] });
    for (let p = 0; p < S * S; p++) {
      if (a.label[p] === 255) (sawPad = true), assert.equal(a.image[p], 0);
      else assert.equal(a.image[p] > 0.5, a.label[p] === 1, `pixel ${p} of draw ${k}`);
    }
    if (a.label[S - 1] === 1) sawFlip = true;
  }
  assert.ok(sawFlip && sawPad);
  assert.deepEqual([...resizeLabel(Uint8Array.of(1, 2, 3, 4), 2, 2, 4, 4)], [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
});
