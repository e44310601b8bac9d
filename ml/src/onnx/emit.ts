import { onnx } from 'onnx-proto';
import { topoSort } from '../autodiff/grad';
import type { ConstantData } from '../graph/graph';
import type { DType, Tensor } from '../graph/tensor';
import { ONNX_TYPE } from '../ops/elementwise';
import { OPS } from '../ops/table';
import type { AttrValue, LowerCtx } from '../ops/types';
import type { NamedTensors } from '../weights/named-tensors';

/** The opset of training graphs (and of any model emitted without a choice). */
export const OPSET = 17;

export interface EmitOptions {
  /** Graph outputs by name. */
  readonly outputs: Readonly<Record<string, Tensor>>;
  /** When given, parameters and buffers become initializers with these values (inference model);
   * otherwise they are graph inputs named as registered. */
  readonly bake?: NamedTensors;
  readonly name?: string;
  /** The opset the model declares (default OPSET); lowerings adapt to it or throw OpsetError. */
  readonly opset?: number;
  /** Dimension 0 of every graph input and output is the symbolic `batch` (inference export). */
  readonly dynamicBatch?: boolean;
  /** ModelProto.metadata_props, in this order. */
  readonly metadata?: ReadonlyArray<readonly [string, string]>;
  /** ModelProto.doc_string. */
  readonly docString?: string;
}

/** The name of the symbolic batch dimension of a dynamic-batch model. */
export const BATCH_DIM = 'batch';

export interface ValueMeta {
  readonly shape: readonly number[];
  readonly dtype: DType;
}

export interface EmittedModel {
  readonly bytes: Uint8Array;
  /** Graph inputs in order, with their shapes. */
  readonly inputs: ReadonlyMap<string, ValueMeta>;
  readonly outputs: ReadonlyMap<string, ValueMeta>;
  readonly nodeCount: number;
}

/** The IR version that goes with an opset (onnx/helper.py's table): an older runtime refuses a
 * newer IR even when it knows every op. */
function irVersionOf(opset: number): number {
  return opset <= 11 ? 6 : opset <= 14 ? 7 : opset <= 18 ? 8 : opset <= 20 ? 9 : 10;
}

function rawData(a: ConstantData): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function tensorProto(name: string, shape: readonly number[], dtype: DType, data: ConstantData): onnx.ITensorProto {
  return { name, dims: [...shape], dataType: ONNX_TYPE[dtype], rawData: rawData(data) };
}

function valueInfo(name: string, m: ValueMeta, dynamicBatch: boolean): onnx.IValueInfoProto {
  const dim = m.shape.map((d, i): onnx.TensorShapeProto.IDimension => (dynamicBatch && i === 0 ? { dimParam: BATCH_DIM } : { dimValue: d }));
  return { name, type: { tensorType: { elemType: ONNX_TYPE[m.dtype], shape: { dim } } } };
}

function attribute(name: string, v: AttrValue): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in v) return { name, type: T.INT, i: v.i };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('ints' in v) return { name, type: T.INTS, ints: [...v.ints] };
  if ('floats' in v) return { name, type: T.FLOATS, floats: [...v.floats] };
  return { name, type: T.STRING, s: Buffer.from(v.s, 'utf8') };
}

const typedArray = (dtype: DType, values: readonly number[]): ConstantData =>
  dtype === 'float32' ? Float32Array.from(values)
  : dtype === 'int64' ? BigInt64Array.from(values.map((v) => BigInt(v)))
  : dtype === 'int32' ? Int32Array.from(values)
  : Uint8Array.from(values);

/** Lowers the nodes the outputs depend on to one ONNX model. */
export function emitModel(options: EmitOptions): EmittedModel {
  const opset = options.opset ?? OPSET;
  const dynamicBatch = options.dynamicBatch ?? false;
  const outputs = Object.entries(options.outputs);
  const order = topoSort(outputs.map(([, t]) => t));
  const nodes: onnx.INodeProto[] = [];
  const initializers: onnx.ITensorProto[] = [];
  const inputs = new Map<string, ValueMeta>();
  const names = new Map<number, string>();
  const byOutput = new Map<string, onnx.INodeProto>();
  const consts = new Map<string, string>();
  let fresh = 0;

  const ctx: LowerCtx = {
    opset,
    dynamicBatch,
    name: (t) => {
      const n = names.get(t.id);
      if (n === undefined) throw new Error(`emit: ${t} used before it was lowered`);
      return n;
    },
    emit: (opType, ins, outs, attrs = {}) => {
      const node: onnx.INodeProto = {
        opType,
        input: [...ins],
        output: [...outs],
        name: `${opType}_${nodes.length}`,
        attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
      };
      nodes.push(node);
      for (const o of outs) byOutput.set(o, node);
      return node;
    },
    ints: (values) => constant('int64', [values.length], values),
    floats: (values) => constant('float32', [values.length], values),
    scalar: (value, dtype) => constant(dtype, [], [value]),
    fresh: (hint) => `${hint}_${fresh++}`,
    producer: (t) => {
      const node = byOutput.get(ctx.name(t));
      if (!node) throw new Error(`emit: ${t} has no producing node`);
      return node;
    },
  };

  function constant(dtype: DType, shape: readonly number[], values: readonly number[]): string {
    const key = `${dtype}:${shape.join(',')}:${values.join(',')}`;
    let name = consts.get(key);
    if (!name) {
      name = `c${consts.size}_${dtype}`;
      consts.set(key, name);
      initializers.push(tensorProto(name, shape, dtype, typedArray(dtype, values)));
    }
    return name;
  }

  for (const node of order) {
    const out = `t${node.id}`;
    if (node.op === 'input' || node.op === 'param' || node.op === 'buffer') {
      const name = node.attrs.name as string;
      names.set(node.id, name);
      const baked = node.op !== 'input' ? options.bake?.get(name) : undefined;
      if (node.op !== 'input' && options.bake && !baked) throw new Error(`emit: no value for '${name}' to bake into the model`);
      if (baked) initializers.push(tensorProto(name, node.shape, 'float32', baked.data));
      else if (!inputs.has(name)) inputs.set(name, { shape: node.shape, dtype: node.dtype });
      continue;
    }
    names.set(node.id, out);
    if (node.op === 'constant') {
      initializers.push(tensorProto(out, node.shape, node.dtype, node.attrs.value as ConstantData));
      continue;
    }
    OPS[node.op].lower(ctx, node, out);
  }

  const outMeta = new Map<string, ValueMeta>();
  for (const [name, t] of outputs) {
    ctx.emit('Identity', [ctx.name(t)], [name]);
    outMeta.set(name, { shape: t.shape, dtype: t.dtype });
  }

  const model: onnx.IModelProto = {
    irVersion: irVersionOf(opset),
    producerName: 'fedciss-ml',
    opsetImport: [{ domain: '', version: opset }],
    docString: options.docString,
    metadataProps: (options.metadata ?? []).map(([key, value]) => ({ key, value })),
    graph: {
      name: options.name ?? 'graph',
      node: nodes,
      initializer: initializers,
      input: [...inputs].map(([n, m]) => valueInfo(n, m, dynamicBatch)),
      output: [...outMeta].map(([n, m]) => valueInfo(n, m, dynamicBatch)),
    },
  };
  return { bytes: onnx.ModelProto.encode(model).finish(), inputs, outputs: outMeta, nodeCount: nodes.length };
}
