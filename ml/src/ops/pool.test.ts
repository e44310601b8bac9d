/** The max-pool gradient's two lowerings against a plain-loop reference, ties included: dY goes to
 * each window's first maximum (row by row), the element ONNX Runtime's MaxPool itself picks. Tiling
 * windows (the segmenter's 2x2 pools) must not ask MaxPool for its Indices output, which ONNX
 * Runtime's WebGPU provider does not have. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { grad } from '../autodiff/grad';
import * as F from '../graph/functional';
import { seededRandom } from '../init/initializers';
import { exportModel, InferenceRunner } from '../infer/inference';
import type { PoolOptions } from '../graph/functional';

/** dX of a max-pool by loops: each window's dY on the first of its largest elements (windows that
 * overlap add up). */
function reference(x: Float32Array, dy: Float32Array, [N, C, H, W]: number[], k: number, s: number, p: number): Float32Array {
  const [h, w] = [Math.floor((H + 2 * p - k) / s) + 1, Math.floor((W + 2 * p - k) / s) + 1];
  const dx = new Float32Array(x.length);
  for (let nc = 0; nc < N * C; nc++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        let best = -1;
        for (let a = 0; a < k; a++)
          for (let b = 0; b < k; b++) {
            const [r, c] = [i * s - p + a, j * s - p + b];
            if (r < 0 || c < 0 || r >= H || c >= W) continue;
            const at = nc * H * W + r * W + c;
            if (best < 0 || x[at] > x[best]) best = at;
          }
        dx[best] += dy[nc * h * w + i * w + j];
      }
  return dx;
}

function pooledGradient(shape: number[], pool: PoolOptions, dyShape: number[]) {
  return exportModel(
    {
      model: (_g, i) => ({ dx: grad(F.maxPool2d(i.x, pool), [i.x], i.dy)[0] }),
      inputs: { x: { shape }, dy: { shape: dyShape } },
      weights: new Map(),
    },
    { dynamicBatch: true },
  ).bytes;
}

async function run(bytes: Uint8Array, x: Float32Array, shape: number[], dy: Float32Array, dyShape: number[]): Promise<Float32Array> {
  const runner = await InferenceRunner.fromBytes(bytes);
  try {
    return (await runner.run({ x: { shape, data: x }, dy: { shape: dyShape, data: dy } })).dx.data as Float32Array;
  } finally {
    await runner.release();
  }
}

const maxPoolOutputs = (bytes: Uint8Array) =>
  (onnx.ModelProto.decode(bytes).graph?.node ?? []).filter((n) => n.opType === 'MaxPool').map((n) => n.output?.length ?? 0);

test('tiling 2x2 windows, hand-worked: all-equal and tied windows give their dY to the first maximum only', async () => {
  // Window 1 is all ones; window 2 has 3 twice (row 0 and row 1): row 0's wins.
  const x = Float32Array.from([1, 1, 0, 3, 1, 1, 3, 2]);
  const dy = Float32Array.from([2, 5]);
  const bytes = pooledGradient([1, 1, 2, 4], { kernel: 2 }, [1, 1, 1, 2]);
  assert.deepEqual([...(await run(bytes, x, [1, 1, 2, 4], dy, [1, 1, 1, 2]))], [2, 0, 0, 5, 0, 0, 0, 0]);
  assert.deepEqual(maxPoolOutputs(bytes), [1], 'no Indices output');
});

for (const [name, pool, k, s, p, shape] of [
  ['tiling k2 (ArgMax lowering)', { kernel: 2 }, 2, 2, 0, [2, 3, 6, 8]],
  ['tiling k3 (ArgMax lowering)', { kernel: 3 }, 3, 3, 0, [1, 2, 6, 9]],
  ['overlapping k3 s2 p1 (Indices lowering)', { kernel: 3, stride: 2, padding: 1 }, 3, 2, 1, [2, 2, 7, 7]],
  ['k2 on an odd size (Indices lowering)', { kernel: 2 }, 2, 2, 0, [1, 2, 5, 6]],
] as const) {
  test(`max-pool gradient, ${name}, equals the loop reference on inputs full of ties`, async () => {
    const rand = seededRandom(7);
    const dims: number[] = [...shape];
    const [h, w] = [Math.floor((dims[2] + 2 * p - k) / s) + 1, Math.floor((dims[3] + 2 * p - k) / s) + 1];
    const dyShape = [dims[0], dims[1], h, w];
    // Three values only: most windows hold their maximum more than once.
    const x = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => Math.floor(rand() * 3));
    const dy = Float32Array.from({ length: dyShape.reduce((a, b) => a * b, 1) }, () => rand() - 0.5);
    const bytes = pooledGradient(dims, pool, dyShape);
    const got = await run(bytes, x, dims, dy, dyShape);
    const want = reference(x, dy, dims, k, s, p);
    for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-6, `element ${i}: ${got[i]} vs ${want[i]}`);
    const tiling = s === k && p === 0 && dims[2] % k === 0 && dims[3] % k === 0;
    assert.deepEqual(maxPoolOutputs(bytes), [tiling ? 1 : 2]);
  });
}
