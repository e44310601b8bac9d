/** A convolution's weight gradient, every element, against a plain-loop reference: the dot-product
 * check (ops.grad.test.ts) sees one random projection of all gradients at once, where a tap read
 * one pixel off can hide. Covers both of tapCorrelation's paths (stride 1 with one group: flat
 * shifts sliding either operand; strides and groups: strided slices). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grad } from '../autodiff/grad';
import * as F from '../graph/functional';
import { Graph } from '../graph/graph';
import { gaussian, seededRandom } from '../init/initializers';
import { CompiledGraph } from '../runtime/compiled';
import { product } from './util';

interface Case {
  readonly name: string;
  readonly x: readonly [number, number, number, number];
  readonly w: readonly [number, number, number, number];
  readonly stride?: number;
  readonly padding?: readonly [number, number, number, number];
  readonly dilation?: number;
  readonly groups?: number;
}

/** dW[o, c, i, j] = sum over n, h, w of dY[n, o, h, w] * x[n, g*cg + c, h*s + i*d - top, w*s + j*d - left]
 * (zero outside x), in float64. */
function reference(x: Float32Array, dy: Float32Array, c: Case, out: readonly number[]): Float64Array {
  const [N, C, H, W] = c.x;
  const [O, Cg, KH, KW] = c.w;
  const [s, d, G] = [c.stride ?? 1, c.dilation ?? 1, c.groups ?? 1];
  const [top, left] = c.padding ?? [0, 0, 0, 0];
  const [Ho, Wo] = out;
  const dw = new Float64Array(O * Cg * KH * KW);
  for (let o = 0; o < O; o++) {
    const group = Math.floor(o / (O / G));
    for (let ci = 0; ci < Cg; ci++) {
      for (let i = 0; i < KH; i++) {
        for (let j = 0; j < KW; j++) {
          let sum = 0;
          for (let n = 0; n < N; n++) {
            for (let h = 0; h < Ho; h++) {
              const r = h * s + i * d - top;
              if (r < 0 || r >= H) continue;
              for (let w = 0; w < Wo; w++) {
                const col = w * s + j * d - left;
                if (col < 0 || col >= W) continue;
                sum += dy[((n * O + o) * Ho + h) * Wo + w] * x[((n * C + group * Cg + ci) * H + r) * W + col];
              }
            }
          }
          dw[((o * Cg + ci) * KH + i) * KW + j] = sum;
        }
      }
    }
  }
  return dw;
}

const CASES: readonly Case[] = [
  { name: 'pad 1, more output channels (slides x)', x: [2, 3, 7, 9], w: [5, 3, 3, 3], padding: [1, 1, 1, 1] },
  { name: 'pad 1, fewer output channels (slides dY)', x: [2, 5, 7, 9], w: [3, 5, 3, 3], padding: [1, 1, 1, 1] },
  { name: 'asymmetric padding, even kernel', x: [1, 2, 6, 5], w: [2, 2, 2, 4], padding: [0, 1, 1, 2] },
  { name: 'dilation 2', x: [2, 4, 8, 7], w: [2, 4, 3, 3], padding: [2, 2, 2, 2], dilation: 2 },
  { name: 'no padding', x: [2, 3, 6, 8], w: [4, 3, 3, 2] },
  { name: '1x1', x: [2, 4, 5, 5], w: [3, 4, 1, 1] },
  { name: 'stride 2 (sliced path)', x: [2, 3, 9, 8], w: [4, 3, 3, 3], stride: 2, padding: [1, 1, 1, 1] },
  { name: 'two groups (sliced path)', x: [2, 4, 6, 6], w: [6, 2, 3, 3], padding: [1, 1, 1, 1], groups: 2 },
];

for (const c of CASES) {
  test(`conv weight gradient against loops: ${c.name}`, async () => {
    const rand = seededRandom(11);
    const normal = (n: number) => Float32Array.from({ length: n }, () => gaussian(rand));
    const g = new Graph({ training: true });
    const x = g.input('x', c.x);
    const w = g.input('w', c.w);
    const y = F.conv2d(x, w, { stride: c.stride ?? 1, padding: c.padding ?? 0, dilation: c.dilation ?? 1, groups: c.groups ?? 1 });
    const dy = g.input('dy', y.shape);
    const [dw] = grad(y, [w], dy);
    const compiled = await CompiledGraph.compile({ dw });
    const values = { x: normal(product(c.x)), w: normal(product(c.w)), dy: normal(y.size) };
    const out = await compiled.run({
      x: { shape: c.x, data: values.x },
      w: { shape: c.w, data: values.w },
      dy: { shape: y.shape, data: values.dy },
    });
    await compiled.release();
    const got = out.dw.data as Float32Array;
    const want = reference(values.x, values.dy, c, y.shape.slice(2));
    assert.deepEqual(out.dw.shape, [...c.w]);
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) <= 1e-4 * (1 + Math.abs(want[i])), `element ${i}: ${got[i]} against ${want[i]}`);
    }
  });
}
