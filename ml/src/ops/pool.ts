import { OpsetError, type OpRule } from './types';
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

  /** Inputs (dY, the maxPool node, its input X): ScatterElements of dY at the Indices output of
   * the forward MaxPool (which this lowering adds to that node). */
  maxPoolGrad: {
    shape: ([, , x]) => meta(x.shape, x.dtype),
    lower: (ctx, node, o) => {
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
      ctx.emit('ScatterElements', [zeros, idxFlat, gFlat], [scattered], { axis: { i: 0 }, reduction: { s: overlap ? 'add' : 'none' } });
      ctx.emit('Reshape', [scattered, ctx.ints(x.shape)], [o]);
    },
    backward: () => {
      throw new Error('maxPoolGrad has no second derivative');
    },
  } satisfies OpRule,
};

