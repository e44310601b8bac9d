/**
 * Shared types of the data layer: what a reader finds on disk (SampleRef), what the dataset hands
 * to training (LoadedSample), and the report of everything that was skipped and why.
 */


/** Label value of background. */
export const BACKGROUND = 0;

/** A file as the cache keys it: path, byte size and modification time. */
export interface FileRef {
  path: string;
  size: number;
  mtimeMs: number;
}

/** One binary mask (white = structure) of a sample. */
export interface BinaryMaskRef {
  kind: 'binary';
  file: FileRef;
  /** Structure name as written on disk (folder or file suffix). */
  structure: string;
  /** Class id from the roster, or null when the roster does not (yet) contain this structure. */
  classId: number | null;
}

/** One label-map mask (pixel value v means class valueToClass[v]); used by the plain-folder format. */
export interface LabelMapMaskRef {
  kind: 'labelmap';
  file: FileRef;
  /** Pixel value -> roster class id (0 = background, 255 = unknown); values absent here are unknown. */
  valueToClass: Record<number, number>;
}

export type MaskRef = BinaryMaskRef | LabelMapMaskRef;

/** A sample found on disk; nothing decoded yet. */
export interface SampleRef {
  /** Unique, stable key, e.g. `dsad:01/liver/image03` (first folder it was found in). */
  key: string;
  /** Surgery (patient) id, e.g. `01`. */
  surgery: string;
  image: FileRef;
  /** Other copies of the same image (identical bytes) that were merged into this sample. */
  duplicates: string[];
  masks: MaskRef[];
  /** Roster class ids annotated in this sample (sorted). Pixels of other classes are unknown. */
  annotated: number[];
  /** True when every roster class is annotated, so unmarked pixels are truly background. */
  complete: boolean;
  /** Folders (structure names or `multilabel`) this sample was found in. */
  sources: string[];
  /** Original size in pixels. */
  width: number;
  height: number;
  /** Presence per structure from weak_labels.csv, when the file lists this image. */
  weakLabels?: Record<string, boolean>;
}

/** A decoded, resized sample ready for training. */
export interface LoadedSample {
  key: string;
  surgery: string;
  width: number;
  height: number;
  /** 3 x height x width, channel-major (CHW), RGB in [0, 1]. */
  image: Float32Array;
  /** height x width class ids; IGNORE_LABEL (ml's, 255) where the class is unknown. */
  label: Uint8Array;
  annotated: number[];
  complete: boolean;
}

export type SkipReason =
  | 'corrupt-png'
  | 'missing-mask'
  | 'mask-without-image'
  | 'size-mismatch'
  | 'non-binary-mask'
  | 'bad-label-value'
  | 'unknown-folder'
  | 'unknown-file'
  | 'not-in-roster'
  | 'bad-weak-labels'
  | 'bad-manifest'
  | 'unreadable'
  | 'empty-dataset';

export const SKIP_REASONS: readonly SkipReason[] = [
  'corrupt-png',
  'missing-mask',
  'mask-without-image',
  'size-mismatch',
  'non-binary-mask',
  'bad-label-value',
  'unknown-folder',
  'unknown-file',
  'not-in-roster',
  'bad-weak-labels',
  'bad-manifest',
  'unreadable',
  'empty-dataset',
];

export interface SkippedFile {
  path: string;
  reason: SkipReason;
  message: string;
}

/** What a reader (and later the dataset while loading) skipped. Nothing is dropped silently. */
export class ReadReport {
  readonly skipped: SkippedFile[] = [];
  readonly warnings: string[] = [];

  constructor(readonly root: string) {}

  skip(path: string, reason: SkipReason, message: string): void {
    this.skipped.push({ path, reason, message });
  }

  warn(message: string): void {
    this.warnings.push(message);
  }

  counts(): Partial<Record<SkipReason, number>> {
    const out: Partial<Record<SkipReason, number>> = {};
    for (const s of this.skipped) out[s.reason] = (out[s.reason] ?? 0) + 1;
    return out;
  }

  has(reason: SkipReason): boolean {
    return this.skipped.some((s) => s.reason === reason);
  }

  toJSON(): { root: string; skippedCount: number; counts: Partial<Record<SkipReason, number>>; skipped: SkippedFile[]; warnings: string[] } {
    return { root: this.root, skippedCount: this.skipped.length, counts: this.counts(), skipped: [...this.skipped], warnings: [...this.warnings] };
  }
}

/** Width and height in pixels. */
export interface Size {
  width: number;
  height: number;
}

/** Parses `WxH` (e.g. `128x72`). Throws a message naming the bad value. */
export function parseSize(text: string): Size {
  const m = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (!m) throw new Error(`size '${text}' is not WIDTHxHEIGHT (e.g. 128x72)`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  if (width < 8 || height < 8 || width > 8192 || height > 8192) throw new Error(`size '${text}' out of range (8..8192 per side)`);
  return { width, height };
}
