import type { onnx } from 'onnx-proto';
import type { Attrs, DType, Tensor } from '../graph/tensor';

/** What a shape rule sees of an input: its static shape and element type. */
export interface TensorMeta {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export type AttrValue = { i: number } | { f: number } | { ints: readonly number[] } | { floats: readonly number[] } | { s: string };

/** A lowering cannot express its op at the target opset (the exporter then tries a higher one). */
export class OpsetError extends Error {
  override name = 'OpsetError';
  constructor(readonly needs: number, message: string) {
    super(message);
  }
}

/** What a lowering may do while turning one node into ONNX nodes. */
export interface LowerCtx {
  /** The ONNX opset the model declares: lowerings pick the form of their op valid there. */
  readonly opset: number;
  /** The batch dimension (dimension 0 of the graph's inputs and outputs) is symbolic: shapes a
   * lowering writes as constants must not pin it (Reshape uses 0 to copy it, Expand 1). */
  readonly dynamicBatch: boolean;
  /** The ONNX value name of an already-lowered tensor. */
  name(t: Tensor): string;
  /** Adds an ONNX node; returns it so that a later lowering may extend its outputs. */
  emit(opType: string, inputs: readonly string[], outputs: readonly string[], attrs?: Record<string, AttrValue>): onnx.INodeProto;
  /** An int64 1-D constant (deduplicated), e.g. for shapes, axes, pads. */
  ints(values: readonly number[]): string;
  /** A float32 1-D constant (deduplicated), e.g. a normalisation's scale. */
  floats(values: readonly number[]): string;
  /** A scalar constant of the given element type. */
  scalar(value: number, dtype: DType): string;
  /** A fresh value name for intermediate values. */
  fresh(hint: string): string;
  /** The ONNX node that produced a tensor (for ops whose gradient reuses a second output). */
  producer(t: Tensor): onnx.INodeProto;
}

/** The gradient of one node: for every input, its gradient (any shape that broadcasts to the
 * input's: the engine reduces it), or null where the input gets none. */
export type BackwardRule = (gradOut: Tensor, node: Tensor) => (Tensor | null)[];

/** Everything about one primitive, side by side: the shape rule (throws a plain message on bad
 * shapes; the graph adds the op name and shapes), the ONNX lowering and the backward rule. */
export interface OpRule {
  readonly shape: (inputs: readonly TensorMeta[], attrs: Attrs) => TensorMeta;
  readonly lower: (ctx: LowerCtx, node: Tensor, out: string) => void;
  readonly backward: BackwardRule;
}
