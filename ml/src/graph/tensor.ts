import type { Graph } from './graph';
import type { OpKind } from '../ops/kinds';
import * as F from './functional';

export type DType = 'float32' | 'int64' | 'int32' | 'bool';
export type Attrs = Readonly<Record<string, unknown>>;
/** A tensor or a number (a number becomes a scalar constant of the other operand's dtype). */
export type TensorLike = Tensor | number;

/** A symbolic tensor: one node of a Graph with a static shape. Nodes are immutable; every method
 * adds a new node. Gradients are built as further nodes by `grad` (autodiff/grad.ts). */
export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly op: OpKind,
    readonly inputs: readonly Tensor[],
    readonly attrs: Attrs,
    readonly shape: readonly number[],
    readonly dtype: DType,
  ) {}

  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return this.shape.reduce((n, d) => n * d, 1);
  }
  toString(): string {
    return `${this.op}#${this.id}[${this.shape.join(',')}]:${this.dtype}`;
  }

  add(b: TensorLike): Tensor { return F.add(this, b); }
  sub(b: TensorLike): Tensor { return F.sub(this, b); }
  mul(b: TensorLike): Tensor { return F.mul(this, b); }
  div(b: TensorLike): Tensor { return F.div(this, b); }
  pow(b: TensorLike): Tensor { return F.pow(this, b); }
  neg(): Tensor { return F.neg(this); }
  exp(): Tensor { return F.exp(this); }
  log(): Tensor { return F.log(this); }
  sqrt(): Tensor { return F.sqrt(this); }
  abs(): Tensor { return F.abs(this); }
  square(): Tensor { return F.mul(this, this); }
  relu(): Tensor { return F.relu(this); }
  sigmoid(): Tensor { return F.sigmoid(this); }
  tanh(): Tensor { return F.tanh(this); }
  silu(): Tensor { return F.silu(this); }
  gelu(): Tensor { return F.gelu(this); }
  leakyRelu(alpha = 0.01): Tensor { return F.leakyRelu(this, alpha); }
  clip(min: number, max: number): Tensor { return F.clip(this, min, max); }
  matmul(b: Tensor): Tensor { return F.matmul(this, b); }
  reshape(shape: readonly number[]): Tensor { return F.reshape(this, shape); }
  transpose(perm?: readonly number[]): Tensor { return F.transpose(this, perm); }
  flatten(axis = 1): Tensor { return F.flatten(this, axis); }
  sum(axes?: readonly number[], keepDims = false): Tensor { return F.reduceSum(this, axes, keepDims); }
  mean(axes?: readonly number[], keepDims = false): Tensor { return F.reduceMean(this, axes, keepDims); }
  max(axes?: readonly number[], keepDims = false): Tensor { return F.reduceMax(this, axes, keepDims); }
  softmax(axis = -1): Tensor { return F.softmax(this, axis); }
  logSoftmax(axis = -1): Tensor { return F.logSoftmax(this, axis); }
  cast(dtype: DType): Tensor { return F.cast(this, dtype); }
  detach(): Tensor { return F.detach(this); }
}
