import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../graph/functional';
import { Graph } from '../graph/graph';
import { graphFlops, matmulPeakGflops } from './flops';

test('FLOPs of convolutions and products, by hand', () => {
  const g = new Graph({ training: false });
  const x = g.input('x', [1, 2, 4, 4]);
  const w = g.input('w', [3, 2, 3, 3]);
  const y = F.conv2d(x, w, { padding: 1 }); // [1, 3, 4, 4]: 48 outputs x 18 multiply-adds x 2
  assert.equal(graphFlops([y]), 1728);
  const m = F.matmul(g.input('a', [2, 3]), g.input('b', [3, 4])); // 8 outputs x 3 x 2
  assert.equal(graphFlops([m]), 48);
  // shared sub-graphs count once; elementwise work counts nothing
  assert.equal(graphFlops([F.add(y, 1), y, m]), 1776);
});

test('the matmul peak is a positive, finite figure', async () => {
  const gflops = await matmulPeakGflops({}, 64, 2);
  assert.ok(Number.isFinite(gflops) && gflops > 0, String(gflops));
});
