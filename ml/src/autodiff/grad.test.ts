import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../graph/functional';
import { Graph, ShapeError } from '../graph/graph';
import { CompiledGraph } from '../runtime/compiled';
import { gradCheck } from '../testing/gradcheck';
import { tinySegNet } from '../testing/tiny-seg';
import { softmaxCrossEntropy } from '../nn/losses';
import { grad, topoSort } from './grad';

test('shape errors name the operation and the shapes', () => {
  const g = new Graph();
  const a = g.input('a', [2, 3]);
  const b = g.input('b', [4, 3]);
  assert.throws(() => F.add(a, b), (e: Error) => e instanceof ShapeError && /^add\(\[2, 3\]:float32, \[4, 3\]:float32\)/.test(e.message) && /broadcast/.test(e.message));
  assert.throws(() => F.matmul(a, b), /matmul\(\[2, 3\]:float32, \[4, 3\]:float32\): inner dimensions 3 and 4 differ/);
  const x = g.input('x', [1, 3, 8, 8]);
  assert.throws(() => F.conv2d(x, g.param('w', [4, 2, 3, 3])), /conv\(\[1, 3, 8, 8\]:float32, \[4, 2, 3, 3\]:float32\): input has 3 channels/);
  assert.throws(() => F.reshape(a, [5]), /reshape\(\[2, 3\]:float32\): cannot reshape to \[5\]/);
  assert.throws(() => g.param('w', [1]), /param 'w': registered as \[4, 2, 3, 3\], asked again as \[1\]/);
});

test('topological sort is iterative (a 20000-node chain does not overflow)', () => {
  const g = new Graph();
  let t = g.input('x', [1]);
  for (let i = 0; i < 20000; i++) t = F.add(t, 1);
  assert.equal(topoSort([t]).length, 1 + 2 * 20000); // the input, 20000 adds and their scalar constants
  const [dx] = grad(t, [g.inputs.get('x')!]);
  assert.deepEqual(dx.shape, [1]);
});

test('gradients visit only the path between the parameters and the loss', () => {
  const g = new Graph();
  const x = g.input('x', [3]);
  const w = g.param('w', [3]);
  const unrelated = F.exp(F.mul(x, 5)); // not on the path from w
  const loss = F.reduceSum(F.add(F.mul(x, w), unrelated));
  const before = topoSort([loss]).length;
  const [gw] = grad(loss, [w]);
  // dL/dw = x: the graph of gw must not contain the exp branch's backward (no 'exp' after the forward one)
  const nodes = topoSort([gw]);
  assert.ok(nodes.filter((n) => n.op === 'exp').length === 0);
  assert.ok(nodes.length < before + 6);
});

test('detach stops the gradient; unreached parameters get zeros', async () => {
  const g = new Graph();
  const x = g.input('x', [2]);
  const y = F.add(F.mul(F.detach(x), x), 0); // d/dx = detach(x) = x, not 2x
  const z = g.input('z', [2]);
  const [gx, gz] = grad(F.reduceSum(y), [x, z]);
  const c = await CompiledGraph.compile({ gx, gz });
  const out = await c.run({ x: { shape: [2], data: Float32Array.of(3, -2) }, z: { shape: [2], data: Float32Array.of(1, 1) } });
  assert.deepEqual(Array.from(out.gx.data as Float32Array), [3, -2]);
  assert.deepEqual(Array.from(out.gz.data as Float32Array), [0, 0]);
  await c.release();
});

test('a value used twice gets the sum of both gradients', async () => {
  const r = await gradCheck((_, [a]) => F.mul(F.add(a, F.exp(a)), a), [{ shape: [4] }]);
  assert.ok(r.ok, `${r.analytic} vs ${r.numeric}`);
});

test('end to end: a small segmentation network (conv, BN, pool, upsample, concat, CE) matches finite differences', async () => {
  for (const norm of ['batch', 'group'] as const) {
    const r = await gradCheck(
      (g, [x, y]) => softmaxCrossEntropy(tinySegNet(g, x, 3, norm), y, { ignoreIndex: 255 }),
      [
        { shape: [2, 1, 6, 6] },
        { shape: [2, 6, 6], gen: (n, rand) => BigInt64Array.from({ length: n }, () => BigInt(rand() < 0.1 ? 255 : Math.floor(rand() * 3))) },
      ],
      { eps: 3e-4, rtol: 2e-2, seed: 1 },
    );
    assert.ok(r.ok, `${norm}: analytic ${r.analytic} vs numeric ${r.numeric}`);
  }
});
