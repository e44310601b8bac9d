import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors, SafetensorsError } from './safetensors';
import type { NamedTensors } from './named-tensors';

test('safetensors round-trips names, shapes, values and metadata', () => {
  const t: NamedTensors = new Map([
    ['b.bias', { shape: [3], data: new Float32Array([1, -2, 3.5]) }],
    ['a.weight', { shape: [2, 2], data: new Float32Array([0.25, 0.5, 0.75, 1]) }],
  ]);
  const blob = encodeSafetensors(t, { step: '2' });
  // Hand-checked layout: 8-byte length, then JSON; tensors sorted by name, so a.weight comes first.
  const len = Number(blob.readBigUInt64LE(0));
  const header = JSON.parse(blob.subarray(8, 8 + len).toString());
  assert.deepEqual(header['a.weight'], { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] });
  assert.deepEqual(header['b.bias'], { dtype: 'F32', shape: [3], data_offsets: [16, 28] });
  assert.equal((8 + len) % 8, 0);
  assert.equal(blob.readFloatLE(8 + len + 16 + 4), -2);
  const back = decodeSafetensors(blob);
  assert.deepEqual(back.metadata, { step: '2' });
  assert.deepEqual([...back.tensors.get('b.bias')!.data], [1, -2, 3.5]);
  assert.deepEqual(back.tensors.get('a.weight')!.shape, [2, 2]);
});

test('safetensors encoding does not depend on insertion order', () => {
  const x = { shape: [1], data: new Float32Array([1]) };
  const y = { shape: [1], data: new Float32Array([2]) };
  assert.deepEqual(encodeSafetensors(new Map([['x', x], ['y', y]])), encodeSafetensors(new Map([['y', y], ['x', x]])));
});

test('safetensors rejects malformed blobs with a message naming the problem', () => {
  assert.throws(() => decodeSafetensors(new Uint8Array(3)), /too short/);
  const bad = Buffer.alloc(16);
  bad.writeBigUInt64LE(1000n, 0);
  assert.throws(() => decodeSafetensors(bad), /does not fit/);
  const blob = encodeSafetensors(new Map([['w', { shape: [2], data: new Float32Array([1, 2]) }]]));
  assert.throws(() => decodeSafetensors(blob.subarray(0, blob.length - 4)), (e: unknown) => e instanceof SafetensorsError && /'w'/.test((e as Error).message));
  assert.throws(() => encodeSafetensors(new Map([['w', { shape: [3], data: new Float32Array(2) }]])), /'w'/);
});
