/**
 * Safetensors files read and written by element ranges, for models and updates past what memory
 * (or a Buffer: ~4 GiB in Node 20, readFile 2 GiB) holds: the aggregation by slices reads updates
 * from the model store and writes the new global model with these. The header is ml's
 * (readSafetensorsHeader / encodeSafetensorsHeader), so the files are the ones every other reader
 * of the format takes.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { checkTensorShapes, elementCount, encodeSafetensorsHeader, readSafetensorsHeader, safetensorsHeaderLength, SafetensorsError, type NamedTensors, type SafetensorsEntry } from '@fedciss/ml';
import type { SlicedTensors, SliceSink } from '../aggregation/sliced';

/** Values per read or write call: 1 GiB, under the 2 GiB that one file system call moves. */
const IO_VALUES = 1 << 28;

function bytesOf(values: Float32Array): Buffer {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
}

function rangeOf(entries: ReadonlyMap<string, SafetensorsEntry>, name: string, from: number, count: number): number {
  const e = entries.get(name);
  if (!e) throw new SafetensorsError(`no tensor '${name}' in the file`);
  const at = e.begin + from * 4;
  if (from < 0 || at + count * 4 > e.end) throw new SafetensorsError(`values ${from}..${from + count} are outside tensor '${name}' (${(e.end - e.begin) / 4} values)`);
  return at;
}

/** A safetensors file opened for reading slices (little-endian F32, as the format stores it). */
export class SafetensorsFileReader implements SlicedTensors {
  private constructor(
    private readonly file: FileHandle,
    private readonly dataStart: number,
    private readonly entries: ReadonlyMap<string, SafetensorsEntry>,
    readonly metadata: Record<string, string>,
  ) {}

  static async open(path: string): Promise<SafetensorsFileReader> {
    const file = await open(path, 'r');
    try {
      const size = (await file.stat()).size;
      const first = Buffer.alloc(8);
      await file.read(first, 0, 8, 0);
      const head = Buffer.alloc(8 + safetensorsHeaderLength(first, size));
      await file.read(head, 0, head.length, 0);
      const layout = readSafetensorsHeader(head, size);
      return new SafetensorsFileReader(file, layout.dataStart, new Map(layout.entries.map((e) => [e.name, e])), layout.metadata);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  get shapes(): ReadonlyMap<string, readonly number[]> {
    return new Map([...this.entries].map(([name, e]) => [name, e.shape]));
  }

  async read(name: string, from: number, into: Float32Array): Promise<void> {
    const at = this.dataStart + rangeOf(this.entries, name, from, into.length);
    const { bytesRead } = await this.file.read(bytesOf(into), 0, into.byteLength, at);
    if (bytesRead !== into.byteLength) throw new SafetensorsError(`file ended inside tensor '${name}'`);
  }

  close(): Promise<void> {
    return this.file.close();
  }
}

/** A safetensors file written slice by slice at its tensors' places (any order). */
export class SafetensorsFileWriter implements SliceSink {
  private constructor(
    private readonly file: FileHandle,
    private readonly dataStart: number,
    private readonly entries: ReadonlyMap<string, SafetensorsEntry>,
  ) {}

  /** Creates the file with its header; its size is the whole file's from the start (unwritten data reads as zeros). */
  static async create(path: string, shapes: ReadonlyMap<string, readonly number[]>, metadata: Record<string, string> = {}): Promise<SafetensorsFileWriter> {
    const { header, layout } = encodeSafetensorsHeader(shapes, metadata);
    const file = await open(path, 'wx', 0o640);
    try {
      await file.write(header, 0, header.length, 0);
      await file.truncate(layout.dataStart + (layout.entries.at(-1)?.end ?? 0));
      return new SafetensorsFileWriter(file, layout.dataStart, new Map(layout.entries.map((e) => [e.name, e])));
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  async write(name: string, from: number, values: Float32Array): Promise<void> {
    const at = this.dataStart + rangeOf(this.entries, name, from, values.length);
    await this.file.write(bytesOf(values), 0, values.byteLength, at);
  }

  /** Flushes and closes the file. */
  async close(): Promise<void> {
    try {
      await this.file.sync();
    } finally {
      await this.file.close();
    }
  }
}

/**
 * Writes `from`'s tensors to a new file at `to` under new header metadata, slice by slice (memory:
 * one slice). The result is byte for byte encodeSafetensors(decoded tensors, metadata).
 */
export async function copySafetensorsWithMetadata(from: string, to: string, metadata: Record<string, string>, sliceValues = 1 << 20): Promise<void> {
  const reader = await SafetensorsFileReader.open(from);
  try {
    const writer = await SafetensorsFileWriter.create(to, reader.shapes, metadata);
    try {
      const scratch = new Float32Array(sliceValues);
      for (const [name, shape] of reader.shapes) {
        const count = elementCount(shape);
        for (let at = 0; at < count; at += sliceValues) {
          const slice = scratch.subarray(0, Math.min(sliceValues, count - at));
          await reader.read(name, at, slice);
          await writer.write(name, at, slice);
        }
      }
    } finally {
      await writer.close();
    }
  } finally {
    await reader.close();
  }
}

/**
 * Writes whole tensors to a new safetensors file at `path`, tensor by tensor: the bytes
 * encodeSafetensors(tensors, metadata) gives, without a second copy of the model in one Buffer
 * (which also stops at 4 GiB in Node 20).
 */
export async function writeSafetensorsFile(path: string, tensors: NamedTensors, metadata: Record<string, string> = {}): Promise<void> {
  checkTensorShapes(tensors);
  const writer = await SafetensorsFileWriter.create(path, new Map([...tensors].map(([name, t]) => [name, t.shape])), metadata);
  try {
    for (const [name, t] of tensors) {
      for (let at = 0; at < t.data.length; at += IO_VALUES) await writer.write(name, at, t.data.subarray(at, at + IO_VALUES));
    }
  } finally {
    await writer.close();
  }
}

/**
 * A safetensors file's tensors, whole, each read into its own array: what decodeSafetensors
 * gives for the file's bytes, without the file in one Buffer first (readFile stops at 2 GiB).
 */
export async function readSafetensorsFile(path: string): Promise<NamedTensors> {
  const reader = await SafetensorsFileReader.open(path);
  try {
    const tensors: NamedTensors = new Map();
    for (const [name, shape] of reader.shapes) {
      const data = new Float32Array(elementCount(shape));
      for (let at = 0; at < data.length; at += IO_VALUES) await reader.read(name, at, data.subarray(at, at + IO_VALUES));
      tensors.set(name, { shape, data });
    }
    return tensors;
  } finally {
    await reader.close();
  }
}
