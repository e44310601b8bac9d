/** Table-driven gradient checks: every primitive's backward rule (and the compositions built on
 * them) against central differences of the forward graph in ORT. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../graph/functional';
import type { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { gradCheck, GradInput, GradCheckOptions } from '../testing/gradcheck';
import { batchNorm, groupNorm, layerNorm, timestepEmbedding, attention, conv2dLayer, linearLayer } from '../nn/layers';
import { infoNCE, klDivergence, l2Normalize, mse, softmaxCrossEntropy } from '../nn/losses';
import { OP_KINDS, OpKind } from './kinds';

type Gen = NonNullable<GradInput['gen']>;
const positive: Gen = (n, r) => Float32Array.from({ length: n }, () => 0.5 + 1.5 * r());
/** Values with |x| >= 0.2 (away from kinks at 0). */
const away: Gen = (n, r) => Float32Array.from({ length: n }, () => (r() < 0.5 ? -1 : 1) * (0.2 + r()));
/** Distinct values, at least 0.1 apart (no ties for max). */
const distinct: Gen = (n, r) => {
  const a = Float32Array.from({ length: n }, (_, i) => (i - n / 2) * 0.1);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
};
const ints = (max: number, extra: number[] = []): Gen => (n, r) => BigInt64Array.from({ length: n }, (_, i) => BigInt(i < extra.length ? extra[i] : Math.floor(r() * max)));

interface Case {
  readonly name: string;
  /** The primitives this case exercises (coverage is checked below). */
  readonly covers: readonly OpKind[];
  readonly build: (g: Graph, xs: Tensor[]) => Tensor;
  readonly inputs: readonly GradInput[];
  readonly options?: GradCheckOptions;
}

const s = (...shape: number[]): GradInput => ({ shape });
const sg = (gen: Gen, ...shape: number[]): GradInput => ({ shape, gen });
const kink: GradCheckOptions = { eps: 1e-3 };

const CASES: Case[] = [
  { name: 'add broadcast [2,3]+[3]', covers: ['add'], build: (_, [a, b]) => F.add(a, b), inputs: [s(2, 3), s(3)] },
  { name: 'add broadcast [2,1,4]+[3,1]', covers: ['add'], build: (_, [a, b]) => F.add(a, b), inputs: [s(2, 1, 4), s(3, 1)] },
  { name: 'sub broadcast [2,3]-[2,1]', covers: ['sub'], build: (_, [a, b]) => F.sub(a, b), inputs: [s(2, 3), s(2, 1)] },
  { name: 'mul broadcast [2,3,4]*[4]', covers: ['mul'], build: (_, [a, b]) => F.mul(a, b), inputs: [s(2, 3, 4), s(4)] },
  { name: 'mul by scalar', covers: ['mul'], build: (_, [a]) => F.mul(a, 3), inputs: [s(5)] },
  { name: 'div broadcast [2,3]/[1,3]', covers: ['div'], build: (_, [a, b]) => F.div(a, b), inputs: [s(2, 3), sg(positive, 1, 3)] },
  { name: 'pow broadcast', covers: ['pow'], build: (_, [a, b]) => F.pow(a, b), inputs: [sg(positive, 2, 3), sg(positive, 3)] },
  { name: 'where broadcast', covers: ['where', 'greater'], build: (_, [c, a, b]) => F.where(F.greater(c, 0), a, b), inputs: [sg(away, 2, 3), s(2, 3), s(3)] },
  { name: 'where with less', covers: ['where', 'less'], build: (_, [c, a]) => F.where(F.less(c, 0), a, 0), inputs: [sg(away, 4), s(4)] },
  { name: 'neg', covers: ['neg'], build: (_, [a]) => F.neg(a), inputs: [s(3, 2)] },
  { name: 'exp', covers: ['exp'], build: (_, [a]) => F.exp(a), inputs: [s(3, 2)] },
  { name: 'log', covers: ['log'], build: (_, [a]) => F.log(a), inputs: [sg(positive, 3, 2)] },
  { name: 'sqrt', covers: ['sqrt'], build: (_, [a]) => F.sqrt(a), inputs: [sg(positive, 3, 2)] },
  { name: 'abs', covers: ['abs', 'sign'], build: (_, [a]) => F.abs(a), inputs: [sg(away, 3, 2)] },
  { name: 'relu', covers: ['relu'], build: (_, [a]) => F.relu(a), inputs: [sg(away, 3, 4)] },
  { name: 'leakyRelu', covers: ['leakyRelu'], build: (_, [a]) => F.leakyRelu(a, 0.1), inputs: [sg(away, 3, 4)] },
  { name: 'sigmoid', covers: ['sigmoid'], build: (_, [a]) => F.sigmoid(a), inputs: [s(3, 4)] },
  { name: 'tanh', covers: ['tanh'], build: (_, [a]) => F.tanh(a), inputs: [s(3, 4)] },
  { name: 'erf', covers: ['erf'], build: (_, [a]) => F.erf(a), inputs: [s(3, 4)] },
  { name: 'sin, cos', covers: ['sin', 'cos'], build: (_, [a]) => F.mul(F.sin(a), F.cos(a)), inputs: [s(3, 4)] },
  { name: 'clip', covers: ['clip'], build: (_, [a]) => F.clip(a, -0.5, 0.5), inputs: [sg((n, r) => Float32Array.from({ length: n }, (_, i) => [-1, -0.2, 0.1, 0.3, 0.9][i % 5] + 0.05 * r()), 10)] },
  { name: 'cast float->float', covers: ['cast'], build: (g, [a]) => g.node('cast', [a], { to: 'float32' }), inputs: [s(4)] },
  { name: 'silu', covers: [], build: (_, [a]) => F.silu(a), inputs: [s(3, 4)] },
  { name: 'gelu', covers: [], build: (_, [a]) => F.gelu(a), inputs: [s(3, 4)] },
  { name: 'reshape', covers: ['reshape'], build: (_, [a]) => F.reshape(a, [4, -1]), inputs: [s(2, 3, 2)] },
  { name: 'flatten', covers: ['reshape'], build: (_, [a]) => F.flatten(a), inputs: [s(2, 3, 2)] },
  { name: 'transpose', covers: ['transpose'], build: (_, [a]) => F.transpose(a, [2, 0, 1]), inputs: [s(2, 3, 4)] },
  { name: 'expand', covers: ['expand'], build: (_, [a]) => F.expand(a, [2, 3, 4]), inputs: [s(3, 1)] },
  { name: 'slice step 1, negative index', covers: ['slice', 'pad'], build: (_, [a]) => F.slice(a, [1, 2], [1, -3], [3, 4]), inputs: [s(2, 4, 5)] },
  { name: 'slice step -1 (flip)', covers: ['slice'], build: (_, [a]) => F.slice(a, [1], [-2], [0], [-1]), inputs: [s(2, 5)] },
  { name: 'concat', covers: ['concat'], build: (_, [a, b, c]) => F.mul(F.concat([a, b, c], 1), F.concat([a, b, c], 1)), inputs: [s(2, 1, 3), s(2, 2, 3), s(2, 3, 3)] },
  { name: 'split', covers: ['slice'], build: (_, [a]) => { const [p, q] = F.split(a, [1, 3], 1); return F.mul(F.reduceSum(p, [1], true), F.reduceSum(q, [1], true)); }, inputs: [s(2, 4)] },
  { name: 'pad', covers: ['pad'], build: (_, [a]) => F.pad(a, [0, 1, 2, 1, 0, 3]), inputs: [s(2, 3, 2)] },
  { name: 'gather axis 0 with repeats', covers: ['gather'], build: (_, [a, i]) => F.gather(a, i, 0), inputs: [s(5, 3), sg(ints(5, [2, 2]), 4)] },
  { name: 'gather axis 1, 2-D indices', covers: ['gather'], build: (_, [a, i]) => F.gather(a, i, 1), inputs: [s(2, 5, 3), sg(ints(5, [4, 4]), 2, 3)] },
  { name: 'reduceSum one axis', covers: ['reduceSum'], build: (_, [a]) => F.reduceSum(a, [1]), inputs: [s(2, 3, 4)] },
  { name: 'reduceSum all, keepDims', covers: ['reduceSum'], build: (_, [a]) => F.reduceSum(a, undefined, true), inputs: [s(2, 3)] },
  { name: 'reduceMean', covers: ['reduceSum'], build: (_, [a]) => F.reduceMean(a, [0, 2], true), inputs: [s(2, 3, 4)] },
  { name: 'reduceMax', covers: ['reduceMax'], build: (_, [a]) => F.reduceMax(a, [1]), inputs: [sg(distinct, 2, 5, 3)], options: kink },
  { name: 'softmax', covers: ['softmax'], build: (_, [a]) => F.softmax(a, 1), inputs: [s(2, 4, 3)] },
  { name: 'logSoftmax', covers: ['logSoftmax'], build: (_, [a]) => F.logSoftmax(a, -1), inputs: [s(3, 5)] },
  { name: 'matmul 3-D x 2-D', covers: ['matmul'], build: (_, [a, b]) => F.matmul(a, b), inputs: [s(2, 3, 4), s(4, 5)] },
  { name: 'matmul broadcast batch', covers: ['matmul'], build: (_, [a, b]) => F.matmul(a, b), inputs: [s(2, 1, 3, 4), s(3, 4, 2)] },
  ...[false, true].flatMap((transA) =>
    [false, true].map((transB): Case => ({
      name: `gemm transA=${transA} transB=${transB}`,
      covers: ['gemm'],
      build: (_, [a, b]) => F.gemm(a, b, { transA, transB }),
      inputs: [transA ? s(4, 3) : s(3, 4), transB ? s(5, 4) : s(4, 5)],
    })),
  ),
  { name: 'conv pad 1', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w, { padding: 1 }), inputs: [s(2, 3, 5, 5), s(4, 3, 3, 3)] },
  { name: 'conv stride 2 (ConvTranspose input grad)', covers: ['conv', 'convTranspose'], build: (_, [x, w]) => F.conv2d(x, w, { padding: 1, stride: 2 }), inputs: [s(2, 3, 6, 6), s(4, 3, 3, 3)] },
  { name: 'conv stride 2, odd size, no pad', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w, { stride: 2 }), inputs: [s(1, 2, 7, 6), s(3, 2, 3, 2)] },
  { name: 'conv dilation 2', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w, { padding: 2, dilation: 2 }), inputs: [s(1, 2, 6, 6), s(3, 2, 3, 3)] },
  { name: 'conv groups 2', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w, { padding: 1, groups: 2 }), inputs: [s(2, 4, 5, 5), s(6, 2, 3, 3)] },
  { name: 'conv depthwise', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w, { padding: 1, groups: 3 }), inputs: [s(2, 3, 5, 5), s(3, 1, 3, 3)] },
  { name: "conv 'same', even kernel", covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w, { padding: 'same' }), inputs: [s(1, 2, 5, 5), s(2, 2, 2, 2)] },
  // Stride 1, one group: the weight gradient's flat-shift path, sliding whichever operand has fewer channels.
  { name: 'conv pad 1, fewer output channels', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w, { padding: 1 }), inputs: [s(2, 4, 5, 6), s(2, 4, 3, 3)] },
  { name: 'conv dilation 2, fewer output channels', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w, { padding: 2, dilation: 2 }), inputs: [s(1, 3, 6, 5), s(2, 3, 3, 3)] },
  { name: 'conv no padding, 2x3 kernel', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w), inputs: [s(2, 2, 5, 6), s(3, 2, 2, 3)] },
  { name: 'convTranspose k3 s1 p1', covers: ['convTranspose'], build: (_, [x, w]) => F.convTranspose2d(x, w, { padding: 1 }), inputs: [s(2, 3, 4, 4), s(3, 2, 3, 3)] },
  { name: 'convTranspose k3 s1, more output channels', covers: ['convTranspose'], build: (_, [x, w]) => F.convTranspose2d(x, w), inputs: [s(2, 2, 3, 4), s(2, 3, 3, 3)] },
  { name: 'conv 1x1', covers: ['conv'], build: (_, [x, w]) => F.conv2d(x, w), inputs: [s(2, 3, 4, 4), s(5, 3, 1, 1)] },
  { name: 'convTranspose k2 s2', covers: ['convTranspose'], build: (_, [x, w]) => F.convTranspose2d(x, w, { stride: 2 }), inputs: [s(2, 3, 3, 3), s(3, 2, 2, 2)] },
  { name: 'convTranspose k3 s2 p1 op1', covers: ['convTranspose'], build: (_, [x, w]) => F.convTranspose2d(x, w, { stride: 2, padding: 1, outputPadding: 1 }), inputs: [s(1, 2, 3, 4), s(2, 3, 3, 3)] },
  { name: 'maxPool k2', covers: ['maxPool', 'maxPoolGrad'], build: (_, [x]) => F.maxPool2d(x, { kernel: 2 }), inputs: [sg(distinct, 2, 3, 4, 4)], options: kink },
  { name: 'maxPool k3 s2 p1 (overlapping)', covers: ['maxPool', 'maxPoolGrad'], build: (_, [x]) => F.maxPool2d(x, { kernel: 3, stride: 2, padding: 1 }), inputs: [sg(distinct, 2, 2, 5, 5)], options: kink },
  { name: 'avgPool k2', covers: ['conv'], build: (_, [x]) => F.avgPool2d(x, { kernel: 2 }), inputs: [s(2, 3, 4, 6)] },
  { name: 'globalAvgPool', covers: ['reduceSum'], build: (_, [x]) => F.globalAvgPool(x), inputs: [s(2, 3, 4, 4)] },
  { name: 'resize nearest x2', covers: ['resize'], build: (_, [x]) => F.upsample(x, 2, 'nearest'), inputs: [s(2, 2, 3, 4)] },
  { name: 'resize bilinear x2', covers: ['resize'], build: (_, [x]) => F.upsample(x, 2, 'linear'), inputs: [s(2, 2, 3, 4)] },
  { name: 'resize bilinear 5x4 -> 7x9', covers: ['resize'], build: (_, [x]) => F.resize(x, [7, 9], 'linear'), inputs: [s(1, 2, 5, 4)] },
  { name: 'resize nearest down 8 -> 4', covers: ['resize'], build: (_, [x]) => F.resize(x, [4, 4], 'nearest'), inputs: [s(1, 2, 8, 8)] },
  { name: 'batchNorm (training)', covers: [], build: (g, [x]) => batchNorm(g, 'bn', x), inputs: [s(3, 2, 3, 3)] },
  { name: 'groupNorm primitive, 2 groups', covers: ['groupNorm'], build: (_, [x]) => F.groupNorm(x, 2), inputs: [s(2, 4, 3, 3)] },
  { name: 'groupNorm primitive, rank 3, one channel per group', covers: ['groupNorm'], build: (_, [x]) => F.groupNorm(x, 3, 1e-3), inputs: [s(2, 3, 5)] },
  { name: 'groupNorm primitive, offset and scaled input (mean 5, sd 3)', covers: ['groupNorm'], build: (_, [x]) => F.groupNorm(x, 2), inputs: [sg((n, r) => Float32Array.from({ length: n }, () => 5 + 3 * (r() - 0.5) * 3.4), 2, 4, 3, 3)] },
  { name: 'groupNorm primitive, a near-constant group (eps dominates)', covers: ['groupNorm'], build: (_, [x]) => F.groupNorm(x, 2, 1e-2), inputs: [sg((n, r) => Float32Array.from({ length: n }, (_, i) => (i < n / 4 ? 0.5 + 0.01 * r() : r())), 2, 2, 3, 3)] },
  { name: 'groupNorm layer (affine)', covers: ['groupNorm'], build: (g, [x]) => groupNorm(g, 'gn', x, 2), inputs: [s(2, 4, 3, 3)] },
  { name: 'layerNorm', covers: [], build: (g, [x]) => layerNorm(g, 'ln', x), inputs: [s(2, 3, 5)] },
  { name: 'conv + linear layers', covers: [], build: (g, [x]) => linearLayer(g, 'fc', F.flatten(conv2dLayer(g, 'c', x, 2)), 3), inputs: [s(2, 2, 3, 3)] },
  { name: 'timestep embedding', covers: ['sin', 'cos', 'concat'], build: (_, [t]) => timestepEmbedding(t, 8), inputs: [s(3)] },
  { name: 'attention', covers: ['matmul', 'softmax'], build: (_, [q, k, v]) => attention(q, k, v), inputs: [s(2, 4, 3), s(2, 4, 3), s(2, 4, 3)] },
  {
    name: 'softmax CE, ignore index, class weights',
    covers: [],
    build: (_, [x, y]) => softmaxCrossEntropy(x, y, { ignoreIndex: 255, classWeights: [1, 2, 0.5] }),
    inputs: [s(2, 3, 2, 3), sg(ints(3, [255, 1, 255]), 2, 2, 3)],
  },
  { name: 'KL divergence, T=2', covers: [], build: (g, [a]) => klDivergence(a, g.constant(Array.from({ length: 24 }, (_, i) => Math.sin(i)), [2, 4, 3]), { temperature: 2 }), inputs: [s(2, 4, 3)] },
  { name: 'MSE', covers: [], build: (_, [a, b]) => mse(a, b), inputs: [s(2, 3), s(2, 3)] },
  { name: 'L2 normalize', covers: [], build: (_, [a]) => l2Normalize(a, 1), inputs: [s(3, 4)] },
  { name: 'InfoNCE', covers: ['gemm'], build: (_, [q, k]) => infoNCE(l2Normalize(q), l2Normalize(k), { temperature: 0.5 }), inputs: [s(4, 3), s(4, 3)] },
];

for (const c of CASES) {
  test(`gradient: ${c.name}`, async () => {
    const r = await gradCheck(c.build, c.inputs, c.options);
    assert.ok(r.ok, `analytic ${r.analytic} vs numeric ${r.numeric}`);
  });
}

test('every differentiable primitive has a gradient case', () => {
  const notDifferentiable = new Set<OpKind>(['input', 'param', 'buffer', 'constant', 'equal', 'detach']);
  const covered = new Set(CASES.flatMap((c) => c.covers));
  const missing = OP_KINDS.filter((k) => !notDifferentiable.has(k) && !covered.has(k));
  assert.deepEqual(missing, []);
});
