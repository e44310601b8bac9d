import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitImages, imageList, mixSeed, quantise8, resizeImage, stackImages } from './images';

test('resize: block average for integer factors, bilinear otherwise; centre crop of wide frames', () => {
  // 1 channel 2x4 -> 1x2: block means
  assert.deepEqual([...resizeImage(Float32Array.of(0, 1, 2, 3, 4, 5, 6, 7), 1, 2, 4, 1, 2)], [2.5, 4.5]);
  // 1x2 -> 1x4 bilinear, half-pixel: 0, 0.25, 0.75, 1
  assert.deepEqual([...resizeImage(Float32Array.of(0, 1), 1, 1, 2, 1, 4)], [0, 0.25, 0.75, 1]);
  // a 2x4 frame whose centre 2x2 square is all 1: crop keeps only it
  const frame = Float32Array.of(0, 1, 1, 0, 0, 1, 1, 0);
  assert.deepEqual([...fitImages([frame], { channels: 1, height: 2, width: 4 }, 1)[0]], [1]);
  assert.deepEqual([...fitImages(frame, { channels: 1, height: 2, width: 4 }, 1, 'squash')[0]], [0.5]);
});

test('image sets: list and stack views, 8-bit quantisation, seeds per index', () => {
  const stacked = Float32Array.of(1, 2, 3, 4, 5, 6);
  const list = imageList(stacked, 3);
  assert.equal(list.length, 2);
  assert.deepEqual(stackImages(list), stacked);
  assert.throws(() => imageList(stacked, 4), /whole number/);
  assert.deepEqual([...quantise8(Float32Array.of(-1, 0.5, 2, 0.1))], [0, 128 / 255, 1, 26 / 255].map(Math.fround));
  assert.notEqual(mixSeed(1, 0), mixSeed(1, 1));
  assert.notEqual(mixSeed(1, 0), mixSeed(2, 0));
  assert.equal(mixSeed(5, 9), mixSeed(5, 9));
});
