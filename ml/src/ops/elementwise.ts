import * as F from '../graph/functional';
import type { DType } from '../graph/tensor';
import type { OpRule, TensorMeta } from './types';
import { broadcastShapes, meta, requireFloat, sameDtype } from './util';

function binary(onnxOp: string, backward: OpRule['backward'], out?: DType): OpRule {
  return {
    shape: ([a, b]) => meta(broadcastShapes(a.shape, b.shape), out ?? sameDtype([a, b])),
    lower: (ctx, node, o) => void ctx.emit(onnxOp, node.inputs.map((t) => ctx.name(t)), [o]),
    backward,
  };
}

function unary(onnxOp: string, backward: OpRule['backward'], float = true): OpRule {
  return {
    shape: ([x]: readonly TensorMeta[]) => {
      if (float) requireFloat(x);
      return meta(x.shape, x.dtype);
    },
    lower: (ctx, node, o) => void ctx.emit(onnxOp, [ctx.name(node.inputs[0])], [o]),
    backward,
  };
}

const none: OpRule['backward'] = (_g, node) => node.inputs.map(() => null);

export const elementwiseRules = {
  add: binary('Add', (g) => [g, g]),
  sub: binary('Sub', (g) => [g, F.neg(g)]),
  mul: binary('Mul', (g, n) => [F.mul(g, n.inputs[1]), F.mul(g, n.inputs[0])]),
  div: binary('Div', (g, n) => [F.div(g, n.inputs[1]), F.neg(F.div(F.mul(g, n), n.inputs[1]))]),
  pow: binary('Pow', (g, n) => {
    const [x, y] = n.inputs;
    return [F.mul(g, F.mul(y, F.pow(x, F.sub(y, 1)))), F.mul(g, F.mul(n, F.log(x)))];
  }),
  equal: binary('Equal', none, 'bool'),
  less: binary('Less', none, 'bool'),
  greater: binary('Greater', none, 'bool'),
  where: {
    shape: ([c, a, b]) => {
      if (c.dtype !== 'bool') throw new Error('the condition must be bool');
      return meta(broadcastShapes(c.shape, broadcastShapes(a.shape, b.shape)), sameDtype([a, b]));
    },
    lower: (ctx, node, o) => void ctx.emit('Where', node.inputs.map((t) => ctx.name(t)), [o]),
    backward: (g, n) => [null, F.where(n.inputs[0], g, 0), F.where(n.inputs[0], 0, g)],
  } satisfies OpRule,

  neg: unary('Neg', (g) => [F.neg(g)], false),
  exp: unary('Exp', (g, n) => [F.mul(g, n)]),
  log: unary('Log', (g, n) => [F.div(g, n.inputs[0])]),
  sqrt: unary('Sqrt', (g, n) => [F.div(g, F.mul(n, 2))]),
  abs: unary('Abs', (g, n) => [F.mul(g, F.sign(n.inputs[0]))], false),
  sign: unary('Sign', none, false),
  relu: unary('Relu', (g, n) => [F.where(F.greater(n.inputs[0], 0), g, 0)]),
  sigmoid: unary('Sigmoid', (g, n) => [F.mul(g, F.mul(n, F.sub(1, n)))]),
  tanh: unary('Tanh', (g, n) => [F.mul(g, F.sub(1, F.mul(n, n)))]),
  erf: unary('Erf', (g, n) => {
    const x = n.inputs[0];
    return [F.mul(g, F.mul(F.exp(F.neg(F.mul(x, x))), 2 / Math.sqrt(Math.PI)))];
  }),
  sin: unary('Sin', (g, n) => [F.mul(g, F.cos(n.inputs[0]))]),
  cos: unary('Cos', (g, n) => [F.neg(F.mul(g, F.sin(n.inputs[0])))]),
  detach: unary('Identity', none, false),
  leakyRelu: {
    ...unary('LeakyRelu', (g, n) => [F.where(F.greater(n.inputs[0], 0), g, F.mul(g, n.attrs.alpha as number))]),
    lower: (ctx, node, o) => void ctx.emit('LeakyRelu', [ctx.name(node.inputs[0])], [o], { alpha: { f: node.attrs.alpha as number } }),
  } satisfies OpRule,
  clip: {
    ...unary('Clip', (g, n) => {
      const x = n.inputs[0];
      const inside = F.mul(F.cast(F.greater(x, n.attrs.min as number), 'float32'), F.cast(F.less(x, n.attrs.max as number), 'float32'));
      return [F.mul(g, inside)];
    }),
    lower: (ctx, node, o) =>
      void ctx.emit('Clip', [ctx.name(node.inputs[0]), ctx.scalar(node.attrs.min as number, 'float32'), ctx.scalar(node.attrs.max as number, 'float32')], [o]),
  } satisfies OpRule,
  cast: {
    shape: ([x], attrs) => meta(x.shape, attrs.to as DType),
    lower: (ctx, node, o) => void ctx.emit('Cast', [ctx.name(node.inputs[0])], [o], { to: { i: ONNX_TYPE[node.attrs.to as DType] } }),
    backward: (g, n) => [n.inputs[0].dtype === 'float32' && n.dtype === 'float32' ? g : null],
  } satisfies OpRule,
};

export const ONNX_TYPE: Record<DType, number> = { float32: 1, int32: 6, int64: 7, bool: 9 };
