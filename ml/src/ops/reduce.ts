import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import type { LowerCtx, OpRule } from './types';
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

/** Reduce ops took their axes as an attribute until they became an input (ReduceSum at 13, the
 * others at 18). */
function lowerReduce(ctx: LowerCtx, node: Tensor, o: string, op: string, axesInputSince: number): void {
  const axes = node.attrs.axes as number[];
  const keepdims = { i: node.attrs.keepDims ? 1 : 0 };
  if (ctx.opset >= axesInputSince) ctx.emit(op, [ctx.name(node.inputs[0]), ctx.ints(axes)], [o], { keepdims });
  else ctx.emit(op, [ctx.name(node.inputs[0])], [o], { axes: { ints: axes }, keepdims });
}

/** Before opset 13, (Log)Softmax flattened everything from its axis on; normalising along the last
 * axis means the same in every opset, so another axis is moved there and back. */
function lowerSoftmax(ctx: LowerCtx, node: Tensor, o: string, op: 'Softmax' | 'LogSoftmax'): void {
  const axis = node.attrs.axis as number;
  const last = node.rank - 1;
  if (ctx.opset >= 13 || axis === last) {
    ctx.emit(op, [ctx.name(node.inputs[0])], [o], { axis: { i: axis } });
    return;
  }
  const perm = node.shape.map((_, i) => i);
  [perm[axis], perm[last]] = [perm[last], perm[axis]]; // a swap is its own inverse
  const moved = ctx.fresh('sm_in');
  const normed = ctx.fresh('sm_out');
  ctx.emit('Transpose', [ctx.name(node.inputs[0])], [moved], { perm: { ints: perm } });
  ctx.emit(op, [moved], [normed], { axis: { i: last } });
  ctx.emit('Transpose', [normed], [o], { perm: { ints: perm } });
}

export const reduceRules = {
  reduceSum: {
    shape: reduceShape,
    lower: (ctx, node, o) => lowerReduce(ctx, node, o, 'ReduceSum', 13),
    backward: (g, n) => [spread(g, n)],
  } satisfies OpRule,

  reduceMax: {
    shape: reduceShape,
    lower: (ctx, node, o) => lowerReduce(ctx, node, o, 'ReduceMax', 18),
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
    lower: (ctx, node, o) => lowerSoftmax(ctx, node, o, 'Softmax'),
    backward: (g, n) => [F.mul(n, F.sub(g, F.reduceSum(F.mul(g, n), [n.attrs.axis as number], true)))],
  } satisfies OpRule,

  logSoftmax: {
    shape: ([x], attrs) => (requireFloat(x), normAxis(attrs.axis as number, x.shape.length), meta(x.shape, x.dtype)),
    lower: (ctx, node, o) => lowerSoftmax(ctx, node, o, 'LogSoftmax'),
    backward: (g, n) => [F.sub(g, F.mul(F.exp(n), F.reduceSum(g, [n.attrs.axis as number], true)))],
  } satisfies OpRule,
};
