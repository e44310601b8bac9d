/** The groupNorm primitive's values against a plain-loop reference, in both of its lowerings. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../graph/functional';
import { gaussian, seededRandom } from '../init/initializers';
import { Graph } from '../graph/graph';
import { exportModel, InferenceRunner } from '../infer/inference';

/** Group norm by loops in float64: mean and biased variance over each (sample, group). */
function reference(x: Float32Array, [N, C, ...rest]: number[], groups: number, eps: number): Float64Array {
  const per = (C / groups) * rest.reduce((a, b) => a * b, 1);
  const out = new Float64Array(x.length);
  for (let s = 0; s < N * groups; s++) {
    let mean = 0;
    for (let i = 0; i < per; i++) mean += x[s * per + i];
    mean /= per;
    let v = 0;
    for (let i = 0; i < per; i++) v += (x[s * per + i] - mean) ** 2;
    const r = 1 / Math.sqrt(v / per + eps);
    for (let i = 0; i < per; i++) out[s * per + i] = (x[s * per + i] - mean) * r;
  }
  return out;
}

for (const opset of [11, 21]) {
  test(`groupNorm at opset ${opset} (${opset >= 21 ? 'GroupNormalization' : 'InstanceNormalization'}) equals the loop reference`, async () => {
    const shape = [3, 6, 4, 5];
    const rand = seededRandom(3);
    const x = Float32Array.from({ length: 3 * 6 * 4 * 5 }, () => 2 + 3 * gaussian(rand)); // away from zero mean, unit variance
    const { bytes } = exportModel(
      { model: (_g, i) => ({ y: F.groupNorm(i.x, 3, 1e-5) }), inputs: { x: { shape } }, weights: new Map() },
      { opset, dynamicBatch: true },
    );
    const runner = await InferenceRunner.fromBytes(bytes);
    const y = (await runner.run({ x: { shape, data: x } })).y.data as Float32Array;
    await runner.release();
    const ref = reference(x, shape, 3, 1e-5);
    let d = 0;
    for (let i = 0; i < y.length; i++) d = Math.max(d, Math.abs(y[i] - ref[i]));
    assert.ok(d < 1e-5, `max |difference| ${d}`);
  });
}

test('groupNorm refuses channels that do not split into the groups', () => {
  const g = new Graph();
  assert.throws(() => F.groupNorm(g.input('x', [1, 6, 2, 2]), 4), /6 channels do not split into 4 groups/);
});
