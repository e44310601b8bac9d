import { OPS } from '../ops/table';
import * as F from '../graph/functional';
import type { Tensor } from '../graph/tensor';

/** Post-order of every node the roots depend on (iterative: deep graphs would overflow a
 * recursive walk). */
export function topoSort(roots: readonly Tensor[]): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<number>();
  const stack: [Tensor, number][] = roots.map((r) => [r, 0]);
  stack.reverse();
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [node, next] = top;
    if (next === 0 && seen.has(node.id)) {
      stack.pop();
      continue;
    }
    seen.add(node.id);
    if (next < node.inputs.length) {
      top[1]++;
      const child = node.inputs[next];
      if (!seen.has(child.id)) stack.push([child, 0]);
    } else {
      stack.pop();
      order.push(node);
    }
  }
  return order;
}

/** Sums a broadcast gradient back to the shape of the input it belongs to: the one place where
 * broadcasting is undone, so backward rules never do it. */
export function reduceToShape(g: Tensor, shape: readonly number[]): Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) {
    if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  }
  if (lead < 0) return F.expand(g, shape);
  const reduced = F.reduceSum(g, axes, true);
  return F.expand(F.reshape(reduced, reduced.shape.slice(lead)), shape);
}

/** Reverse-mode gradients of `output` (a scalar, or any tensor with a `seed` of its shape) with
 * respect to `wrt`, as new nodes of the same graph. Only nodes between `wrt` and the output are
 * visited; `detach` and non-float paths stop the flow. Unreached `wrt` get zeros. */
export function grad(output: Tensor, wrt: readonly Tensor[], seed?: Tensor): Tensor[] {
  const g0 = seed ?? output.graph.scalar(1);
  if (!seed && output.size !== 1) throw new Error(`grad: output ${output} is not a scalar; pass a seed`);
  const order = topoSort([output]);
  const targets = new Set(wrt.map((t) => t.id));
  const onPath = new Set<number>();
  for (const n of order) {
    if (targets.has(n.id) || n.inputs.some((i) => onPath.has(i.id))) onPath.add(n.id);
  }
  const grads = new Map<number, Tensor>([[output.id, reduceToShape(g0, output.shape)]]);
  for (let k = order.length - 1; k >= 0; k--) {
    const node = order[k];
    const g = grads.get(node.id);
    if (!g || node.inputs.length === 0 || !onPath.has(node.id)) continue;
    const parts = OPS[node.op].backward(g, node);
    if (parts.length !== node.inputs.length) {
      throw new Error(`grad: the rule of ${node.op} gave ${parts.length} gradients for ${node.inputs.length} inputs`);
    }
    node.inputs.forEach((input, i) => {
      const part = parts[i];
      if (!part || !onPath.has(input.id) || input.dtype !== 'float32') return;
      const shaped = reduceToShape(part, input.shape);
      const prev = grads.get(input.id);
      grads.set(input.id, prev ? F.add(prev, shaped) : shaped);
    });
  }
  return wrt.map((w) => grads.get(w.id) ?? F.expand(w.graph.scalar(0), w.shape));
}
