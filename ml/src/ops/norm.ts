import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';
import type { OpRule } from './types';
import { meta, requireFloat } from './util';

export type GroupNormAttrs = {
  readonly groups: number;
  readonly eps: number;
};

/** Per (sample, group) statistics of x [N, C, ...] viewed as [N, G, C/G * spatial]. */
function grouped(t: Tensor, groups: number): Tensor {
  return F.reshape(t, [t.shape[0], groups, -1]);
}

export const normRules = {
  /** GroupNorm without its affine part (that stays a per-channel Mul/Add, see nn/layers.ts):
   * x [N, C, ...] normalised to zero mean and unit variance over each group of C/G channels and
   * all positions. A primitive so that the exported graph carries a normalisation other runtimes
   * implement: GroupNormalization from opset 21 (its per-channel scale form), otherwise
   * Reshape -> InstanceNormalization -> Reshape (instance norm over [N, G, rest] is group norm). */
  groupNorm: {
    shape: ([x], attrs) => {
      const a = attrs as GroupNormAttrs;
      requireFloat(x);
      if (x.shape.length < 3) throw new Error('groupNorm needs [N, C, ...] input of rank >= 3');
      if (!Number.isInteger(a.groups) || a.groups < 1 || x.shape[1] % a.groups !== 0) {
        throw new Error(`${x.shape[1]} channels do not split into ${a.groups} groups`);
      }
      if (!(a.eps > 0)) throw new Error(`eps must be positive, got ${a.eps}`);
      return meta(x.shape, x.dtype);
    },
    lower: (ctx, node, o) => {
      const a = node.attrs as GroupNormAttrs;
      const x = node.inputs[0];
      const C = x.shape[1];
      if (ctx.opset >= 21) {
        ctx.emit('GroupNormalization', [ctx.name(x), ctx.floats(new Array<number>(C).fill(1)), ctx.floats(new Array<number>(C).fill(0))], [o], {
          epsilon: { f: a.eps },
          num_groups: { i: a.groups },
        });
        return;
      }
      // [0, G, -1]: 0 copies the batch dimension, so the same nodes serve any batch size.
      const viewed = ctx.fresh('gn_view');
      const normed = ctx.fresh('gn_norm');
      ctx.emit('Reshape', [ctx.name(x), ctx.ints([0, a.groups, -1])], [viewed]);
      ctx.emit('InstanceNormalization', [viewed, ctx.floats(new Array<number>(a.groups).fill(1)), ctx.floats(new Array<number>(a.groups).fill(0))], [normed], {
        epsilon: { f: a.eps },
      });
      ctx.emit('Reshape', [normed, ctx.ints([0, ...x.shape.slice(1)])], [o]);
    },
    /** y = (x - mean) * r, r = 1 / sqrt(var + eps), per group of M values:
     * dx = r * (dy - mean(dy) - y * mean(dy * y)). The forward node keeps no statistics; r comes
     * back from one product: S = sum(x * y) = r * M * var (as sum(y) = 0), and var = 1/r^2 - eps,
     * so M eps r^2 + S r - M = 0, whose positive root, written without cancellation, is
     * r = 2M / (S + sqrt(S^2 + 4 M^2 eps)) (one pass over x instead of recomputing mean and var). */
    backward: (g, n) => {
      const a = n.attrs as GroupNormAttrs;
      const x = n.inputs[0];
      const xg = grouped(x, a.groups);
      const yg = grouped(n, a.groups);
      const M = xg.shape[2];
      const S = F.reduceSum(F.mul(xg, yg), [2], true);
      const r = F.div(2 * M, F.add(S, F.sqrt(F.add(F.mul(S, S), 4 * M * M * a.eps))));
      const gg = grouped(g, a.groups);
      const centred = F.sub(gg, F.reduceMean(gg, [2], true));
      const dx = F.mul(F.sub(centred, F.mul(yg, F.reduceMean(F.mul(gg, yg), [2], true))), r);
      return [F.reshape(dx, x.shape)];
    },
  } satisfies OpRule,
};
