import { OPS } from '../ops/table';
import type { OpKind } from '../ops/kinds';
import type { ParamInit } from '../init/initializers';
import { Attrs, DType, Tensor } from './tensor';

export class ShapeError extends Error {
  override name = 'ShapeError';
}

export type ConstantData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: ParamInit;
}

export interface GraphOptions {
  /** Training graphs use batch statistics and record running-statistics updates. */
  readonly training?: boolean;
}

const fmt = (s: readonly number[]) => `[${s.join(', ')}]`;

/** The builder of one static-shaped computation. A model is a function of a Graph: the same
 * function builds the training graph (training: true) and the inference graph. Parameters and
 * buffers (non-trained state such as BatchNorm running statistics) are registered by name. */
export class Graph {
  readonly training: boolean;
  readonly inputs = new Map<string, Tensor>();
  readonly params = new Map<string, Tensor>();
  readonly paramSpecs = new Map<string, ParamSpec>();
  readonly buffers = new Map<string, Tensor>();
  readonly bufferSpecs = new Map<string, ParamSpec>();
  readonly bufferUpdates = new Map<string, Tensor>();
  private nextId = 0;
  private prefixes: string[] = [];

  constructor(options: GraphOptions = {}) {
    this.training = options.training ?? false;
  }

  /** Runs `body` with names of parameters and buffers prefixed by `prefix.`. */
  scope<T>(prefix: string, body: () => T): T {
    this.prefixes.push(prefix);
    try {
      return body();
    } finally {
      this.prefixes.pop();
    }
  }

  private qualified(name: string): string {
    return [...this.prefixes, name].join('.');
  }

  input(name: string, shape: readonly number[], dtype: DType = 'float32'): Tensor {
    if (this.inputs.has(name)) throw new ShapeError(`input '${name}' is declared twice`);
    const t = this.node('input', [], { name, shape: [...shape], dtype });
    this.inputs.set(name, t);
    return t;
  }

  /** A trainable parameter. Registering the same name again with the same shape shares it. */
  param(name: string, shape: readonly number[], init: ParamInit = 'he'): Tensor {
    const full = this.qualified(name);
    const existing = this.params.get(full);
    if (existing) {
      if (fmt(existing.shape) !== fmt(shape)) {
        throw new ShapeError(`param '${full}': registered as ${fmt(existing.shape)}, asked again as ${fmt(shape)}`);
      }
      return existing;
    }
    const t = this.node('param', [], { name: full, shape: [...shape], dtype: 'float32' });
    this.params.set(full, t);
    this.paramSpecs.set(full, { name: full, shape: [...shape], init });
    return t;
  }

  /** Non-trainable state saved with the weights (e.g. running mean); see `assign`. */
  buffer(name: string, shape: readonly number[], init: ParamInit = 'zeros'): Tensor {
    const full = this.qualified(name);
    const existing = this.buffers.get(full);
    if (existing) return existing;
    const t = this.node('buffer', [], { name: full, shape: [...shape], dtype: 'float32' });
    this.buffers.set(full, t);
    this.bufferSpecs.set(full, { name: full, shape: [...shape], init });
    return t;
  }

  /** Records a new value for a buffer, written back after a training step (no gradient flows). */
  assign(buffer: Tensor, value: Tensor): void {
    const name = buffer.attrs.name as string;
    if (buffer.op !== 'buffer' || this.buffers.get(name) !== buffer) throw new ShapeError('assign: not a buffer of this graph');
    if (fmt(value.shape) !== fmt(buffer.shape)) {
      throw new ShapeError(`assign '${name}': buffer is ${fmt(buffer.shape)}, value is ${fmt(value.shape)}`);
    }
    if (this.training) this.bufferUpdates.set(name, value.detach());
  }

  constant(data: ConstantData | readonly number[], shape: readonly number[], dtype?: DType): Tensor {
    const dt: DType = dtype ?? (data instanceof BigInt64Array ? 'int64' : data instanceof Int32Array ? 'int32' : data instanceof Uint8Array ? 'bool' : 'float32');
    let value: ConstantData;
    if (Array.isArray(data) || !ArrayBuffer.isView(data) || dt !== dtypeOf(data as ConstantData)) {
      const arr = Array.from(data as ArrayLike<number | bigint>, Number);
      value =
        dt === 'int64' ? BigInt64Array.from(arr.map((v) => BigInt(Math.trunc(v))))
        : dt === 'int32' ? Int32Array.from(arr)
        : dt === 'bool' ? Uint8Array.from(arr)
        : Float32Array.from(arr);
    } else value = data as ConstantData;
    const n = shape.reduce((a, b) => a * b, 1);
    if (value.length !== n) throw new ShapeError(`constant: shape ${fmt(shape)} holds ${n} values, got ${value.length}`);
    return this.node('constant', [], { value, shape: [...shape], dtype: dt });
  }

  scalar(value: number, dtype: DType = 'float32'): Tensor {
    return this.constant([value], [], dtype);
  }

  /** Adds a primitive node, running its shape rule; shape errors name the op and the shapes. */
  node(op: OpKind, inputs: readonly Tensor[], attrs: Attrs = {}): Tensor {
    for (const t of inputs) {
      if (t.graph !== this) throw new ShapeError(`${op}: an input belongs to another graph`);
    }
    let meta;
    try {
      meta = OPS[op].shape(inputs, attrs);
    } catch (e) {
      const shapes = inputs.map((t) => `${fmt(t.shape)}:${t.dtype}`).join(', ');
      throw new ShapeError(`${op}(${shapes}): ${(e as Error).message}`);
    }
    for (const d of meta.shape) {
      if (!Number.isInteger(d) || d < 0) {
        const shapes = inputs.map((t) => fmt(t.shape)).join(', ');
        throw new ShapeError(`${op}(${shapes}): would give the invalid shape ${fmt(meta.shape)}`);
      }
    }
    return new Tensor(this, this.nextId++, op, inputs, attrs, meta.shape, meta.dtype);
  }
}

function dtypeOf(a: ConstantData): DType {
  return a instanceof BigInt64Array ? 'int64' : a instanceof Int32Array ? 'int32' : a instanceof Uint8Array ? 'bool' : 'float32';
}
