/**
 * The model file `coordinator models import` reads, in either format, as one typed thing for the one
 * checking path of model-import.ts (architecture, tensors, roster):
 * - `.safetensors` with the metadata the platform writes (`kind`, `config`): a segmenter or a generator;
 * - `.onnx` exported by `coordinator models export` (or GET /api/models/ID/model.onnx): a segmenter
 *   whose classes, input normalisation and architecture are in its metadata_props. An inference model
 *   has no projection head (only the contrastive loss uses it): those tensors start fresh.
 */
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import {
  createSegmenterWeights, decodeSafetensors, parseSegmenterConfig, readOnnxModel, segmenterInputSpec, segmenterTrainingOnlyNames,
  type ModelClass, type ModelInputSpec, type NamedTensors, type SegmenterConfig,
} from '@fedciss/ml';
import type { ModelKind } from './model-versions.service';

export class ModelImportError extends Error {
  override readonly name = 'ModelImportError';
}

export interface ParsedModel {
  kind: ModelKind;
  weights: NamedTensors;
  /** The architecture as JSON, unchecked: model-import.ts parses it with ml's parsers. */
  config: unknown;
  /** Where `config` comes from, for error messages. */
  configSource: string;
  /** Classes by output channel, background first, when the file names them (.onnx). */
  classes?: readonly ModelClass[];
  /** Tensors the file does not carry, initialised fresh (.onnx: the projection head). */
  fresh: readonly string[];
}

/** Seed of the tensors an .onnx import initialises fresh (the same on every import of a file). */
const FRESH_SEED = 1;

/** Reads and decodes the file by its extension. `configured` is the architecture to assume for an
 * .onnx exported before the export wrote its architecture (the federation's, or the training settings'). */
export function readModelFile(file: string, kind: ModelKind | undefined, configured: SegmenterConfig): ParsedModel {
  const ext = extname(file).toLowerCase();
  if (ext !== '.safetensors' && ext !== '.onnx') throw new ModelImportError(`${file}: only .safetensors or .onnx files can be imported (got '${ext || 'no extension'}')`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw new ModelImportError(`${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return ext === '.onnx' ? readOnnx(file, bytes, kind, configured) : readSafetensors(file, bytes, kind);
}

function readSafetensors(file: string, bytes: Buffer, kind: ModelKind | undefined): ParsedModel {
  let decoded: ReturnType<typeof decodeSafetensors>;
  try {
    decoded = decodeSafetensors(bytes);
  } catch (e) {
    throw new ModelImportError(`${file}: not a valid safetensors file (${(e as Error).message})`);
  }
  const { tensors, metadata } = decoded;
  const own = metadata.kind;
  if (own !== undefined && own !== 'segmenter' && own !== 'generator') throw new ModelImportError(`${file}: metadata kind '${own}' is neither segmenter nor generator`);
  if (kind && own && own !== kind) throw new ModelImportError(`${file}: holds a ${own}, not a ${kind}`);
  let config: unknown = {};
  if (metadata.config) {
    try {
      config = JSON.parse(metadata.config);
    } catch {
      throw new ModelImportError(`${file}: metadata 'config' is not JSON`);
    }
  }
  return { kind: kind ?? (own as ModelKind | undefined) ?? 'segmenter', weights: tensors, config, configSource: 'the architecture stored with it', fresh: [] };
}

function readOnnx(file: string, bytes: Buffer, kind: ModelKind | undefined, configured: SegmenterConfig): ParsedModel {
  if (kind === 'generator') throw new ModelImportError(`${file}: an .onnx file holds a segmenter (only segmenters export to ONNX); import a generator from its .safetensors`);
  let onnx: ReturnType<typeof readOnnxModel>;
  try {
    onnx = readOnnxModel(bytes);
  } catch (e) {
    throw new ModelImportError(`${file}: ${(e as Error).message}`);
  }
  const meta = onnx.metadata;
  if (!meta) {
    throw new ModelImportError(
      `${file}: has no fedciss metadata (classes, input normalisation, architecture): only an .onnx exported by ` +
        '`coordinator models export` (or the console\'s Models page) can be imported; weights from elsewhere go in a .safetensors ' +
        'with the platform\'s tensor names, metadata kind and config, and --classes',
    );
  }
  const stored = onnx.segmenter !== undefined;
  const configSource = stored ? 'the architecture stored with it' : `the configured architecture (the file, exported before fedciss.segmenter was written, records none) ${JSON.stringify(configured)}`;
  let config: SegmenterConfig;
  try {
    config = stored ? parseSegmenterConfig(onnx.segmenter, "metadata 'fedciss.segmenter'") : configured;
  } catch (e) {
    throw new ModelImportError(`${file}: ${(e as Error).message}`);
  }
  // The federation feeds pixel / 255 at the configured size: a model that expects another input would be trained wrong.
  const want = segmenterInputSpec(config);
  if (describeInput(meta.input) !== describeInput(want)) {
    throw new ModelImportError(`${file}: the model expects its input as ${describeInput(meta.input)}, ${configSource} feeds ${describeInput(want)}`);
  }
  const numClasses = meta.classes.length;
  const fresh = segmenterTrainingOnlyNames(config, numClasses);
  const freshSet = new Set(fresh);
  const all = createSegmenterWeights(config, numClasses, FRESH_SEED);
  let weights: NamedTensors;
  try {
    weights = onnx.weights([...all.keys()].filter((n) => !freshSet.has(n)));
  } catch (e) {
    throw new ModelImportError(`${file}: ${(e as Error).message}`);
  }
  for (const n of fresh) weights.set(n, all.get(n)!);
  return { kind: 'segmenter', weights, config, configSource, classes: meta.classes, fresh };
}

function describeInput(i: ModelInputSpec): string {
  return `${i.layout} ${i.colorOrder} [${i.channels}, ${i.height}, ${i.width}], (pixel × ${i.scale} − [${i.mean.join(', ')}]) / [${i.std.join(', ')}]`;
}
