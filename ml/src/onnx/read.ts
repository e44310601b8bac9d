/** Reads back what emit.ts and the segmenter export write into an .onnx file: the initializers (the
 * baked weights, by name) and the fedciss metadata (classes, input normalisation, provenance, and
 * the segmenter's architecture). So an exported model can be imported as a federation's start. */
import { onnx } from 'onnx-proto';
import { readModelMetadata, type ModelMetadata } from '../infer/model-metadata';
import type { NamedTensors } from '../weights/named-tensors';

/** metadata_props key under which the segmenter export writes its architecture (SegmenterConfig as
 * JSON). Not part of ModelMetadata: files exported before it existed still read as deployable models. */
export const SEGMENTER_CONFIG_KEY = 'fedciss.segmenter';

export class OnnxReadError extends Error {
  override name = 'OnnxReadError';
}

export interface OnnxModelFile {
  /** The fedciss metadata; null when the file has no `fedciss.*` metadata at all (not exported by fedciss). */
  readonly metadata: ModelMetadata | null;
  /** The architecture under SEGMENTER_CONFIG_KEY as parsed JSON, unchecked (parseSegmenterConfig checks
   * it); undefined when the file has none (exported before the key was written). */
  readonly segmenter: unknown;
  /** Initializer names in file order (weights and the graph's own constants). */
  readonly initializerNames: readonly string[];
  /** The named initializers as float32 tensors, decoded on demand. Names the file lacks are left out
   * (the caller's check against the architecture names them); one of another element type is refused. */
  weights(names: Iterable<string>): NamedTensors;
}

const TYPE_NAMES = onnx.TensorProto.DataType as unknown as Record<number, string>;

/** Decodes .onnx bytes; refuses bytes that are no ONNX model (protobuf errors, no graph). */
export function readOnnxModel(bytes: Uint8Array): OnnxModelFile {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxReadError(`not an ONNX model (${(e as Error).message})`);
  }
  // Protobuf accepts many byte strings (an empty file decodes to an empty message): a model has a graph.
  if (!model.graph) throw new OnnxReadError('not an ONNX model (no graph)');
  const props = model.metadataProps ?? [];
  const fedciss = props.some((p) => p.key?.startsWith('fedciss.'));
  // readModelMetadata decodes the bytes once more: a small cost next to the tensors, and one reader of the metadata.
  const metadata = fedciss ? readModelMetadata(bytes) : null;
  const raw = props.find((p) => p.key === SEGMENTER_CONFIG_KEY)?.value;
  let segmenter: unknown;
  if (raw !== undefined && raw !== null) {
    try {
      segmenter = JSON.parse(raw);
    } catch {
      throw new OnnxReadError(`metadata '${SEGMENTER_CONFIG_KEY}' is not valid JSON`);
    }
  }
  const byName = new Map((model.graph.initializer ?? []).map((t) => [t.name ?? '', t]));
  return {
    metadata,
    segmenter,
    initializerNames: [...byName.keys()],
    weights(names) {
      const out: NamedTensors = new Map();
      for (const name of names) {
        const t = byName.get(name);
        if (t) out.set(name, floatTensor(t));
      }
      return out;
    },
  };
}

/** A FLOAT initializer's values, from raw_data (little-endian, as emit.ts writes) or float_data. */
function floatTensor(t: onnx.ITensorProto): { shape: number[]; data: Float32Array } {
  const name = t.name ?? '';
  if (t.dataType !== onnx.TensorProto.DataType.FLOAT) {
    throw new OnnxReadError(`initializer '${name}' holds ${TYPE_NAMES[t.dataType ?? 0] ?? `element type ${t.dataType}`} values: only float32 weights can be imported`);
  }
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) {
    throw new OnnxReadError(`initializer '${name}' keeps its values in an external file: only self-contained models can be imported`);
  }
  const shape = (t.dims ?? []).map(Number);
  const count = shape.reduce((n, d) => n * d, 1);
  let data: Float32Array;
  if (t.rawData && t.rawData.length > 0) {
    if (t.rawData.length !== count * 4) throw new OnnxReadError(`initializer '${name}' [${shape.join(', ')}] needs ${count * 4} bytes, raw_data has ${t.rawData.length}`);
    // A byte copy (bit-exact, NaN payloads included) into an aligned buffer; Float32Array is
    // little-endian on every platform Node runs on.
    data = new Float32Array(count);
    new Uint8Array(data.buffer).set(t.rawData);
  } else {
    const values = t.floatData ?? [];
    if (values.length !== count) throw new OnnxReadError(`initializer '${name}' [${shape.join(', ')}] needs ${count} values, float_data has ${values.length}`);
    data = Float32Array.from(values);
  }
  return { shape, data };
}
