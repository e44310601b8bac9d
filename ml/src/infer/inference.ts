/** The inference graph: the same model function built with training: false, weights baked in as
 * initializers. Its bytes are the exported .onnx model, runnable by any ONNX Runtime. */
import { Graph } from '../graph/graph';
import type { DType, Tensor } from '../graph/tensor';
import { emitModel } from '../onnx/emit';
import { OpsetError } from '../ops/types';
import { CompiledGraph } from '../runtime/compiled';
import { createSession, fromOrt, RuntimeOptions, TensorValue, toOrt } from '../runtime/session';
import type { NamedTensors } from '../weights/named-tensors';

export type InferenceModel = (g: Graph, inputs: Readonly<Record<string, Tensor>>) => Readonly<Record<string, Tensor>>;

export interface InferenceSpec {
  readonly model: InferenceModel;
  readonly inputs: Readonly<Record<string, { readonly shape: readonly number[]; readonly dtype?: DType }>>;
  readonly weights: NamedTensors;
}

export function buildInferenceGraph(spec: InferenceSpec): { graph: Graph; outputs: Readonly<Record<string, Tensor>> } {
  const g = new Graph({ training: false });
  const inputs: Record<string, Tensor> = {};
  for (const [name, s] of Object.entries(spec.inputs)) inputs[name] = g.input(name, s.shape, s.dtype ?? 'float32');
  return { graph: g, outputs: spec.model(g, inputs) };
}

/** The oldest and newest opsets the exporter writes. 11 is its floor: Resize, Pad and Clip took
 * their current input forms there, and every runtime of the last years reads it. */
export const MIN_EXPORT_OPSET = 11;
export const MAX_EXPORT_OPSET = 21;

export interface ExportOptions {
  /** The opset to declare; default: the smallest from MIN_EXPORT_OPSET up that expresses every op. */
  readonly opset?: number;
  /** Dimension 0 of every input and output becomes the symbolic `batch` (the spec's static batch
   * size is only the one the graph was traced at). */
  readonly dynamicBatch?: boolean;
  readonly metadata?: ReadonlyArray<readonly [string, string]>;
  readonly docString?: string;
}

export interface ExportedModel {
  readonly bytes: Uint8Array;
  readonly opset: number;
}

/** ONNX bytes of the model with its weights inside. */
export function exportInferenceModel(spec: InferenceSpec, options: ExportOptions = {}): Uint8Array {
  return exportModel(spec, options).bytes;
}

/** The model at the chosen opset, or at the smallest one every lowering can express. */
export function exportModel(spec: InferenceSpec, options: ExportOptions = {}): ExportedModel {
  const { outputs } = buildInferenceGraph(spec);
  const emit = (opset: number) =>
    emitModel({ outputs, bake: spec.weights, name: 'inference', opset, dynamicBatch: options.dynamicBatch, metadata: options.metadata, docString: options.docString }).bytes;
  if (options.opset !== undefined) {
    const v = options.opset;
    if (!Number.isInteger(v) || v < MIN_EXPORT_OPSET || v > MAX_EXPORT_OPSET) {
      throw new Error(`opset ${v} is outside what the exporter writes (${MIN_EXPORT_OPSET}..${MAX_EXPORT_OPSET})`);
    }
    try {
      return { bytes: emit(v), opset: v };
    } catch (e) {
      if (e instanceof OpsetError) throw new Error(`the model cannot be written at opset ${v}: ${e.message}; use opset ${e.needs} or later`);
      throw e;
    }
  }
  let v = MIN_EXPORT_OPSET;
  for (;;) {
    try {
      return { bytes: emit(v), opset: v };
    } catch (e) {
      if (!(e instanceof OpsetError) || e.needs > MAX_EXPORT_OPSET || v >= MAX_EXPORT_OPSET) throw e;
      v = Math.max(v + 1, e.needs);
    }
  }
}

/** Runs an inference model (exported bytes, or a spec compiled on the spot). */
export class InferenceRunner {
  private constructor(
    private readonly runFn: (feeds: Readonly<Record<string, TensorValue>>) => Promise<Record<string, TensorValue>>,
    private readonly releaseFn: () => Promise<void>,
    /** Input names in the model's order. */
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  static async create(spec: InferenceSpec, runtime: RuntimeOptions = {}): Promise<InferenceRunner> {
    const { outputs } = buildInferenceGraph(spec);
    const c = await CompiledGraph.fromModel(emitModel({ outputs, bake: spec.weights, name: 'inference' }), runtime);
    return new InferenceRunner((f) => c.run(f), () => c.release(), [...c.inputs.keys()], Object.keys(outputs));
  }

  /** A runner on exported bytes in a fresh session. */
  static async fromBytes(bytes: Uint8Array, runtime: RuntimeOptions = {}): Promise<InferenceRunner> {
    const session = await createSession(bytes, runtime);
    const run = async (feeds: Readonly<Record<string, TensorValue>>) => {
      const ortFeeds: Record<string, ReturnType<typeof toOrt>> = {};
      for (const name of session.inputNames) {
        if (!feeds[name]) throw new Error(`missing input '${name}'`);
        ortFeeds[name] = toOrt(feeds[name]);
      }
      const out = await session.run(ortFeeds);
      const result: Record<string, TensorValue> = {};
      for (const name of session.outputNames) result[name] = fromOrt(out[name]);
      return result;
    };
    return new InferenceRunner(run, () => session.release(), session.inputNames, session.outputNames);
  }

  run(feeds: Readonly<Record<string, TensorValue>>): Promise<Record<string, TensorValue>> {
    return this.runFn(feeds);
  }

  release(): Promise<void> {
    return this.releaseFn();
  }
}
