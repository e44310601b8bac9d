/** The segmentation network of the class-incremental recipe: a U-Net (conv-GroupNorm-ReLU
 * blocks, max-pool down, transposed-conv up, skip concatenation) with a 1x1 classification head,
 * a pixel-embedding projection head for the contrastive loss, and its intermediate features
 * exposed for POD feature distillation. GroupNorm by default: it has no running statistics to
 * average across sites and behaves the same at batch size 1 (BatchNorm is selectable).
 *
 * Parameter names are a pure function of the configuration (`enc0.conv1.weight`, `head.bias`, ...),
 * so weights from different sites match by name. Only `head.weight` / `head.bias` depend on the
 * number of classes (see growHead). */
import * as F from '../graph/functional';
import { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { initialise, seededRandom } from '../init/initializers';
import { exportModel } from '../infer/inference';
import { metadataProps, type ModelInputSpec, type ModelMetadata } from '../infer/model-metadata';
import { topoSort } from '../autodiff/grad';
import { SEGMENTER_CONFIG_KEY } from '../onnx/read';
import { batchNorm, conv2dLayer, convTranspose2dLayer, groupNorm } from '../nn/layers';
import type { NamedTensors } from '../weights/named-tensors';

/** Weights that do not fit the configuration (a missing tensor or a shape mismatch); names the tensor. */
export class SegmenterWeightsError extends Error {
  override name = 'SegmenterWeightsError';
  constructor(readonly tensor: string, message: string) {
    super(message);
  }
}

export interface SegmenterConfig {
  /** Image channels (3: RGB in [0, 1]). */
  readonly inChannels: number;
  /** Channels of the first level; level i has width * 2^i. */
  readonly width: number;
  /** Number of down-samplings (levels - 1). Input height and width must be divisible by 2^depth. */
  readonly depth: number;
  /** [height, width] the network is compiled for (static shapes). */
  readonly inputSize: readonly [number, number];
  /** Dimension of the pixel embeddings of the projection head. */
  readonly embedDim: number;
  /** 'group' (default, federation-friendly) or 'batch'. */
  readonly norm: 'group' | 'batch';
  /** Groups of GroupNorm (capped by the channel count). */
  readonly groups: number;
}

/** CPU-sized default: 128x160 (DSAD's 5:4), widths 16-32-64-128, ~0.5 M parameters. */
export const DEFAULT_SEGMENTER_CONFIG: SegmenterConfig = {
  inChannels: 3,
  width: 16,
  depth: 3,
  inputSize: [128, 160],
  embedDim: 32,
  norm: 'group',
  groups: 4,
};

export function segmenterConfig(overrides: Partial<SegmenterConfig> = {}): SegmenterConfig {
  const c = { ...DEFAULT_SEGMENTER_CONFIG, ...overrides };
  validateSegmenterConfig(c);
  return c;
}

/** A segmenter configuration from untyped data (a model file's JSON metadata): every key optional
 * (defaults fill in), each of its own type, no unknown key; the error names the key and `where`. */
export function parseSegmenterConfig(raw: unknown, where: string): SegmenterConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where}: the segmenter configuration is not an object`);
  const o: Readonly<Record<string, unknown>> = { ...raw };
  for (const k of Object.keys(o)) if (!(k in DEFAULT_SEGMENTER_CONFIG)) throw new Error(`${where}: unknown segmenter setting '${k}'`);
  const c: { -readonly [K in keyof SegmenterConfig]?: SegmenterConfig[K] } = {};
  for (const k of ['inChannels', 'width', 'depth', 'embedDim', 'groups'] as const) {
    const v = o[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isInteger(v)) throw new Error(`${where}: segmenter ${k} must be an integer, got ${JSON.stringify(v)}`);
    c[k] = v;
  }
  const size = o.inputSize;
  if (size !== undefined) {
    if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => typeof d === 'number' && Number.isInteger(d))) {
      throw new Error(`${where}: segmenter inputSize must be [height, width], got ${JSON.stringify(size)}`);
    }
    c.inputSize = [size[0], size[1]];
  }
  const norm = o.norm;
  if (norm !== undefined) {
    if (norm !== 'group' && norm !== 'batch') throw new Error(`${where}: segmenter norm must be 'group' or 'batch', got ${JSON.stringify(norm)}`);
    c.norm = norm;
  }
  return segmenterConfig(c);
}

export function validateSegmenterConfig(c: SegmenterConfig): void {
  const f = 2 ** c.depth;
  if (c.inputSize[0] % f !== 0 || c.inputSize[1] % f !== 0) {
    throw new Error(`segmenter: input ${c.inputSize.join('x')} is not divisible by 2^depth = ${f}`);
  }
  if (!Number.isInteger(c.width) || c.width < 1 || !Number.isInteger(c.depth) || c.depth < 0) {
    throw new Error(`segmenter: width ${c.width} and depth ${c.depth} must be positive integers`);
  }
  if (c.norm === 'group' && c.width % Math.min(c.groups, c.width) !== 0) {
    throw new Error(`segmenter: width ${c.width} does not split into ${c.groups} groups`);
  }
}

export interface SegmenterOutputs {
  /** [N, numClasses, H, W]. */
  readonly logits: Tensor;
  /** Pixel embeddings [N, embedDim, H, W] (not normalised). */
  readonly embeddings: Tensor;
  /** Intermediate features for distillation, by name: `enc0`..`enc{depth}` (the last is the
   * bottleneck) and `dec{depth-1}`..`dec0` (dec0 is the full-resolution decoder output). */
  readonly features: Readonly<Record<string, Tensor>>;
}

/** Names of the exposed features, in order. */
export function featureNames(c: SegmenterConfig): string[] {
  const names: string[] = [];
  for (let i = 0; i <= c.depth; i++) names.push(`enc${i}`);
  for (let i = c.depth - 1; i >= 0; i--) names.push(`dec${i}`);
  return names;
}

function block(g: Graph, c: SegmenterConfig, name: string, x: Tensor, ch: number): Tensor {
  const norm = (n: string, t: Tensor) => (c.norm === 'batch' ? batchNorm(g, n, t) : groupNorm(g, n, t, Math.min(c.groups, ch)));
  const a = F.relu(norm(`${name}.norm1`, conv2dLayer(g, `${name}.conv1`, x, ch, { bias: false })));
  return F.relu(norm(`${name}.norm2`, conv2dLayer(g, `${name}.conv2`, a, ch, { bias: false })));
}

/** The forward pass on image [N, inChannels, H, W]. Builds the same parameters on any graph. */
export function segmenterForward(g: Graph, image: Tensor, c: SegmenterConfig, numClasses: number): SegmenterOutputs {
  if (image.rank !== 4 || image.shape[1] !== c.inChannels) {
    throw new Error(`segmenter: image must be [N, ${c.inChannels}, H, W], got [${image.shape.join(', ')}]`);
  }
  const features: Record<string, Tensor> = {};
  const skips: Tensor[] = [];
  let h = image;
  for (let i = 0; i <= c.depth; i++) {
    if (i > 0) h = F.maxPool2d(h, { kernel: 2 });
    h = block(g, c, `enc${i}`, h, c.width * 2 ** i);
    features[`enc${i}`] = h;
    skips.push(h);
  }
  for (let i = c.depth - 1; i >= 0; i--) {
    const up = convTranspose2dLayer(g, `up${i}`, h, c.width * 2 ** i);
    h = block(g, c, `dec${i}`, F.concat([up, skips[i]], 1), c.width * 2 ** i);
    features[`dec${i}`] = h;
  }
  const logits = conv2dLayer(g, 'head', h, numClasses, { kernel: 1, init: 'xavier' });
  const p = F.relu(conv2dLayer(g, 'proj.conv1', h, c.width, { kernel: 1 }));
  const embeddings = conv2dLayer(g, 'proj.conv2', p, c.embedDim, { kernel: 1, init: 'xavier' });
  return { logits, embeddings, features };
}

/** Parameter and buffer specifications (name, shape, initialiser) in a deterministic order. */
export function segmenterSpecs(c: SegmenterConfig, numClasses: number) {
  const g = new Graph({ training: true });
  segmenterForward(g, g.input('image', [1, c.inChannels, c.inputSize[0], c.inputSize[1]]), c, numClasses);
  return [...g.paramSpecs.values(), ...g.bufferSpecs.values()];
}

/** Names of the trainable parameters (no buffers), in registration order. */
export function segmenterParamNames(c: SegmenterConfig, numClasses: number): string[] {
  const g = new Graph({ training: true });
  segmenterForward(g, g.input('image', [1, c.inChannels, c.inputSize[0], c.inputSize[1]]), c, numClasses);
  return [...g.params.keys()];
}

/** Fresh weights from a seed: two sites with the same (config, numClasses, seed) get identical weights. */
export function createSegmenterWeights(c: SegmenterConfig, numClasses: number, seed = 1): NamedTensors {
  validateSegmenterConfig(c);
  const rand = seededRandom(seed);
  const w: NamedTensors = new Map();
  for (const s of segmenterSpecs(c, numClasses)) w.set(s.name, { shape: [...s.shape], data: initialise(s.shape, s.init, rand) });
  return w;
}

/** The number of classes a weight set predicts (rows of `head.bias`). */
export function classCountOf(weights: NamedTensors): number {
  const b = weights.get('head.bias');
  if (!b) throw new SegmenterWeightsError('head.bias', "weights have no 'head.bias': not a segmenter");
  return b.shape[0];
}

/** Checks that the weights have exactly the tensors (names and shapes) the configuration declares. */
export function checkSegmenterWeights(weights: NamedTensors, c: SegmenterConfig, numClasses: number): void {
  for (const s of segmenterSpecs(c, numClasses)) {
    const w = weights.get(s.name);
    if (!w) throw new SegmenterWeightsError(s.name, `segmenter weights lack '${s.name}' [${s.shape.join(', ')}]`);
    if (w.shape.join(',') !== s.shape.join(',')) {
      throw new SegmenterWeightsError(s.name, `segmenter weight '${s.name}' is [${w.shape.join(', ')}], the configuration declares [${s.shape.join(', ')}]`);
    }
  }
}

/** Parameters and buffers the inference model (the logits) does not use, so the exported .onnx does
 * not carry them: the projection head, which only the contrastive loss trains. */
export function segmenterTrainingOnlyNames(c: SegmenterConfig, numClasses: number): string[] {
  const g = new Graph({ training: false });
  const { logits } = segmenterForward(g, g.input('image', [1, c.inChannels, c.inputSize[0], c.inputSize[1]]), c, numClasses);
  const used = new Set(topoSort([logits]).filter((t) => t.op === 'param' || t.op === 'buffer').map((t) => t.attrs.name as string));
  return segmenterSpecs(c, numClasses).map((s) => s.name).filter((n) => !used.has(n));
}

/** What the exported file's metadata needs besides what the export itself knows (input spec,
 * opset, batch). */
export type SegmenterProvenance = Omit<ModelMetadata, 'input' | 'opset' | 'dynamicBatch'>;

export interface SegmenterExportOptions {
  /** Default: the smallest opset that expresses the model (see exportModel). */
  readonly opset?: number;
  /** Classes and provenance, written into the file's metadata_props. */
  readonly provenance?: SegmenterProvenance;
}

export interface ExportedSegmenter {
  readonly bytes: Uint8Array;
  readonly opset: number;
  /** The metadata inside the file (when provenance was given). */
  readonly metadata?: ModelMetadata;
}

/** How the exported model wants its input: RGB pixel / 255 at the configured size. */
export function segmenterInputSpec(c: SegmenterConfig): ModelInputSpec {
  return {
    name: 'image', layout: 'NCHW', colorOrder: 'RGB', channels: c.inChannels, height: c.inputSize[0], width: c.inputSize[1],
    scale: 1 / 255, mean: new Array<number>(c.inChannels).fill(0), std: new Array<number>(c.inChannels).fill(1),
  };
}

/** The exported inference model (.onnx bytes, weights inside): input `image` [batch, C, H, W]
 * float32 in [0, 1], batch symbolic; outputs `logits` and `probabilities` [batch, numClasses, H, W]. */
export function exportSegmenterOnnx(weights: NamedTensors, c: SegmenterConfig, numClasses: number, o: SegmenterExportOptions = {}): ExportedSegmenter {
  checkSegmenterWeights(weights, c, numClasses);
  if (o.provenance && o.provenance.classes.length !== numClasses) {
    throw new Error(`segmenter export: the model predicts ${numClasses} classes, the metadata lists ${o.provenance.classes.length}`);
  }
  const spec = {
    model: (g: Graph, i: Readonly<Record<string, Tensor>>) => {
      const { logits } = segmenterForward(g, i.image, c, numClasses);
      return { logits, probabilities: F.softmax(logits, 1) };
    },
    inputs: { image: { shape: [1, c.inChannels, c.inputSize[0], c.inputSize[1]] } },
    weights,
  };
  // The opset is only known after the export: the metadata names it, so the first pass finds it.
  const first = exportModel(spec, { opset: o.opset, dynamicBatch: true });
  if (!o.provenance) return first;
  const metadata: ModelMetadata = { ...o.provenance, input: segmenterInputSpec(c), opset: first.opset, dynamicBatch: true };
  // The architecture too, so the file can be imported back as a federation's start (readOnnxModel).
  const props: [string, string][] = [...metadataProps(metadata), [SEGMENTER_CONFIG_KEY, JSON.stringify(c)]];
  const bytes = exportModel(spec, { opset: first.opset, dynamicBatch: true, metadata: props, docString: `fedciss segmenter ${metadata.version}` }).bytes;
  return { bytes, opset: first.opset, metadata };
}
