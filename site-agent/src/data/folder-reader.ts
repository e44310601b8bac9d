/**
 * Reader for sites whose data is not in the DSAD layout: a folder with a manifest
 * (`fedciss-dataset.json` by default) listing images and label-map masks.
 *
 * {
 *   "format": "fedciss-folder-v1",
 *   "classes": { "1": "liver", "2": "colon" },       // mask pixel value -> structure name
 *   "samples": [
 *     { "image": "images/a.png", "mask": "masks/a.png", "patient": "p01", "annotated": ["liver"] }
 *   ]
 * }
 *
 * Mask pixels: 0 = background, 255 = unknown, other values as listed in `classes` (any other value
 * makes the sample skipped with `bad-label-value` when it is decoded). `annotated` (optional, default
 * every class of `classes`) lists the structures annotated in that image; pixels of structures that
 * are not in the roster become background.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { RosterEntry } from '@fedciss/ml';
import { FileFacts, maskOfImageSize } from './file-facts';
import { mapPool } from './pool';
import { normaliseName, rosterIndex } from './roster';
import { ReadReport, type FileRef, type SampleRef } from './types';
import type { ScanResult } from './dsad-reader';

export const MANIFEST_FORMAT = 'fedciss-folder-v1';
export const DEFAULT_MANIFEST = 'fedciss-dataset.json';

export interface FolderManifest {
  format: typeof MANIFEST_FORMAT;
  classes: Record<string, string>;
  samples: Array<{ image: string; mask: string; patient: string; annotated?: string[] }>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Scans a plain folder described by a manifest. Never throws for bad data. */
export async function scanFolder(root: string, options: { roster: readonly RosterEntry[]; manifest?: string; concurrency?: number; facts?: FileFacts }): Promise<ScanResult> {
  const report = new ReadReport(root);
  const facts = options.facts ?? new FileFacts();
  const ids = rosterIndex(options.roster);
  const manifestPath = resolve(root, options.manifest ?? DEFAULT_MANIFEST);
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    report.skip(manifestPath, 'bad-manifest', `cannot read manifest ${manifestPath}: ${(err as Error).message}`);
    report.skip(root, 'empty-dataset', `no usable sample under ${root}`);
    return { samples: [], report };
  }
  if (!isRecord(manifest) || manifest['format'] !== MANIFEST_FORMAT || !isRecord(manifest['classes']) || !Array.isArray(manifest['samples'])) {
    report.skip(manifestPath, 'bad-manifest', `${manifestPath}: expected { "format": "${MANIFEST_FORMAT}", "classes": {...}, "samples": [...] }`);
    report.skip(root, 'empty-dataset', `no usable sample under ${root}`);
    return { samples: [], report };
  }
  const valueToClass: Record<number, number> = { 0: 0, 255: 255 };
  const valueToName = new Map<number, string>();
  for (const [k, name] of Object.entries(manifest['classes'])) {
    const v = Number(k);
    if (!Number.isInteger(v) || v < 1 || v > 254 || typeof name !== 'string') {
      report.skip(manifestPath, 'bad-manifest', `${manifestPath}: class value '${k}' must be 1..254 with a name`);
      continue;
    }
    valueToName.set(v, normaliseName(name));
    valueToClass[v] = ids.get(normaliseName(name)) ?? 0;
  }
  const rosterIds = options.roster.map((r) => r.id);
  const entries = manifest['samples'] as unknown[];
  const out = await mapPool(entries, options.concurrency ?? 8, async (entry, i): Promise<SampleRef | undefined> => {
    if (!isRecord(entry) || typeof entry['image'] !== 'string' || typeof entry['mask'] !== 'string' || typeof entry['patient'] !== 'string') {
      report.skip(`${manifestPath}#samples[${i}]`, 'bad-manifest', `${manifestPath}: samples[${i}] needs string image, mask and patient`);
      return undefined;
    }
    const imagePath = join(root, entry['image']);
    const maskPath = join(root, entry['mask']);
    let image: FileRef;
    let size: { width: number; height: number };
    try {
      image = await facts.stat(imagePath);
      size = await facts.imageSize(image);
    } catch (err) {
      const missing = (err as Error).message.includes('missing') || (err as NodeJS.ErrnoException).code === 'ENOENT';
      report.skip(imagePath, missing ? 'unreadable' : 'corrupt-png', `${imagePath}: ${(err as Error).message}; skipped`);
      return undefined;
    }
    let mask: FileRef | undefined;
    try {
      mask = await maskOfImageSize(facts, maskPath, imagePath, size, report);
    } catch (err) {
      report.skip(maskPath, 'missing-mask', `${imagePath}: mask ${maskPath} is missing or unreadable (${(err as Error).message}); skipped`);
      return undefined;
    }
    if (!mask) return undefined;
    const annotatedNames = Array.isArray(entry['annotated']) ? (entry['annotated'] as unknown[]).map((n) => normaliseName(String(n))) : [...valueToName.values()];
    const annotated = [...new Set(annotatedNames.map((n) => ids.get(n)).filter((id): id is number => id !== undefined))].sort((a, b) => a - b);
    if (annotated.length === 0) {
      report.skip(imagePath, 'not-in-roster', `${imagePath}: none of its annotated classes (${annotatedNames.join(', ')}) is in the roster; skipped`);
      return undefined;
    }
    return {
      key: `folder:${entry['image']}`,
      surgery: entry['patient'],
      image,
      duplicates: [],
      masks: [{ kind: 'labelmap', file: mask, valueToClass }],
      annotated,
      complete: rosterIds.every((id) => annotated.includes(id)),
      sources: ['folder'],
      width: size.width,
      height: size.height,
    };
  });
  const samples = out.filter((s): s is SampleRef => s !== undefined);
  if (samples.length === 0) report.skip(root, 'empty-dataset', `no usable sample under ${root}`);
  return { samples, report };
}
