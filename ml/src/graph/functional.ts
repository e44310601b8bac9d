/** The functional API: one builder per primitive (checked by its shape rule) plus the small
 * compositions (silu, gelu, mean, flatten, split, pooling by averaging, ...). */
import type { ConvAttrs } from '../ops/conv';
import type { ResizeMode } from '../ops/resize';
import { normAxis } from '../ops/util';
import type { DType, Tensor, TensorLike } from './tensor';

function pair(a: TensorLike, b: TensorLike): [Tensor, Tensor] {
  if (typeof a === 'number' && typeof b === 'number') throw new Error('at least one operand must be a tensor');
  const like = (typeof a === 'number' ? b : a) as Tensor;
  const lift = (v: TensorLike) => (typeof v === 'number' ? like.graph.scalar(v, like.dtype) : v);
  return [lift(a), lift(b)];
}

const bin = (op: 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'equal' | 'less' | 'greater') => (a: TensorLike, b: TensorLike) => {
  const [x, y] = pair(a, b);
  return x.graph.node(op, [x, y]);
};
export const add = bin('add');
export const sub = bin('sub');
export const mul = bin('mul');
export const div = bin('div');
export const pow = bin('pow');
export const equal = bin('equal');
export const less = bin('less');
export const greater = bin('greater');

export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  const [x, y] = pair(a, b);
  return cond.graph.node('where', [cond, x, y]);
}

const un = (op: 'neg' | 'exp' | 'log' | 'sqrt' | 'abs' | 'sign' | 'relu' | 'sigmoid' | 'tanh' | 'erf' | 'sin' | 'cos' | 'detach') => (x: Tensor) =>
  x.graph.node(op, [x]);
export const neg = un('neg');
export const exp = un('exp');
export const log = un('log');
export const sqrt = un('sqrt');
export const abs = un('abs');
export const sign = un('sign');
export const relu = un('relu');
export const sigmoid = un('sigmoid');
export const tanh = un('tanh');
export const erf = un('erf');
export const sin = un('sin');
export const cos = un('cos');
/** Stop-gradient: the value passes, no gradient flows back. */
export const detach = un('detach');

export const leakyRelu = (x: Tensor, alpha = 0.01) => x.graph.node('leakyRelu', [x], { alpha });
export const clip = (x: Tensor, min: number, max: number) => x.graph.node('clip', [x], { min, max });
export const cast = (x: Tensor, to: DType) => (x.dtype === to ? x : x.graph.node('cast', [x], { to }));
export const silu = (x: Tensor) => mul(x, sigmoid(x));
export const gelu = (x: Tensor) => mul(mul(x, 0.5), add(erf(mul(x, Math.SQRT1_2)), 1));
export const square = (x: Tensor) => mul(x, x);

// ---- layout -------------------------------------------------------------------------------

/** Reshape; -1 infers one dimension, 0 copies the input's. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const s = shape.map((d, i) => (d === 0 ? x.shape[i] : d));
  const known = s.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const resolved = s.map((d) => (d === -1 ? x.size / known : d));
  if (resolved.length === x.rank && resolved.every((d, i) => d === x.shape[i])) return x;
  return x.graph.node('reshape', [x], { shape: resolved });
}

export function transpose(x: Tensor, perm?: readonly number[]): Tensor {
  const p = perm ? perm.map((a) => normAxis(a, x.rank)) : x.shape.map((_, i) => x.rank - 1 - i);
  if (p.every((a, i) => a === i)) return x;
  return x.graph.node('transpose', [x], { perm: p });
}

/** Swaps the last two axes. */
export function swapLast(x: Tensor): Tensor {
  const p = x.shape.map((_, i) => i);
  [p[x.rank - 2], p[x.rank - 1]] = [p[x.rank - 1], p[x.rank - 2]];
  return transpose(x, p);
}

export function flatten(x: Tensor, axis = 1): Tensor {
  const a = axis < 0 ? axis + x.rank : axis;
  return reshape(x, [x.shape.slice(0, a).reduce((m, d) => m * d, 1), -1]);
}

export function expand(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return x.graph.node('expand', [x], { shape: [...shape] });
}

/** Python-style slicing on the given axes (negative indices count from the end, out-of-range
 * bounds are clamped). */
export function slice(x: Tensor, axes: readonly number[], starts: readonly number[], ends: readonly number[], steps?: readonly number[]): Tensor {
  const ax = axes.map((a) => normAxis(a, x.rank));
  const st = steps ?? ax.map(() => 1);
  const s: number[] = [];
  const e: number[] = [];
  ax.forEach((a, i) => {
    const dim = x.shape[a];
    const norm = (v: number) => (v < 0 ? v + dim : v);
    if (st[i] > 0) {
      s.push(Math.min(Math.max(norm(starts[i]), 0), dim));
      e.push(Math.min(Math.max(norm(ends[i]), 0), dim));
    } else {
      s.push(Math.min(Math.max(norm(starts[i]), -1), dim - 1));
      e.push(ends[i] <= -dim - 1 ? -1 : Math.min(Math.max(norm(ends[i]), -1), dim - 1));
    }
  });
  if (ax.every((a, i) => st[i] === 1 && s[i] === 0 && e[i] === x.shape[a])) return x;
  return x.graph.node('slice', [x], { axes: ax, starts: s, ends: e, steps: [...st] });
}

/** Reverses the given axes. */
export function flip(x: Tensor, axes: readonly number[]): Tensor {
  return slice(x, axes, axes.map(() => -1), axes.map((a) => -x.shape[normAxis(a, x.rank)] - 1), axes.map(() => -1));
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 1) return xs[0];
  return xs[0].graph.node('concat', xs, { axis });
}

/** Splits into parts of the given sizes (or into `parts` equal parts) along an axis. */
export function split(x: Tensor, sizes: number | readonly number[], axis: number): Tensor[] {
  const a = normAxis(axis, x.rank);
  const list = typeof sizes === 'number' ? new Array<number>(sizes).fill(x.shape[a] / sizes) : sizes;
  if (list.reduce((m, d) => m + d, 0) !== x.shape[a] || list.some((d) => !Number.isInteger(d))) {
    throw new Error(`split: sizes [${list.join(', ')}] do not fit dimension ${x.shape[a]} of [${x.shape.join(', ')}]`);
  }
  let at = 0;
  return list.map((d) => slice(x, [a], [at], [(at += d)]));
}

/** Zero padding, ONNX order: [begin_0, ..., begin_n, end_0, ..., end_n]. */
export function pad(x: Tensor, pads: readonly number[]): Tensor {
  if (pads.every((p) => p === 0)) return x;
  return x.graph.node('pad', [x], { pads: [...pads] });
}

export function gather(data: Tensor, indices: Tensor, axis = 0): Tensor {
  return data.graph.node('gather', [data, indices], { axis });
}

// ---- reductions ---------------------------------------------------------------------------

function axesOf(x: Tensor, axes?: readonly number[]): number[] {
  return [...new Set((axes ?? x.shape.map((_, i) => i)).map((a) => normAxis(a, x.rank)))].sort((p, q) => p - q);
}

export function reduceSum(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  const ax = axesOf(x, axes);
  if (ax.length === 0) return x;
  return x.graph.node('reduceSum', [x], { axes: ax, keepDims });
}

export function reduceMean(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  const ax = axesOf(x, axes);
  const count = ax.reduce((m, a) => m * x.shape[a], 1);
  return mul(reduceSum(x, ax, keepDims), 1 / count);
}

export function reduceMax(x: Tensor, axes?: readonly number[], keepDims = false): Tensor {
  return x.graph.node('reduceMax', [x], { axes: axesOf(x, axes), keepDims });
}

/** GroupNorm's normalisation without the affine part: zero mean, unit variance over each of
 * `groups` groups of channels of x [N, C, ...] (the layer in nn/layers.ts adds weight and bias). */
export const groupNorm = (x: Tensor, groups: number, eps = 1e-5) => x.graph.node('groupNorm', [x], { groups, eps });

export const softmax = (x: Tensor, axis = -1) => x.graph.node('softmax', [x], { axis: normAxis(axis, x.rank) });
export const logSoftmax = (x: Tensor, axis = -1) => x.graph.node('logSoftmax', [x], { axis: normAxis(axis, x.rank) });

// ---- linear algebra -----------------------------------------------------------------------

export const matmul = (a: Tensor, b: Tensor) => a.graph.node('matmul', [a, b]);
export const gemm = (a: Tensor, b: Tensor, opts: { transA?: boolean; transB?: boolean } = {}) =>
  a.graph.node('gemm', [a, b], { transA: opts.transA ?? false, transB: opts.transB ?? false });

/** x [..., in] times w [in, out] plus b [out]. */
export function linear(x: Tensor, w: Tensor, b?: Tensor): Tensor {
  const y = x.rank === 2 ? gemm(x, w) : matmul(x, w);
  return b ? add(y, b) : y;
}

// ---- images -------------------------------------------------------------------------------

export type Pair = number | readonly number[];
const two = (v: Pair | undefined, dflt: number): number[] => (v === undefined ? [dflt, dflt] : typeof v === 'number' ? [v, v] : [...v]);
/** 1 value, [h, w] or [top, left, bottom, right]. */
function pads4(p: Pair | undefined): number[] {
  const v = two(p, 0);
  return v.length === 4 ? v : [v[0], v[1], v[0], v[1]];
}

export interface ConvOptions {
  readonly stride?: Pair;
  /** A number, [h, w], [top, left, bottom, right] or 'same' (stride 1). */
  readonly padding?: Pair | 'same';
  readonly dilation?: Pair;
  readonly groups?: number;
}

function convAttrs(w: Tensor, o: ConvOptions): ConvAttrs {
  const dilations = two(o.dilation, 1);
  let pads: number[];
  if (o.padding === 'same') {
    const total = [0, 1].map((i) => dilations[i] * (w.shape[2 + i] - 1));
    const begin = total.map((t) => Math.floor(t / 2));
    pads = [begin[0], begin[1], total[0] - begin[0], total[1] - begin[1]];
  } else pads = pads4(o.padding);
  return { strides: two(o.stride, 1), pads, dilations, group: o.groups ?? 1 };
}

/** 2-D convolution, NCHW input, weights [out, in/groups, kh, kw]. */
export function conv2d(x: Tensor, w: Tensor, options: ConvOptions = {}): Tensor {
  return x.graph.node('conv', [x, w], { ...convAttrs(w, options) });
}

export interface ConvTransposeOptions extends ConvOptions {
  readonly outputPadding?: Pair;
}

/** Transposed 2-D convolution, weights [in, out/groups, kh, kw]. */
export function convTranspose2d(x: Tensor, w: Tensor, options: ConvTransposeOptions = {}): Tensor {
  const a = convAttrs(w, { ...options, padding: options.padding === 'same' ? 0 : options.padding });
  return x.graph.node('convTranspose', [x, w], { ...a, outputPadding: two(options.outputPadding, 0) });
}

export interface PoolOptions {
  readonly kernel: Pair;
  readonly stride?: Pair;
  readonly padding?: Pair;
}

export function maxPool2d(x: Tensor, o: PoolOptions): Tensor {
  const kernel = two(o.kernel, 1);
  return x.graph.node('maxPool', [x], { kernel, strides: o.stride === undefined ? kernel : two(o.stride, 1), pads: pads4(o.padding) });
}

/** Average pooling as a depthwise convolution with constant weights 1/(kh*kw) (zero padding counts). */
export function avgPool2d(x: Tensor, o: PoolOptions): Tensor {
  const kernel = two(o.kernel, 1);
  const C = x.shape[1];
  const n = kernel[0] * kernel[1];
  const w = x.graph.constant(new Float32Array(C * n).fill(1 / n), [C, 1, kernel[0], kernel[1]]);
  return conv2d(x, w, { stride: o.stride === undefined ? kernel : o.stride, padding: o.padding, groups: C });
}

export const globalAvgPool = (x: Tensor) => reduceMean(x, [2, 3], true);

/** Resize NCHW to [h, w]: 'nearest' (floor, like PyTorch's) or 'linear' (bilinear, half-pixel). */
export function resize(x: Tensor, size: readonly [number, number], mode: ResizeMode = 'nearest'): Tensor {
  return x.graph.node('resize', [x], { size: [...size], mode });
}

export function upsample(x: Tensor, factor: number, mode: ResizeMode = 'nearest'): Tensor {
  return resize(x, [x.shape[2] * factor, x.shape[3] * factor], mode);
}
