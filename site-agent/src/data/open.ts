/** One call for training code: detect the layout, scan, and wrap the samples in a dataset. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RosterEntry } from '@fedciss/ml';
import { SegmentationDataset, type DatasetOptions } from './dataset';
import { scanDsad } from './dsad-reader';
import type { FileFacts } from './file-facts';
import { DEFAULT_MANIFEST, scanFolder } from './folder-reader';
import { mulberry32, shuffleInPlace } from '../synthetic/prng';
import type { LoadedSample, ReadReport } from './types';

export interface OpenOptions extends Omit<DatasetOptions, 'report'> {
  roster: readonly RosterEntry[];
  format?: 'auto' | 'dsad' | 'folder';
  manifest?: string;
  verify?: boolean;
  weakLabelsComplete?: boolean;
  /** What earlier scans read of unchanged files (a long-lived caller's rescans read only the changed ones). */
  facts?: FileFacts;
}

export async function openDataset(root: string, options: OpenOptions): Promise<{ dataset: SegmentationDataset; report: ReadReport; format: 'dsad' | 'folder' }> {
  const format = options.format === 'dsad' || options.format === 'folder' ? options.format : existsSync(join(root, options.manifest ?? DEFAULT_MANIFEST)) ? 'folder' : 'dsad';
  const scan =
    format === 'folder'
      ? await scanFolder(root, { roster: options.roster, facts: options.facts, ...(options.manifest ? { manifest: options.manifest } : {}) })
      : await scanDsad(root, { roster: options.roster, verify: options.verify === true, weakLabelsComplete: options.weakLabelsComplete === true, facts: options.facts });
  const { roster: _r, format: _f, manifest: _m, verify: _v, weakLabelsComplete: _w, facts: _facts, ...datasetOptions } = options;
  return { dataset: new SegmentationDataset(scan.samples, { ...datasetOptions, report: scan.report }), report: scan.report, format };
}

/** Seeded permutation of 0..n-1 for an epoch (same seed and epoch, same order). */
export function epochOrder(n: number, seed: number, epoch: number): number[] {
  return shuffleInPlace(
    Array.from({ length: n }, (_, i) => i),
    mulberry32((seed * 1000003 + epoch * 7919) >>> 0),
  );
}

/** Stacks samples of one size into a batch: images [B, 3, H, W] and labels [B, H, W]. */
export function collate(samples: readonly LoadedSample[]): { images: Float32Array; labels: Uint8Array; batch: number; height: number; width: number } {
  if (samples.length === 0) throw new Error('collate: empty batch');
  const { width, height } = samples[0]!;
  const hw = width * height;
  const images = new Float32Array(samples.length * 3 * hw);
  const labels = new Uint8Array(samples.length * hw);
  samples.forEach((s, b) => {
    if (s.width !== width || s.height !== height) throw new Error(`collate: sample ${s.key} is ${s.width}x${s.height}, batch is ${width}x${height}`);
    images.set(s.image, b * 3 * hw);
    labels.set(s.label, b * hw);
  });
  return { images, labels, batch: samples.length, height, width };
}
