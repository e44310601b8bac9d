import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NamedTensors } from '../weights/named-tensors';
import { fuseEndpoints } from './endpoint-fusion';
import { SegmenterWeightsError } from './network';

const tensors = (entries: Record<string, [number[], number[]]>): NamedTensors =>
  new Map(Object.entries(entries).map(([name, [shape, data]]) => [name, { shape, data: Float32Array.from(data) }]));

test('fuseEndpoints: each weight on the line between the step\'s start and end, by the start\'s weight (hand-computed)', () => {
  const start = tensors({ 'enc.w': [[2, 2], [1, 2, 3, 4]], 'head.bias': [[3], [0, -1, 2]] });
  const end = tensors({ 'enc.w': [[2, 2], [5, 2, -1, 0]], 'head.bias': [[3], [1, 1, 1]] });
  const fused = fuseEndpoints(start, end, 0.25);
  // 0.25 * start + 0.75 * end
  assert.deepEqual([...fused.get('enc.w')!.data], [4, 2, 0, 1]);
  assert.deepEqual([...fused.get('head.bias')!.data], [0.75, 0.5, 1.25]);
  assert.deepEqual(fused.get('enc.w')!.shape, [2, 2]);
  // weight 0 is the end itself, and the inputs are left as they were
  assert.deepEqual([...fuseEndpoints(start, end, 0).get('enc.w')!.data], [5, 2, -1, 0]);
  assert.deepEqual([...start.get('enc.w')!.data], [1, 2, 3, 4]);
  assert.deepEqual([...end.get('enc.w')!.data], [5, 2, -1, 0]);
});

test('fuseEndpoints refuses ends that are not one network, naming the tensor, and a weight outside [0, 1)', () => {
  const start = tensors({ a: [[2], [1, 2]], b: [[1], [0]] });
  assert.throws(() => fuseEndpoints(start, tensors({ a: [[2], [1, 2]] }), 0.1), (e: unknown) => e instanceof SegmenterWeightsError && e.tensor === 'b' && /end has no 'b'/.test(e.message));
  assert.throws(() => fuseEndpoints(start, tensors({ a: [[2], [1, 2]], b: [[1], [0]], c: [[1], [0]] }), 0.1), (e: unknown) => e instanceof SegmenterWeightsError && e.tensor === 'c');
  assert.throws(() => fuseEndpoints(start, tensors({ a: [[1, 2], [1, 2]], b: [[1], [0]] }), 0.1), /'a' is \[2\] at the step's start and \[1, 2\] at its end/);
  for (const w of [1, -0.1, Number.NaN]) assert.throws(() => fuseEndpoints(start, start, w), RangeError);
});
