/** Layers: compositions that register their parameters by name on the graph. */
import * as F from '../graph/functional';
import type { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import type { ParamInit } from '../init/initializers';

export interface Conv2dLayerOptions extends F.ConvOptions {
  readonly kernel?: number | readonly [number, number];
  readonly bias?: boolean;
  readonly init?: ParamInit;
}

const kernelOf = (k: number | readonly [number, number] | undefined, d: number): [number, number] =>
  k === undefined ? [d, d] : typeof k === 'number' ? [k, k] : [k[0], k[1]];

/** Conv with weight `${name}.weight` [out, in/groups, kh, kw] and bias `${name}.bias` [out]. */
export function conv2dLayer(g: Graph, name: string, x: Tensor, outChannels: number, o: Conv2dLayerOptions = {}): Tensor {
  const [kh, kw] = kernelOf(o.kernel, 3);
  const groups = o.groups ?? 1;
  return g.scope(name, () => {
    const w = g.param('weight', [outChannels, x.shape[1] / groups, kh, kw], o.init ?? 'he');
    const y = F.conv2d(x, w, { stride: o.stride, padding: o.padding ?? 'same', dilation: o.dilation, groups });
    return o.bias === false ? y : F.add(y, F.reshape(g.param('bias', [outChannels], 'zeros'), [1, outChannels, 1, 1]));
  });
}

/** Transposed conv, weight [in, out, kh, kw]; default kernel 2, stride 2 (exact 2x upsampling). */
export function convTranspose2dLayer(
  g: Graph,
  name: string,
  x: Tensor,
  outChannels: number,
  o: { kernel?: number; stride?: number; padding?: number; bias?: boolean; init?: ParamInit } = {},
): Tensor {
  const k = o.kernel ?? 2;
  return g.scope(name, () => {
    const w = g.param('weight', [x.shape[1], outChannels, k, k], o.init ?? 'he');
    const y = F.convTranspose2d(x, w, { stride: o.stride ?? 2, padding: o.padding ?? 0 });
    return o.bias === false ? y : F.add(y, F.reshape(g.param('bias', [outChannels], 'zeros'), [1, outChannels, 1, 1]));
  });
}

/** x [..., in] -> [..., out]; weight [in, out], bias [out]. */
export function linearLayer(g: Graph, name: string, x: Tensor, outFeatures: number, o: { bias?: boolean; init?: ParamInit } = {}): Tensor {
  return g.scope(name, () => {
    const w = g.param('weight', [x.shape[x.rank - 1], outFeatures], o.init ?? 'xavier');
    return F.linear(x, w, o.bias === false ? undefined : g.param('bias', [outFeatures], 'zeros'));
  });
}

const channelView = (t: Tensor, rank: number) => F.reshape(t, [1, t.shape[0], ...new Array<number>(rank - 2).fill(1)]);

/** BatchNorm over NC...: batch statistics when training (running statistics updated as buffers,
 * PyTorch's momentum convention and unbiased running variance), running statistics otherwise. */
export function batchNorm(g: Graph, name: string, x: Tensor, o: { momentum?: number; eps?: number } = {}): Tensor {
  const { momentum = 0.1, eps = 1e-5 } = o;
  const C = x.shape[1];
  return g.scope(name, () => {
    const gamma = channelView(g.param('weight', [C], 'ones'), x.rank);
    const beta = channelView(g.param('bias', [C], 'zeros'), x.rank);
    const runMean = g.buffer('running_mean', [C], 'zeros');
    const runVar = g.buffer('running_var', [C], 'ones');
    const axes = x.shape.map((_, i) => i).filter((i) => i !== 1);
    if (!g.training) {
      const scale = F.mul(gamma, F.reshape(F.div(1, F.sqrt(F.add(runVar, eps))), gamma.shape));
      return F.add(F.mul(x, scale), F.sub(beta, F.mul(channelView(runMean, x.rank), scale)));
    }
    const mean = F.reduceMean(x, axes, true);
    const xc = F.sub(x, mean);
    const variance = F.reduceMean(F.mul(xc, xc), axes, true);
    const y = F.add(F.mul(xc, F.mul(F.div(1, F.sqrt(F.add(variance, eps))), gamma)), beta); // one full-size product
    const n = x.size / C;
    g.assign(runMean, F.add(F.mul(runMean, 1 - momentum), F.mul(F.reshape(mean, [C]), momentum)));
    g.assign(runVar, F.add(F.mul(runVar, 1 - momentum), F.mul(F.reshape(variance, [C]), (momentum * n) / Math.max(n - 1, 1))));
    return y;
  });
}

/** GroupNorm over NCHW (C divisible by groups), affine per channel: the groupNorm primitive (which
 * exports to a normalisation other runtimes implement) then `${name}.weight` and `${name}.bias`. */
export function groupNorm(g: Graph, name: string, x: Tensor, groups: number, o: { eps?: number } = {}): Tensor {
  const eps = o.eps ?? 1e-5;
  const C = x.shape[1];
  if (C % groups !== 0) throw new Error(`groupNorm '${name}': ${C} channels do not split into ${groups} groups`);
  return g.scope(name, () => {
    const gamma = channelView(g.param('weight', [C], 'ones'), x.rank);
    const beta = channelView(g.param('bias', [C], 'zeros'), x.rank);
    return F.add(F.mul(F.groupNorm(x, groups, eps), gamma), beta);
  });
}

/** LayerNorm over the last axis, affine. */
export function layerNorm(g: Graph, name: string, x: Tensor, o: { eps?: number } = {}): Tensor {
  const eps = o.eps ?? 1e-5;
  const D = x.shape[x.rank - 1];
  return g.scope(name, () => {
    const mean = F.reduceMean(x, [-1], true);
    const xc = F.sub(x, mean);
    const variance = F.reduceMean(F.mul(xc, xc), [-1], true);
    const normed = F.mul(xc, F.div(1, F.sqrt(F.add(variance, eps))));
    return F.add(F.mul(normed, g.param('weight', [D], 'ones')), g.param('bias', [D], 'zeros'));
  });
}

/** Sinusoidal embedding of timesteps t [N] (float) -> [N, dim]: [sin(t f_i), cos(t f_i)],
 * f_i = maxPeriod^(-i/(dim/2)). */
export function timestepEmbedding(t: Tensor, dim: number, maxPeriod = 10000): Tensor {
  const half = Math.floor(dim / 2);
  const freqs = t.graph.constant(Float32Array.from({ length: half }, (_, i) => Math.exp((-Math.log(maxPeriod) * i) / half)), [1, half]);
  const args = F.mul(F.reshape(t, [t.size, 1]), freqs);
  return F.concat([F.sin(args), F.cos(args)], 1);
}

/** Scaled dot-product attention over q, k, v [B, T, D] (batched matmuls + softmax). */
export function attention(q: Tensor, k: Tensor, v: Tensor): Tensor {
  const scores = F.mul(F.matmul(q, F.swapLast(k)), 1 / Math.sqrt(q.shape[q.rank - 1]));
  return F.matmul(F.softmax(scores, -1), v);
}
