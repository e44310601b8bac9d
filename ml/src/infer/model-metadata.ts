/** What an exported segmenter says about itself, inside the .onnx file (ModelProto.metadata_props,
 * one `fedciss.*` key per field, JSON where a field is structured) and as a short Markdown model
 * card: which channel is which class and how to draw it, how to prepare the input, where the
 * model comes from. One type, written by the coordinator's export and read back by whoever runs the
 * file (site-agent predict). */
import { onnx } from 'onnx-proto';

export interface ModelClass {
  /** The output channel (0: background). */
  readonly id: number;
  readonly name: string;
  /** #rrggbb */
  readonly color: string;
}

export interface ModelInputSpec {
  /** Graph input name. */
  readonly name: string;
  readonly layout: 'NCHW';
  readonly colorOrder: 'RGB';
  readonly channels: number;
  /** The size the network runs at; frames of another size are resized to it (bilinear). */
  readonly height: number;
  readonly width: number;
  /** value = (pixel * scale - mean[c]) / std[c], pixel in 0..255. */
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface ModelMetadata {
  /** Classes by output channel, background first; exactly one per channel. */
  readonly classes: readonly ModelClass[];
  readonly input: ModelInputSpec;
  /** The model version id in the coordinator's registry. */
  readonly version: string;
  /** Ancestor versions, nearest first (parent, grandparent, ...). */
  readonly lineage: readonly string[];
  /** Who trained it: the federation's name or CA fingerprint. */
  readonly federation: string;
  /** Incremental step of the version, and the round that produced it (none for initial models). */
  readonly step: number;
  readonly round: string | null;
  /** ISO dates: when the version was made, and when this file was written. */
  readonly createdAt: string;
  readonly exportedAt: string;
  /** SHA-256 of the version's weights file (safetensors) in the model store. */
  readonly weightsSha256: string;
  readonly opset: number;
  /** The batch dimension is symbolic (any batch size runs). */
  readonly dynamicBatch: boolean;
}

export class ModelMetadataError extends Error {
  override name = 'ModelMetadataError';
}

const PREFIX = 'fedciss.';
const JSON_FIELDS = new Set<keyof ModelMetadata>(['classes', 'input', 'lineage', 'step', 'round', 'opset', 'dynamicBatch']);
const FIELDS: readonly (keyof ModelMetadata)[] = [
  'version', 'federation', 'step', 'round', 'lineage', 'createdAt', 'exportedAt', 'weightsSha256', 'opset', 'dynamicBatch', 'input', 'classes',
];

/** The metadata as ONNX metadata_props entries, in a fixed order. */
export function metadataProps(m: ModelMetadata): [string, string][] {
  checkClasses(m.classes);
  return FIELDS.map((k) => [PREFIX + k, JSON_FIELDS.has(k) ? JSON.stringify(m[k]) : String(m[k])]);
}

function checkClasses(classes: readonly ModelClass[]): void {
  classes.forEach((c, i) => {
    if (c.id !== i) throw new ModelMetadataError(`classes[${i}] has id ${c.id}: classes must be listed by output channel from 0`);
    if (!/^#[0-9a-fA-F]{6}$/.test(c.color)) throw new ModelMetadataError(`classes[${i}] '${c.name}': colour '${c.color}' must look like #rrggbb`);
  });
}

/** Reads the metadata back from .onnx bytes; names the missing or malformed key. */
export function readModelMetadata(bytes: Uint8Array): ModelMetadata {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new ModelMetadataError(`not an ONNX model (${(e as Error).message})`);
  }
  const props = new Map((model.metadataProps ?? []).map((p) => [p.key ?? '', p.value ?? '']));
  const raw = new Map<keyof ModelMetadata, unknown>();
  for (const k of FIELDS) {
    const text = props.get(PREFIX + k);
    if (text === undefined) throw new ModelMetadataError(`the model has no '${PREFIX + k}' metadata: it was not exported by fedciss (or by an older version)`);
    try {
      raw.set(k, JSON_FIELDS.has(k) ? JSON.parse(text) : text);
    } catch {
      throw new ModelMetadataError(`metadata '${PREFIX + k}' is not valid JSON`);
    }
  }
  const field = <T>(k: keyof ModelMetadata, ok: (v: unknown) => v is T, what: string): T => {
    const v = raw.get(k);
    if (!ok(v)) throw new ModelMetadataError(`metadata '${PREFIX + k}' is malformed: expected ${what}`);
    return v;
  };
  const isString = (v: unknown): v is string => typeof v === 'string';
  const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
  const isNumbers = (v: unknown): v is number[] => Array.isArray(v) && v.every(isNumber);
  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const isClass = (v: unknown): v is ModelClass => isRecord(v) && isNumber(v.id) && isString(v.name) && isString(v.color);
  const isInput = (v: unknown): v is ModelInputSpec =>
    isRecord(v) && isString(v.name) && v.layout === 'NCHW' && v.colorOrder === 'RGB' && isNumber(v.channels) && isNumber(v.height) && isNumber(v.width) &&
    isNumber(v.scale) && isNumbers(v.mean) && isNumbers(v.std);
  const m: ModelMetadata = {
    classes: field('classes', (v): v is ModelClass[] => Array.isArray(v) && v.every(isClass), 'a list of {id, name, color}'),
    input: field('input', isInput, 'an NCHW RGB input spec'),
    version: field('version', isString, 'text'),
    lineage: field('lineage', (v): v is string[] => Array.isArray(v) && v.every(isString), 'a list of version ids'),
    federation: field('federation', isString, 'text'),
    step: field('step', isNumber, 'a number'),
    round: field('round', (v): v is string | null => v === null || isString(v), 'a round id or null'),
    createdAt: field('createdAt', isString, 'an ISO date'),
    exportedAt: field('exportedAt', isString, 'an ISO date'),
    weightsSha256: field('weightsSha256', isString, 'a hex digest'),
    opset: field('opset', isNumber, 'a number'),
    dynamicBatch: field('dynamicBatch', (v): v is boolean => typeof v === 'boolean', 'true or false'),
  };
  checkClasses(m.classes);
  return m;
}

/** A class colour as [r, g, b] bytes. */
export function rgbOf(color: string): [number, number, number] {
  const v = parseInt(color.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** The short Markdown model card: the same facts as the metadata, for people. */
export function modelCard(m: ModelMetadata): string {
  const i = m.input;
  const plainRange = i.mean.every((v) => v === 0) && i.std.every((v) => v === 1);
  const norm = plainRange
    ? `pixel / ${Math.round(1 / i.scale)} (values in [0, 1]; no mean or std)`
    : `(pixel × ${i.scale} − mean) / std, mean [${i.mean.join(', ')}], std [${i.std.join(', ')}]`;
  const batch = m.dynamicBatch ? 'batch' : '1';
  const lines = [
    `# Segmentation model ${m.version}`,
    '',
    'Semantic segmentation of laparoscopic video frames, trained by federated class-incremental learning',
    '(fedciss). A research model: not a medical device. Check it on your own footage before relying on it',
    '(`site-agent predict --model FILE --images DIR --out DIR`).',
    '',
    '| | |',
    '|---|---|',
    `| Model version | \`${cell(m.version)}\` |`,
    `| Federation | ${cell(m.federation)} |`,
    `| Incremental step | ${m.step}${m.round ? ` (round \`${cell(m.round)}\`)` : ''} |`,
    `| Lineage | ${m.lineage.length ? m.lineage.map((v) => `\`${cell(v)}\``).join(' ← ') : 'none (initial model)'} |`,
    `| Created | ${m.createdAt} |`,
    `| Exported | ${m.exportedAt} |`,
    `| Weights SHA-256 | \`${m.weightsSha256}\` |`,
    `| Format | ONNX, opset ${m.opset}, weights inside, ${m.dynamicBatch ? 'any batch size' : 'batch size 1'} |`,
    '',
    '## Input',
    '',
    `\`${i.name}\`: float32 [${batch}, ${i.channels}, ${i.height}, ${i.width}] (${i.layout}, ${i.colorOrder}). ` +
      `Resize each frame to ${i.width}×${i.height} (bilinear), then ${norm}.`,
    '',
    '## Outputs',
    '',
    `\`logits\` and \`probabilities\` (softmax over classes): float32 [${batch}, ${m.classes.length}, ${i.height}, ${i.width}]. ` +
      'The label of a pixel is the argmax over classes; resize label maps back to the frame with nearest neighbour.',
    '',
    '## Classes',
    '',
    '| id | name | colour |',
    '|---|---|---|',
    ...m.classes.map((c) => `| ${c.id} | ${cell(c.name)} | \`${c.color}\` |`),
    '',
  ];
  return lines.join('\n');
}
