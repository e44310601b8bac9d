import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import type { LowerCtx, OpRule } from './types';
import { broadcastShapes, fmt, meta, normAxis, product, sameDtype } from './util';

export type SliceAttrs = {
  /** One entry per sliced axis, already normalised: 0 <= start <= dim (or < dim for step < 0). */
  readonly axes: readonly number[];
  readonly starts: readonly number[];
  readonly ends: readonly number[];
  readonly steps: readonly number[];
};

export function sliceLength(start: number, end: number, step: number): number {
  return step > 0 ? Math.max(0, Math.ceil((end - start) / step)) : Math.max(0, Math.ceil((start - end) / -step));
}

/** A target shape as a Reshape/Expand constant. In a dynamic-batch model a leading dimension the
 * input already has is written as `keep` (Reshape's 0 copies it, Expand's 1 keeps it), so the
 * constant does not pin the batch size. */
function batchFree(ctx: LowerCtx, x: Tensor, shape: readonly number[], keep: number): number[] {
  const aligned = keep === 0 || x.rank === shape.length; // Expand aligns shapes from the right
  const same = ctx.dynamicBatch && aligned && x.rank > 0 && shape.length > 0 && x.shape[0] === shape[0];
  return same ? [keep, ...shape.slice(1)] : [...shape];
}

export const layoutRules = {
  reshape: {
    shape: ([x], attrs) => {
      const shape = attrs.shape as number[];
      if (product(shape) !== product(x.shape)) throw new Error(`cannot reshape to ${fmt(shape)}`);
      return meta(shape, x.dtype);
    },
    lower: (ctx, node, o) => void ctx.emit('Reshape', [ctx.name(node.inputs[0]), ctx.ints(batchFree(ctx, node.inputs[0], node.shape, 0))], [o]),
    backward: (g, n) => [F.reshape(g, n.inputs[0].shape)],
  } satisfies OpRule,

  transpose: {
    shape: ([x], attrs) => {
      const perm = attrs.perm as number[];
      if (perm.length !== x.shape.length || [...perm].sort().some((p, i) => p !== i)) throw new Error(`bad permutation ${fmt(perm)}`);
      return meta(perm.map((p) => x.shape[p]), x.dtype);
    },
    lower: (ctx, node, o) => void ctx.emit('Transpose', [ctx.name(node.inputs[0])], [o], { perm: { ints: node.attrs.perm as number[] } }),
    backward: (g, n) => {
      const perm = n.attrs.perm as number[];
      const inv = perm.map((_, i) => perm.indexOf(i));
      return [F.transpose(g, inv)];
    },
  } satisfies OpRule,

  expand: {
    shape: ([x], attrs) => {
      const shape = attrs.shape as number[];
      const out = broadcastShapes(x.shape, shape);
      if (fmt(out) !== fmt(shape)) throw new Error(`cannot expand to ${fmt(shape)}`);
      return meta(shape, x.dtype);
    },
    lower: (ctx, node, o) => void ctx.emit('Expand', [ctx.name(node.inputs[0]), ctx.ints(batchFree(ctx, node.inputs[0], node.shape, 1))], [o]),
    backward: (g) => [g],
  } satisfies OpRule,

  slice: {
    shape: ([x], attrs) => {
      const a = attrs as SliceAttrs;
      const shape = [...x.shape];
      a.axes.forEach((axis, i) => {
        if (a.steps[i] === 0) throw new Error('slice step 0');
        shape[axis] = sliceLength(a.starts[i], a.ends[i], a.steps[i]);
      });
      return meta(shape, x.dtype);
    },
    lower: (ctx, node, o) => {
      const a = node.attrs as SliceAttrs;
      const x = node.inputs[0];
      // ONNX reads a negative end as counted from the back: "before index 0" must be -(dim + 1).
      const ends = a.ends.map((e, i) => (e < 0 ? -(x.shape[a.axes[i]] + 1) : e));
      ctx.emit('Slice', [ctx.name(x), ctx.ints(a.starts), ctx.ints(ends), ctx.ints(a.axes), ctx.ints(a.steps)], [o]);
    },
    backward: (g, n) => {
      const a = n.attrs as SliceAttrs;
      const x = n.inputs[0];
      const pads = new Array<number>(2 * x.shape.length).fill(0);
      let grad = g;
      a.axes.forEach((axis, i) => {
        const len = n.shape[axis];
        if (a.steps[i] === 1) {
          pads[axis] = a.starts[i];
          pads[axis + x.shape.length] = x.shape[axis] - a.starts[i] - len;
        } else if (a.steps[i] === -1) {
          grad = F.flip(grad, [axis]);
          const first = a.starts[i] - len + 1;
          pads[axis] = first;
          pads[axis + x.shape.length] = x.shape[axis] - first - len;
        } else {
          throw new Error(`slice: no gradient for step ${a.steps[i]}`);
        }
      });
      return [F.pad(grad, pads)];
    },
  } satisfies OpRule,

  concat: {
    shape: (inputs, attrs) => {
      const axis = normAxis(attrs.axis as number, inputs[0].shape.length);
      const shape = [...inputs[0].shape];
      shape[axis] = 0;
      for (const t of inputs) {
        if (t.shape.length !== shape.length || t.shape.some((d, i) => i !== axis && d !== shape[i])) {
          throw new Error(`inputs differ outside axis ${axis}`);
        }
        shape[axis] += t.shape[axis];
      }
      return meta(shape, sameDtype(inputs));
    },
    lower: (ctx, node, o) => void ctx.emit('Concat', node.inputs.map((t) => ctx.name(t)), [o], { axis: { i: normAxis(node.attrs.axis as number, node.rank) } }),
    backward: (g, n) => {
      const axis = normAxis(n.attrs.axis as number, n.rank);
      let at = 0;
      return n.inputs.map((t) => {
        const part = F.slice(g, [axis], [at], [at + t.shape[axis]]);
        at += t.shape[axis];
        return part;
      });
    },
  } satisfies OpRule,

  pad: {
    shape: ([x], attrs) => {
      const pads = attrs.pads as number[];
      if (pads.length !== 2 * x.shape.length || pads.some((p) => p < 0)) throw new Error(`bad pads ${fmt(pads)}`);
      return meta(x.shape.map((d, i) => d + pads[i] + pads[i + x.shape.length]), x.dtype);
    },
    lower: (ctx, node, o) => {
      const x = node.inputs[0];
      ctx.emit('Pad', [ctx.name(x), ctx.ints(node.attrs.pads as number[]), ctx.scalar(0, x.dtype)], [o], { mode: { s: 'constant' } });
    },
    backward: (g, n) => {
      const pads = n.attrs.pads as number[];
      const x = n.inputs[0];
      const axes = x.shape.map((_, i) => i);
      return [F.slice(g, axes, axes.map((i) => pads[i]), axes.map((i) => pads[i] + x.shape[i]))];
    },
  } satisfies OpRule,

  gather: {
    shape: ([data, idx], attrs) => {
      if (idx.dtype !== 'int64' && idx.dtype !== 'int32') throw new Error('indices must be int64 or int32');
      const axis = normAxis(attrs.axis as number, data.shape.length);
      return meta([...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)], data.dtype);
    },
    lower: (ctx, node, o) => void ctx.emit('Gather', node.inputs.map((t) => ctx.name(t)), [o], { axis: { i: normAxis(node.attrs.axis as number, node.inputs[0].rank) } }),
    backward: (g, n) => [gatherGrad(g, n), null],
  } satisfies OpRule,
};

/** Scatter-add written as a one-hot matrix product: [V, K] x [P, K, Q] -> [P, V, Q]. */
function gatherGrad(g: Tensor, n: Tensor): Tensor {
  const [data, idx] = n.inputs;
  const axis = normAxis(n.attrs.axis as number, data.rank);
  const V = data.shape[axis];
  const K = idx.size;
  const P = product(data.shape.slice(0, axis));
  const Q = product(data.shape.slice(axis + 1));
  const range = g.graph.constant(Array.from({ length: V }, (_, i) => i), [V, 1], idx.dtype);
  const onehot = F.cast(F.equal(range, F.reshape(idx, [1, K])), 'float32');
  const dData = F.matmul(onehot, F.reshape(g, [P, K, Q]));
  return F.reshape(dData, data.shape);
}
