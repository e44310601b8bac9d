import * as F from '../graph/functional';
import type { OpRule } from './types';
import { broadcastShapes, fmt, meta, requireFloat } from './util';

export const linalgRules = {
  /** Batched matrix product [..., m, k] x [..., k, n] with broadcasting batch dimensions. */
  matmul: {
    shape: ([a, b]) => {
      requireFloat(a), requireFloat(b);
      if (a.shape.length < 2 || b.shape.length < 2) throw new Error('both operands need rank >= 2');
      const [m, k] = a.shape.slice(-2);
      const [k2, n] = b.shape.slice(-2);
      if (k !== k2) throw new Error(`inner dimensions ${k} and ${k2} differ`);
      return meta([...broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2)), m, n], a.dtype);
    },
    lower: (ctx, node, o) => void ctx.emit('MatMul', node.inputs.map((t) => ctx.name(t)), [o]),
    backward: (g, n) => {
      const [a, b] = n.inputs;
      return [F.matmul(g, F.swapLast(b)), F.matmul(F.swapLast(a), g)];
    },
  } satisfies OpRule,

  /** 2-D product op(A) x op(B) with optional transposes (lowered to Gemm, no copy for them). */
  gemm: {
    shape: ([a, b], attrs) => {
      requireFloat(a), requireFloat(b);
      if (a.shape.length !== 2 || b.shape.length !== 2) throw new Error('gemm needs 2-D operands');
      const [m, k] = attrs.transA ? [a.shape[1], a.shape[0]] : a.shape;
      const [k2, n] = attrs.transB ? [b.shape[1], b.shape[0]] : b.shape;
      if (k !== k2) throw new Error(`inner dimensions ${k} and ${k2} differ (${fmt(a.shape)}, ${fmt(b.shape)})`);
      return meta([m, n], a.dtype);
    },
    lower: (ctx, node, o) =>
      void ctx.emit('Gemm', node.inputs.map((t) => ctx.name(t)), [o], {
        transA: { i: node.attrs.transA ? 1 : 0 },
        transB: { i: node.attrs.transB ? 1 : 0 },
      }),
    backward: (g, n) => {
      const [a, b] = n.inputs;
      const tA = Boolean(n.attrs.transA);
      const tB = Boolean(n.attrs.transB);
      const dA = tA ? F.gemm(b, g, { transA: tB, transB: true }) : F.gemm(g, b, { transB: !tB });
      const dB = tB ? F.gemm(g, a, { transA: true, transB: tA }) : F.gemm(a, g, { transA: !tA });
      return [dA, dB];
    },
  } satisfies OpRule,
};
