import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import type { OpRule } from './types';
import { meta, normAxis, requireFloat } from './util';

function reducedShape(shape: readonly number[], axes: readonly number[], keep: boolean): number[] {
  const out: number[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keep) out.push(1);
  });
  return out;
}

const reduceShape: OpRule['shape'] = ([x], attrs) => {
  const axes = attrs.axes as number[];
  for (const a of axes) normAxis(a, x.shape.length);
  return meta(reducedShape(x.shape, axes, attrs.keepDims as boolean), x.dtype);
};

/** The gradient of a reduction, broadcast back to the input's shape. */
function spread(g: Tensor, n: Tensor): Tensor {
  const x = n.inputs[0];
  return F.expand(F.reshape(g, reducedShape(x.shape, n.attrs.axes as number[], true)), x.shape);
}

export const reduceRules = {
  reduceSum: {
    shape: reduceShape,
    lower: (ctx, node, o) =>
      void ctx.emit('ReduceSum', [ctx.name(node.inputs[0]), ctx.ints(node.attrs.axes as number[])], [o], { keepdims: { i: node.attrs.keepDims ? 1 : 0 } }),
    backward: (g, n) => [spread(g, n)],
  } satisfies OpRule,

  reduceMax: {
    shape: reduceShape,
    lower: (ctx, node, o) =>
      void ctx.emit('ReduceMax', [ctx.name(node.inputs[0])], [o], { axes: { ints: node.attrs.axes as number[] }, keepdims: { i: node.attrs.keepDims ? 1 : 0 } }),
    backward: (g, n) => {
      const x = n.inputs[0];
      const axes = n.attrs.axes as number[];
      const keep = reducedShape(x.shape, axes, true);
      const hit = F.cast(F.equal(x, F.reshape(n, keep)), 'float32');
      return [F.div(F.mul(spread(g, n), hit), F.reduceSum(hit, axes, true))];
    },
  } satisfies OpRule,

  softmax: {
    shape: ([x], attrs) => (requireFloat(x), normAxis(attrs.axis as number, x.shape.length), meta(x.shape, x.dtype)),
    lower: (ctx, node, o) => void ctx.emit('Softmax', [ctx.name(node.inputs[0])], [o], { axis: { i: node.attrs.axis as number } }),
    backward: (g, n) => [F.mul(n, F.sub(g, F.reduceSum(F.mul(g, n), [n.attrs.axis as number], true)))],
  } satisfies OpRule,

  logSoftmax: {
    shape: ([x], attrs) => (requireFloat(x), normAxis(attrs.axis as number, x.shape.length), meta(x.shape, x.dtype)),
    lower: (ctx, node, o) => void ctx.emit('LogSoftmax', [ctx.name(node.inputs[0])], [o], { axis: { i: node.attrs.axis as number } }),
    backward: (g, n) => [F.sub(g, F.mul(F.exp(n), F.reduceSum(g, [n.attrs.axis as number], true)))],
  } satisfies OpRule,
};
