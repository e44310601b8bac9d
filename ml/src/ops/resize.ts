import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import type { LowerCtx, OpRule } from './types';
import { meta, requireFloat } from './util';

export type ResizeMode = 'nearest' | 'linear';

/** The [out, in] matrix of one axis of a resize: Y = A_h X A_w^T. Same conventions as the
 * lowering: linear uses half_pixel (PyTorch align_corners=False), nearest asymmetric + floor. */
export function resizeMatrix(inSize: number, outSize: number, mode: ResizeMode): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = outSize / inSize;
  for (let o = 0; o < outSize; o++) {
    if (mode === 'nearest') {
      m[o * inSize + Math.min(Math.floor(o / scale), inSize - 1)] = 1;
      continue;
    }
    const src = Math.min(Math.max((o + 0.5) / scale - 0.5, 0), inSize - 1);
    const i0 = Math.floor(src);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const w1 = src - i0;
    m[o * inSize + i0] += 1 - w1;
    m[o * inSize + i1] += w1;
  }
  return m;
}

function resizeGrad(g: Tensor, n: Tensor): Tensor {
  const x = n.inputs[0];
  const [N, C, H, W] = x.shape;
  const [Ho, Wo] = [n.shape[2], n.shape[3]];
  if (n.attrs.mode === 'nearest' && Ho % H === 0 && Wo % W === 0) {
    return F.reduceSum(F.reshape(g, [N, C, H, Ho / H, W, Wo / W]), [3, 5]);
  }
  const mode = n.attrs.mode as ResizeMode;
  const ahT = F.transpose(g.graph.constant(resizeMatrix(H, Ho, mode), [Ho, H]));
  const aw = g.graph.constant(resizeMatrix(W, Wo, mode), [Wo, W]);
  return F.matmul(F.matmul(ahT, g), aw);
}

/** The `sizes` input: a constant, or in a dynamic-batch model the input's own [N, C] followed by
 * the constant [h, w]. */
function resizeSizes(ctx: LowerCtx, node: Tensor): string {
  if (!ctx.dynamicBatch) return ctx.ints(node.shape);
  const shape = ctx.fresh('rs_shape');
  const lead = ctx.fresh('rs_nc');
  const sizes = ctx.fresh('rs_sizes');
  ctx.emit('Shape', [ctx.name(node.inputs[0])], [shape]);
  ctx.emit('Slice', [shape, ctx.ints([0]), ctx.ints([2]), ctx.ints([0])], [lead]);
  ctx.emit('Concat', [lead, ctx.ints(node.shape.slice(2))], [sizes], { axis: { i: 0 } });
  return sizes;
}

export const resizeRules = {
  resize: {
    shape: ([x], attrs) => {
      requireFloat(x);
      if (x.shape.length !== 4) throw new Error('resize needs NCHW input');
      const size = attrs.size as number[];
      return meta([x.shape[0], x.shape[1], size[0], size[1]], x.dtype);
    },
    lower: (ctx, node, o) => {
      const linear = node.attrs.mode === 'linear';
      // roi and scales became optional at opset 13; before, they are empty tensors.
      const unused = ctx.opset >= 13 ? '' : ctx.floats([]);
      ctx.emit('Resize', [ctx.name(node.inputs[0]), unused, unused, resizeSizes(ctx, node)], [o], {
        mode: { s: linear ? 'linear' : 'nearest' },
        coordinate_transformation_mode: { s: linear ? 'half_pixel' : 'asymmetric' },
        nearest_mode: { s: 'floor' },
      });
    },
    backward: (g, n) => [resizeGrad(g, n)],
  } satisfies OpRule,
};
