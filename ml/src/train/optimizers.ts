/** Optimizer updates written as graph nodes, so they run inside the train-step graph. */
import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';

export type OptimizerConfig =
  | { readonly kind: 'sgd'; readonly momentum?: number; readonly nesterov?: boolean; readonly weightDecay?: number }
  | {
      /** 'adam' adds weight decay to the gradient (L2); 'adamw' decays the weights directly. */
      readonly kind: 'adam' | 'adamw';
      readonly beta1?: number;
      readonly beta2?: number;
      readonly eps?: number;
      readonly weightDecay?: number;
    };

/** Names of the per-parameter state tensors (each the parameter's shape). */
export function stateSlots(config: OptimizerConfig): string[] {
  if (config.kind === 'sgd') return (config.momentum ?? 0) > 0 ? ['momentum'] : [];
  return ['m', 'v'];
}

export interface UpdateInput {
  readonly param: Tensor;
  readonly grad: Tensor;
  readonly state: Readonly<Record<string, Tensor>>;
  readonly lr: Tensor;
  /** The 1-based number of this update (a float scalar), for Adam's bias correction. */
  readonly step: Tensor;
}

export interface UpdateOutput {
  readonly param: Tensor;
  readonly state: Record<string, Tensor>;
}

export function applyOptimizer(config: OptimizerConfig, u: UpdateInput): UpdateOutput {
  const wd = config.weightDecay ?? 0;
  if (config.kind === 'sgd') {
    const mu = config.momentum ?? 0;
    const g = wd ? F.add(u.grad, F.mul(u.param, wd)) : u.grad;
    if (mu === 0) return { param: F.sub(u.param, F.mul(g, u.lr)), state: {} };
    const buf = F.add(F.mul(u.state.momentum, mu), g);
    const dir = config.nesterov ? F.add(g, F.mul(buf, mu)) : buf;
    return { param: F.sub(u.param, F.mul(dir, u.lr)), state: { momentum: buf } };
  }
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = config;
  const g = config.kind === 'adam' && wd ? F.add(u.grad, F.mul(u.param, wd)) : u.grad;
  const m = F.add(F.mul(u.state.m, beta1), F.mul(g, 1 - beta1));
  const v = F.add(F.mul(u.state.v, beta2), F.mul(F.mul(g, g), 1 - beta2));
  // lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t): scalar work once, not per element.
  const c1 = F.sub(1, F.pow(u.step.graph.scalar(beta1), u.step));
  const c2 = F.sub(1, F.pow(u.step.graph.scalar(beta2), u.step));
  const lrT = F.div(F.mul(u.lr, F.sqrt(c2)), c1);
  let param = F.sub(u.param, F.mul(F.div(m, F.add(F.sqrt(v), eps)), lrT));
  if (config.kind === 'adamw' && wd) param = F.sub(param, F.mul(u.param, F.mul(u.lr, wd)));
  return { param, state: { m, v } };
}

/** Scales all gradients so that their global L2 norm is at most maxNorm. */
export function clipByGlobalNorm(grads: readonly Tensor[], maxNorm: number): { grads: Tensor[]; norm: Tensor } {
  const sq = grads.map((g) => F.reduceSum(F.mul(g, g)));
  const norm = F.sqrt(sq.reduce((a, b) => F.add(a, b)));
  const scale = F.where(F.greater(norm, maxNorm), F.div(maxNorm, norm), 1);
  return { grads: grads.map((g) => F.mul(g, scale)), norm };
}
