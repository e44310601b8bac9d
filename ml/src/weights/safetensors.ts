/**
 * The safetensors container: an 8-byte little-endian
 * header length, a JSON header `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__":
 * {string: string}}`, then the raw little-endian tensor bytes. Any ONNX Runtime or PyTorch user can
 * read the weights the platform exchanges.
 */
import { elementCount, type NamedTensor, type NamedTensors } from './named-tensors';

export class SafetensorsError extends Error {
  override readonly name = 'SafetensorsError';
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** The header may not exceed this (the reference implementation's limit), so a hostile length
 * field cannot make the reader allocate gigabytes. */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;
/** Bounds of what a header may hold: every value in it comes from whoever sent the file. */
const MAX_TENSORS = 100_000;
const MAX_RANK = 8;
const MAX_NAME_CHARS = 512;
const MAX_METADATA_VALUE_CHARS = 64 * 1024;

const UNPAIRED_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** What is wrong with `s` as text of at most `max` code points (NUL, unpaired surrogate, length), or null. */
function textProblem(s: string, max: number): string | null {
  if (s.length > 2 * max) return `is longer than ${max} characters`;
  if (s.includes('\u0000')) return 'contains a NUL character';
  if (UNPAIRED_SURROGATE.test(s)) return 'contains an unpaired surrogate';
  if ([...s].length > max) return `is longer than ${max} characters`;
  return null;
}

/** A (checked) tensor name as a message shows it. */
const short = (name: string) => (name.length > 40 ? `${name.slice(0, 40)}…` : name);

/** A header value as an error message may quote it: JSON, at most 40 characters. */
function describe(v: unknown): string {
  if (Array.isArray(v) && v.length > 8) return `(a list of ${v.length} entries)`;
  let json: string;
  try {
    json = JSON.stringify(typeof v === 'string' ? v.slice(0, 41) : v) ?? String(v);
  } catch {
    json = '(a value nested too deeply to show)';
  }
  return json.length > 40 ? `${json.slice(0, 40)}…` : json;
}

/** One tensor's place in a safetensors file: bytes begin..end after the header. */
export interface SafetensorsEntry {
  name: string;
  shape: number[];
  begin: number;
  end: number;
}

/** Where a safetensors file's parts are: the data start after the header, and every F32 tensor. */
export interface SafetensorsLayout {
  /** Bytes before the tensor data: the 8-byte length and the JSON header. */
  dataStart: number;
  /** Tensors in the header's order (the data's, for files this module writes). */
  entries: SafetensorsEntry[];
  metadata: Record<string, string>;
}

/**
 * The header of a safetensors file holding F32 tensors of these shapes (names sorted, so the bytes
 * and the content hash do not depend on insertion order; padded so the data starts 8-byte aligned,
 * as the format recommends), and the layout of the data that follows it.
 */
export function encodeSafetensorsHeader(shapes: ReadonlyMap<string, readonly number[]>, metadata: Record<string, string> = {}): { header: Buffer; layout: SafetensorsLayout } {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const entries: SafetensorsEntry[] = [];
  let offset = 0;
  for (const name of [...shapes.keys()].sort()) {
    const shape = [...shapes.get(name)!];
    const bytes = elementCount(shape) * 4;
    header[name] = { dtype: 'F32', shape, data_offsets: [offset, offset + bytes] };
    entries.push({ name, shape, begin: offset, end: offset + bytes });
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.allocUnsafe(8 + headerBytes.length);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  return { header: out, layout: { dataStart: out.length, entries, metadata: { ...metadata } } };
}

/** Throws a SafetensorsError naming the first tensor whose shape does not hold its values. */
export function checkTensorShapes(tensors: NamedTensors): void {
  for (const [name, t] of tensors) {
    if (elementCount(t.shape) !== t.data.length) {
      throw new SafetensorsError(`tensor '${name}': shape [${t.shape.join(', ')}] does not match ${t.data.length} values`);
    }
  }
}

export function encodeSafetensors(tensors: NamedTensors, metadata: Record<string, string> = {}): Buffer {
  checkTensorShapes(tensors);
  const { header, layout } = encodeSafetensorsHeader(new Map([...tensors].map(([name, t]) => [name, t.shape])), metadata);
  const out = Buffer.allocUnsafe(header.length + (layout.entries.at(-1)?.end ?? 0));
  header.copy(out, 0);
  for (const e of layout.entries) {
    const t = tensors.get(e.name)!;
    // Float32Array is little-endian on every platform Node runs on.
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, header.length + e.begin);
  }
  return out;
}

export interface DecodedSafetensors {
  tensors: NamedTensors;
  metadata: Record<string, string>;
}

/**
 * Reads and checks the header of a safetensors file of `fileLength` bytes from its first bytes
 * (`head` must hold at least the 8-byte length and the header; headerLength() says how many).
 * Every structural problem is a SafetensorsError naming the tensor.
 */
export function readSafetensorsHeader(head: Uint8Array, fileLength: number): SafetensorsLayout {
  const headerLength = safetensorsHeaderLength(head, fileLength);
  if (head.length < 8 + headerLength) throw new SafetensorsError(`header of ${headerLength} bytes is not all in the ${head.length} bytes read`);
  const view = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(view.subarray(8, 8 + headerLength).toString('utf8'));
  } catch (e) {
    throw new SafetensorsError(`header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError('header is not a JSON object');
  }
  const dataStart = 8 + headerLength;
  const dataLength = fileLength - dataStart;
  const metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  const raws = Object.entries(header);
  if (raws.length > MAX_TENSORS + 1) throw new SafetensorsError(`header lists ${raws.length} entries (at most ${MAX_TENSORS} tensors)`);
  for (const [name, raw] of raws) {
    const nameProblem = textProblem(name, MAX_NAME_CHARS);
    if (nameProblem) throw new SafetensorsError(`a tensor name ${nameProblem}: ${describe(name)}`);
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SafetensorsError('__metadata__ is not an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') throw new SafetensorsError(`__metadata__ ${describe(k)} is not a string`);
        const problem = textProblem(k, MAX_NAME_CHARS) ?? textProblem(v, MAX_METADATA_VALUE_CHARS);
        if (problem) throw new SafetensorsError(`__metadata__ ${describe(k)}: ${problem}`);
        metadata[k] = v;
      }
      continue;
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SafetensorsError(`tensor '${short(name)}': its entry is not an object`);
    const entry = raw as Partial<Record<keyof HeaderEntry, unknown>>;
    if (entry.dtype !== 'F32') throw new SafetensorsError(`tensor '${short(name)}': dtype ${describe(entry.dtype)} is not supported (only F32)`);
    const shape = entry.shape;
    if (!Array.isArray(shape) || shape.length > MAX_RANK || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new SafetensorsError(`tensor '${short(name)}': shape ${describe(shape)} is not a list of at most ${MAX_RANK} non-negative integers`);
    }
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o))) {
      throw new SafetensorsError(`tensor '${short(name)}': data_offsets ${describe(offsets)} is not a pair of integers`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin < 0 || end < begin || end > dataLength) {
      throw new SafetensorsError(`tensor '${short(name)}': data_offsets [${begin}, ${end}] fall outside ${dataLength} data bytes`);
    }
    const count = (shape as number[]).reduce((a, d) => a * d, 1);
    if (end - begin !== count * 4) {
      throw new SafetensorsError(`tensor '${short(name)}': ${end - begin} bytes do not hold shape [${shape.join(', ')}] of F32`);
    }
    entries.push({ name, shape: shape as number[], begin, end });
  }
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < byOffset.length; i++) {
    if (byOffset[i].begin < byOffset[i - 1].end) throw new SafetensorsError(`tensors '${byOffset[i - 1].name}' and '${byOffset[i].name}' overlap`);
  }
  return { dataStart, entries, metadata };
}

/** The JSON header's length from a file's first 8 bytes, checked against the limit and the file's size. */
export function safetensorsHeaderLength(head: Uint8Array, fileLength: number): number {
  if (head.length < 8 || fileLength < 8) throw new SafetensorsError(`blob of ${Math.min(head.length, fileLength)} bytes is too short for a safetensors header`);
  const headerLength = Number(Buffer.from(head.buffer, head.byteOffset, 8).readBigUInt64LE(0));
  if (headerLength > MAX_HEADER_BYTES || 8 + headerLength > fileLength) {
    throw new SafetensorsError(`header length ${headerLength} does not fit in a blob of ${fileLength} bytes`);
  }
  return headerLength;
}

/** Decodes a safetensors blob; every structural problem is a SafetensorsError naming the tensor. */
export function decodeSafetensors(blob: Uint8Array): DecodedSafetensors {
  const layout = readSafetensorsHeader(blob, blob.length);
  const view = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  const tensors: NamedTensors = new Map();
  for (const e of layout.entries) {
    // Copy into an aligned buffer: a Float32Array view needs 4-byte alignment and must not alias the blob.
    const data = new Float32Array((e.end - e.begin) / 4);
    Buffer.from(data.buffer).set(view.subarray(layout.dataStart + e.begin, layout.dataStart + e.end));
    tensors.set(e.name, { shape: e.shape, data } satisfies NamedTensor);
  }
  return { tensors, metadata: layout.metadata };
}
