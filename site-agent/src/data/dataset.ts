/**
 * A segmentation dataset over SampleRefs from either reader: decodes, resizes (bilinear images,
 * nearest masks) and builds label maps, with two caches so later epochs decode no PNG:
 * - in memory (decoded, resized bytes; optional byte budget, least recently used evicted);
 * - on disk (optional `cacheDir`), one file per sample keyed by path + size + mtime of every file
 *   involved, the resolution and the label options, so a changed file or size is a cache miss.
 * A sample that fails to decode is reported in `report` (with the file named) and skipped.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeMaskFull, decodeRgbResized, resizeNearest } from './png';
import { mapPool } from './pool';
import { BACKGROUND, ReadReport, type LoadedSample, type SampleRef, type Size } from './types';
import { IGNORE_LABEL } from '@fedciss/ml';

export type UnknownPolicy = 'ignore' | 'background';

export interface DatasetOptions {
  /** Model resolution. */
  size: Size;
  /** How pixels of unannotated classes are labelled: IGNORE_LABEL (default) or background. */
  unknown?: UnknownPolicy;
  /** Keep decoded samples in memory (default true); a number is a byte budget. */
  memoryCache?: boolean | number;
  /** Folder for the on-disk cache of decoded tensors (none by default). */
  cacheDir?: string;
  /** Report to append load failures to (default: a new one). */
  report?: ReadReport;
}

interface Decoded {
  /** CHW RGB bytes. */
  image: Uint8Array;
  label: Uint8Array;
}

class DataError extends Error {
  constructor(
    readonly path: string,
    readonly reason: 'corrupt-png' | 'non-binary-mask' | 'size-mismatch' | 'bad-label-value',
    message: string,
  ) {
    super(message);
  }
}

/** Builds the label map of a sample at full resolution, then resizes it with nearest neighbour. */
export async function buildLabel(ref: SampleRef, size: Size, unknown: UnknownPolicy): Promise<Uint8Array> {
  const n = ref.width * ref.height;
  const fill = ref.complete || unknown === 'background' ? BACKGROUND : IGNORE_LABEL;
  const label = new Uint8Array(n).fill(fill);
  const binaries: Array<{ data: Uint8Array; classId: number; area: number }> = [];
  // Decode every mask concurrently (libvips threads), then validate and paint in a fixed order.
  const decoded = await Promise.all(
    ref.masks.map((m) =>
      decodeMaskFull(m.file.path).then(
        (d) => ({ ok: true as const, d }),
        (err: unknown) => ({ ok: false as const, err: err as Error }),
      ),
    ),
  );
  for (let k = 0; k < ref.masks.length; k++) {
    const m = ref.masks[k]!;
    const r = decoded[k]!;
    if (!r.ok) throw new DataError(m.file.path, 'corrupt-png', `${m.file.path} is not a readable PNG (${r.err.message})`);
    const dec = r.d;
    if (dec.width !== ref.width || dec.height !== ref.height) {
      throw new DataError(m.file.path, 'size-mismatch', `${m.file.path} is ${dec.width}x${dec.height} but ${ref.image.path} is ${ref.width}x${ref.height}`);
    }
    if (m.kind === 'labelmap') {
      for (let i = 0; i < n; i++) {
        const v = dec.data[i]!;
        const c = m.valueToClass[v];
        if (c === undefined) throw new DataError(m.file.path, 'bad-label-value', `${m.file.path} has pixel value ${v}, not listed in the manifest classes`);
        if (v === 0) continue; // keep the fill: background if complete, unknown otherwise
        label[i] = c;
      }
      continue;
    }
    let area = 0;
    const data = dec.data;
    for (let i = 0; i < n; i++) {
      const v = data[i]!;
      if (v === 255) area++;
      else if (v !== 0) throw new DataError(m.file.path, 'non-binary-mask', `${m.file.path} is not binary (value ${v}; expected 0 and 255 only)`);
    }
    binaries.push({ data, classId: m.classId ?? BACKGROUND, area });
  }
  // Larger masks first, so smaller (thinner) structures win overlapping pixels.
  binaries.sort((a, b) => b.area - a.area);
  for (const b of binaries) {
    if (b.area === 0) continue;
    const data = b.data;
    for (let i = 0; i < n; i++) if (data[i] === 255) label[i] = b.classId;
  }
  return resizeNearest(label, ref.width, ref.height, size.width, size.height);
}

/** Interleaved RGB (HWC) bytes to planar (CHW). */
export function hwcToChw(hwc: Uint8Array, w: number, h: number): Uint8Array {
  const n = w * h;
  const out = new Uint8Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[i] = hwc[i * 3]!;
    out[n + i] = hwc[i * 3 + 1]!;
    out[2 * n + i] = hwc[i * 3 + 2]!;
  }
  return out;
}

const INV255 = 1 / 255;

/** Bytes (CHW) to Float32 in [0, 1]. */
export function toFloat(chw: Uint8Array): Float32Array {
  const out = new Float32Array(chw.length);
  for (let i = 0; i < chw.length; i++) out[i] = chw[i]! * INV255;
  return out;
}

/** Int32 copy of a label map, for code that wants Int32 class ids. */
export function labelToInt32(label: Uint8Array): Int32Array {
  return Int32Array.from(label);
}

export class SegmentationDataset {
  readonly report: ReadReport;
  readonly size: Size;
  readonly unknown: UnknownPolicy;
  /** Counters since creation: decodes from PNG, disk-cache hits, memory-cache hits. */
  readonly stats = { decoded: 0, diskHits: 0, memoryHits: 0, failed: 0 };
  private readonly memory = new Map<string, Decoded>();
  private memoryBytes = 0;
  private readonly budget: number;
  private readonly failed = new Set<string>();
  private samplesList: SampleRef[];

  constructor(samples: readonly SampleRef[], private readonly options: DatasetOptions) {
    this.samplesList = [...samples];
    this.size = options.size;
    this.unknown = options.unknown ?? 'ignore';
    this.report = options.report ?? new ReadReport('');
    const mc = options.memoryCache ?? true;
    this.budget = mc === true ? Number.POSITIVE_INFINITY : mc === false ? 0 : mc;
  }

  /** Samples that have not failed to load. */
  get samples(): readonly SampleRef[] {
    return this.samplesList;
  }

  get length(): number {
    return this.samplesList.length;
  }

  /** A new dataset over the samples that satisfy `keep`, sharing options (not the memory cache). */
  filter(keep: (s: SampleRef) => boolean): SegmentationDataset {
    return new SegmentationDataset(this.samplesList.filter(keep), { ...this.options, report: this.report });
  }

  private cacheKey(ref: SampleRef): string {
    const parts = [
      ref.image.path,
      ref.image.size,
      ref.image.mtimeMs,
      ...ref.masks.flatMap((m) => [m.file.path, m.file.size, m.file.mtimeMs, m.kind === 'binary' ? m.classId : JSON.stringify(m.valueToClass)]),
      ref.complete,
      this.size.width,
      this.size.height,
      this.unknown,
      'v1',
    ];
    return createHash('sha1').update(JSON.stringify(parts)).digest('hex');
  }

  private async decode(ref: SampleRef): Promise<Decoded> {
    const { width, height } = this.size;
    let hwc: Buffer;
    try {
      hwc = await decodeRgbResized(ref.image.path, width, height);
    } catch (err) {
      throw new DataError(ref.image.path, 'corrupt-png', `${ref.image.path} is not a readable PNG (${(err as Error).message})`);
    }
    const label = await buildLabel(ref, this.size, this.unknown);
    return { image: hwcToChw(hwc, width, height), label };
  }

  private async fromDisk(key: string): Promise<Decoded | undefined> {
    if (!this.options.cacheDir) return undefined;
    try {
      const buf = await readFile(join(this.options.cacheDir, `${key}.bin`));
      const n = this.size.width * this.size.height;
      if (buf.length !== 4 * n) return undefined;
      const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
      return { image: bytes.subarray(0, 3 * n), label: bytes.subarray(3 * n) };
    } catch {
      return undefined;
    }
  }

  private async toDisk(key: string, d: Decoded): Promise<void> {
    const dir = this.options.cacheDir;
    if (!dir) return;
    await mkdir(dir, { recursive: true });
    const tmp = join(dir, `${key}.${process.pid}.${Math.floor(performance.now() * 1000)}.tmp`);
    await writeFile(tmp, Buffer.concat([d.image, d.label]));
    await rename(tmp, join(dir, `${key}.bin`));
  }

  private remember(key: string, d: Decoded): void {
    if (this.budget <= 0) return;
    const bytes = d.image.length + d.label.length;
    if (bytes > this.budget) return;
    this.memory.set(key, d);
    this.memoryBytes += bytes;
    for (const [k, v] of this.memory) {
      if (this.memoryBytes <= this.budget) break;
      this.memory.delete(k);
      this.memoryBytes -= v.image.length + v.label.length;
    }
  }

  /**
   * Loads sample `i`: Float32 CHW image in [0, 1] and a label map. Returns undefined (and reports
   * the file) when the sample cannot be decoded; such a sample is dropped from later epochs.
   */
  async get(i: number): Promise<LoadedSample | undefined> {
    const ref = this.samplesList[i];
    if (!ref) throw new RangeError(`sample index ${i} out of range 0..${this.samplesList.length - 1}`);
    return this.load(ref);
  }

  async load(ref: SampleRef): Promise<LoadedSample | undefined> {
    if (this.failed.has(ref.key)) return undefined;
    const key = this.cacheKey(ref);
    let d = this.memory.get(key);
    if (d) {
      this.stats.memoryHits++;
      this.memory.delete(key); // refresh LRU position
      this.memory.set(key, d);
    } else {
      d = await this.fromDisk(key);
      if (d) this.stats.diskHits++;
      else {
        try {
          d = await this.decode(ref);
        } catch (err) {
          this.failed.add(ref.key);
          this.stats.failed++;
          if (err instanceof DataError) this.report.skip(err.path, err.reason, `${err.message}; sample ${ref.key} skipped`);
          else this.report.skip(ref.image.path, 'unreadable', `${ref.image.path}: ${(err as Error).message}; sample ${ref.key} skipped`);
          this.samplesList = this.samplesList.filter((s) => s.key !== ref.key);
          return undefined;
        }
        this.stats.decoded++;
        await this.toDisk(key, d);
      }
      this.remember(key, d);
    }
    return {
      key: ref.key,
      surgery: ref.surgery,
      width: this.size.width,
      height: this.size.height,
      image: toFloat(d.image),
      label: d.label.slice(),
      annotated: ref.annotated,
      complete: ref.complete,
    };
  }

  /**
   * One pass over the samples in `order` (default: as listed), `concurrency` decodes in flight,
   * yielding in order; failed samples are reported and left out.
   */
  async *epoch(order?: readonly number[], concurrency = 4): AsyncGenerator<LoadedSample> {
    const refs = (order ?? this.samplesList.map((_, i) => i)).map((i) => this.samplesList[i]!).filter((r) => r !== undefined);
    for (let start = 0; start < refs.length; start += concurrency) {
      const chunk = await mapPool(refs.slice(start, start + concurrency), concurrency, (r) => this.load(r));
      for (const s of chunk) if (s) yield s;
    }
  }

  /** Loads everything once (fills the caches, reports every bad file). */
  async warm(concurrency = 4): Promise<number> {
    let ok = 0;
    const refs = [...this.samplesList];
    await mapPool(refs, concurrency, async (r) => {
      if (await this.load(r)) ok++;
    });
    return ok;
  }
}
