import type * as ort from 'onnxruntime-node';
import { emitModel, EmittedModel, ValueMeta } from '../onnx/emit';
import type { Tensor } from '../graph/tensor';
import type { NamedTensors } from '../weights/named-tensors';
import { createSession, dtypeOfData, fromOrt, RuntimeOptions, TensorValue, toOrt } from './session';

/** An ONNX model in a live session, fed and read by name. */
export class CompiledGraph {
  private constructor(
    readonly model: EmittedModel,
    private readonly session: ort.InferenceSession,
  ) {}

  static async fromModel(model: EmittedModel, options: RuntimeOptions = {}): Promise<CompiledGraph> {
    return new CompiledGraph(model, await createSession(model.bytes, options));
  }

  /** Compiles the graph that computes `outputs`; params/buffers are inputs unless `bake` is given. */
  static async compile(outputs: Record<string, Tensor>, options: RuntimeOptions & { bake?: NamedTensors } = {}): Promise<CompiledGraph> {
    return CompiledGraph.fromModel(emitModel({ outputs, bake: options.bake }), options);
  }

  get inputs(): ReadonlyMap<string, ValueMeta> {
    return this.model.inputs;
  }

  /** Runs with every graph input fed (checked against the declared shapes). */
  async run(feeds: Readonly<Record<string, TensorValue>> | ReadonlyMap<string, TensorValue>): Promise<Record<string, TensorValue>> {
    const get = (n: string) => (feeds instanceof Map ? feeds.get(n) : (feeds as Record<string, TensorValue>)[n]);
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, m] of this.model.inputs) {
      const v = get(name);
      if (!v) throw new Error(`missing input '${name}' [${m.shape.join(', ')}] ${m.dtype}`);
      const n = m.shape.reduce((a, b) => a * b, 1);
      if (v.data.length !== n || dtypeOfData(v.data) !== m.dtype) {
        throw new Error(`input '${name}': expected ${m.dtype} [${m.shape.join(', ')}], got ${dtypeOfData(v.data)} with ${v.data.length} values`);
      }
      ortFeeds[name] = toOrt({ shape: m.shape, data: v.data });
    }
    const out = await this.session.run(ortFeeds);
    const result: Record<string, TensorValue> = {};
    for (const name of this.model.outputs.keys()) result[name] = fromOrt(out[name]);
    return result;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
