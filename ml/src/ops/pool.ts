import type { Tensor } from '../graph/tensor';
import { ONNX_TYPE } from './elementwise';
import { OpsetError, type LowerCtx, type OpRule } from './types';
import { meta, requireFloat } from './util';

export type PoolAttrs = {
  readonly kernel: readonly number[];
  readonly strides: readonly number[];
  /** [top, left, bottom, right] */
  readonly pads: readonly number[];
};

export const poolRules = {
  maxPool: {
    shape: ([x], attrs) => {
      const a = attrs as PoolAttrs;
      requireFloat(x);
      if (x.shape.length !== 4) throw new Error('maxPool needs NCHW input');
      const out = [0, 1].map((i) => Math.floor((x.shape[2 + i] + a.pads[i] + a.pads[i + 2] - a.kernel[i]) / a.strides[i]) + 1);
      if (out.some((d) => d < 1)) throw new Error('the kernel is larger than the padded input');
      return meta([x.shape[0], x.shape[1], ...out], x.dtype);
    },
    lower: (ctx, node, o) => {
      const a = node.attrs as PoolAttrs;
      ctx.emit('MaxPool', [ctx.name(node.inputs[0])], [o], {
        kernel_shape: { ints: a.kernel },
        strides: { ints: a.strides },
        pads: { ints: a.pads },
        dilations: { ints: [1, 1] },
        ceil_mode: { i: 0 },
      });
    },
    backward: (g, n) => [n.graph.node('maxPoolGrad', [g, n, n.inputs[0]])],
  } satisfies OpRule,

  /** Inputs (dY, the maxPool node, its input X). Tiling windows (kernel = stride, no padding, the
   * input divisible: the segmenter's 2x2 pools) route dY to each window's first maximum found by
   * ArgMax, the element MaxPool itself picks, with no Indices output: ONNX Runtime's WebGPU provider
   * has no MaxPool with Indices (its run fails), ArgMax it has. Other windows scatter dY at the
   * Indices output of the forward MaxPool (which this lowering then adds to that node). */
  maxPoolGrad: {
    shape: ([, , x]) => meta(x.shape, x.dtype),
    lower: (ctx, node, o) => {
      const [g, y, x] = node.inputs;
      const a = y.attrs as PoolAttrs;
      const tiles = a.kernel.every((k, i) => k === a.strides[i] && x.shape[2 + i] % k === 0) && a.pads.every((p) => p === 0);
      if (tiles) lowerTilingMaxPoolGrad(ctx, ctx.name(g), ctx.name(x), x.shape, a.kernel, o);
      else lowerScatterMaxPoolGrad(ctx, node, o);
    },
    backward: () => {
      throw new Error('maxPoolGrad has no second derivative');
    },
  } satisfies OpRule,
};

/** dX of a max-pool whose windows tile X: X viewed as [N, C, h, w, kh*kw] windows, a one-hot of
 * each window's ArgMax (first maximum, as MaxPool chooses) times dY, viewed back as X. */
function lowerTilingMaxPoolGrad(ctx: LowerCtx, g: string, x: string, shape: readonly number[], kernel: readonly number[], o: string): void {
  const [, c, height, width] = shape;
  const [kh, kw] = kernel;
  const [h, w] = [height / kh, width / kw];
  // Dimension 0 is copied (0 in Reshape), so a symbolic batch stays symbolic.
  const windowsOrder = { perm: { ints: [0, 1, 2, 4, 3, 5] } };
  const split = ctx.fresh('pool_split');
  const windows = ctx.fresh('pool_windows');
  const flatWindows = ctx.fresh('pool_flat_windows');
  const argmax = ctx.fresh('pool_argmax');
  const isMax = ctx.fresh('pool_is_max');
  const mask = ctx.fresh('pool_mask');
  const gCol = ctx.fresh('pool_g');
  const routed = ctx.fresh('pool_routed');
  const routedWindows = ctx.fresh('pool_routed_windows');
  const routedSplit = ctx.fresh('pool_routed_split');
  ctx.emit('Reshape', [x, ctx.ints([0, c, h, kh, w, kw])], [split]);
  ctx.emit('Transpose', [split], [windows], windowsOrder);
  ctx.emit('Reshape', [windows, ctx.ints([0, c, h, w, kh * kw])], [flatWindows]);
  ctx.emit('ArgMax', [flatWindows], [argmax], { axis: { i: 4 }, keepdims: { i: 1 } });
  ctx.emit('Equal', [argmax, ctx.ints(Array.from({ length: kh * kw }, (_, i) => i))], [isMax]);
  ctx.emit('Cast', [isMax], [mask], { to: { i: ONNX_TYPE.float32 } });
  ctx.emit('Reshape', [g, ctx.ints([0, c, h, w, 1])], [gCol]);
  ctx.emit('Mul', [mask, gCol], [routed]);
  ctx.emit('Reshape', [routed, ctx.ints([0, c, h, w, kh, kw])], [routedWindows]);
  ctx.emit('Transpose', [routedWindows], [routedSplit], windowsOrder);
  ctx.emit('Reshape', [routedSplit, ctx.ints([0, c, height, width])], [o]);
}

/** dX of any max-pool: ScatterElements of dY at the Indices output of the forward MaxPool. */
function lowerScatterMaxPoolGrad(ctx: LowerCtx, node: Tensor, o: string): void {
  const [g, y, x] = node.inputs;
  const a = y.attrs as PoolAttrs;
  const producer = ctx.producer(y);
  if (!producer.output || producer.output.length < 2) producer.output = [...(producer.output ?? []), ctx.fresh('maxpool_idx')];
  const idx = producer.output[1];
  const flat = ctx.ints([-1]);
  const idxFlat = ctx.fresh('idx_flat');
  const gFlat = ctx.fresh('g_flat');
  const zeros = ctx.fresh('zeros');
  const scattered = ctx.fresh('scattered');
  ctx.emit('Reshape', [idx, flat], [idxFlat]);
  ctx.emit('Reshape', [ctx.name(g), flat], [gFlat]);
  ctx.emit('Expand', [ctx.scalar(0, 'float32'), ctx.ints([x.size])], [zeros]);
  const overlap = a.kernel.some((k, i) => k > a.strides[i]);
  if (overlap && ctx.opset < 16) throw new OpsetError(16, 'the gradient of an overlapping maxPool needs ScatterElements with reduction (opset 16)');
  // 'reduction' exists from opset 16 on; windows that do not overlap need none (and so run at 11).
  ctx.emit('ScatterElements', [zeros, idxFlat, gFlat], [scattered], { axis: { i: 0 }, ...(overlap ? { reduction: { s: 'add' } } : {}) });
  ctx.emit('Reshape', [scattered, ctx.ints(x.shape)], [o]);
}
