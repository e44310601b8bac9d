/**
 * Reader of the Dresden Surgical Anatomy Dataset layout (see DESIGN.md "Data"):
 *
 *   ROOT/<structure>/<surgery>/imageNN.png + maskNN.png        (white = that structure)
 *   ROOT/multilabel/<surgery>/imageNN.png + maskNN_<structure>.png (one per structure)
 *   ROOT/<folder>/<surgery>/weak_labels.csv                     (presence per structure)
 *
 * Decisions (documented for training):
 * - Merging: numbering restarts in every folder, so `imageNN` in two folders need not be the same
 *   frame. Two files are the same sample when they are in the same surgery and have identical bytes
 *   (compared by size first, then SHA-1). A merged sample carries the masks of every folder it was
 *   found in; a structure masked twice keeps the first mask found (multilabel first).
 * - Unlabelled classes: a sample from a single-structure folder annotates only that structure. Its
 *   `annotated` list holds the roster ids whose masks it has, `complete` is true only when every
 *   roster class is annotated (multilabel). When the dataset builds the label map, pixels outside
 *   every annotated mask are background (0) if the sample is complete and IGNORE_LABEL (255)
 *   otherwise (or background, if the dataset is asked for `unknown: 'background'`).
 * - Overlapping masks (multilabel): the structure with the smaller mask area wins the pixel (thin
 *   structures lie over the large organs they cross).
 * - Structures that are not in the roster: a single-structure folder of such a structure is skipped
 *   (`not-in-roster`, once per folder); in multilabel their pixels are known not to be any roster
 *   class, so they become background.
 * - Dot files are ignored; every other unexpected file or folder is reported and skipped.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type RosterEntry } from '@fedciss/ml';
import { DSAD_SPLIT, DSAD_STRUCTURES, isDsadStructure } from '@fedciss/ml/dsad';
import { FileFacts, maskOfImageSize } from './file-facts';
import { decodeMaskFull, firstNonBinaryValue } from './png';
import { mapPool } from './pool';
import { normaliseName, rosterIndex } from './roster';
import { ReadReport, type BinaryMaskRef, type FileRef, type SampleRef } from './types';

export const MULTILABEL_FOLDER = 'multilabel';

export interface ScanOptions {
  /** Roster used to map structure names to class ids. */
  roster: readonly RosterEntry[];
  /**
   * Decode every image and mask now (catches truncated PNGs and non-binary masks at scan time,
   * as `data inspect` does). Without it, only headers are read and decoding errors are reported by
   * the dataset when the sample is first loaded.
   */
  verify?: boolean;
  /** Parallel file operations (default 8). */
  concurrency?: number;
  /**
   * Trust weak_labels.csv for absence: a sample whose every unannotated roster class is marked
   * absent (0) in weak_labels.csv counts as complete, so its unmarked pixels are background rather
   * than unknown. Off by default (it relies on the weak labels being right).
   */
  weakLabelsComplete?: boolean;
  /** What earlier scans read of unchanged files (default: nothing; file-facts.ts). */
  facts?: FileFacts;
}

export interface ScanResult {
  samples: SampleRef[];
  report: ReadReport;
}

type SplitLabel = 'train' | 'validation' | 'test' | 'unassigned';

/** The official DSAD split of a surgery id (`'01'`..`'32'`); `unassigned` for anything else. */
export function officialSplitOf(surgery: string): SplitLabel {
  for (const split of ['train', 'validation', 'test'] as const) {
    if ((DSAD_SPLIT[split] as readonly string[]).includes(surgery)) return split;
  }
  return 'unassigned';
}

interface Candidate {
  folder: string; // structure name or 'multilabel'
  surgery: string;
  index: string; // NN as on disk
  image: FileRef;
  masks: BinaryMaskRef[];
  width: number;
  height: number;
  weak?: Record<string, boolean>;
}

async function listDir(path: string, report: ReadReport): Promise<{ name: string; dir: boolean }[] | undefined> {
  try {
    const entries = await readdir(path, { withFileTypes: true });
    return entries
      .filter((e) => !e.name.startsWith('.'))
      .map((e) => ({ name: e.name, dir: e.isDirectory() }))
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    report.skip(path, 'unreadable', `cannot list ${path}: ${(err as Error).message}`);
    return undefined;
  }
}

/** Parses a weak_labels.csv: a header row whose first column names the image, other columns structures; values 0/1. */
export function parseWeakLabels(text: string): Map<string, Record<string, boolean>> {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0) throw new Error('empty file');
  const sep = lines[0]!.includes(';') && !lines[0]!.includes(',') ? ';' : ',';
  const header = lines[0]!.split(sep).map((h) => normaliseName(h.replace(/"/g, '')));
  const known = new Set<string>(DSAD_STRUCTURES);
  const cols = header.map((h, i) => (i > 0 && known.has(h) ? h : undefined));
  if (!cols.some((c) => c !== undefined)) throw new Error(`header names no DSAD structure: '${lines[0]}'`);
  const out = new Map<string, Record<string, boolean>>();
  for (let r = 1; r < lines.length; r++) {
    const cells = lines[r]!.split(sep).map((c) => c.trim().replace(/"/g, ''));
    const m = /(\d+)/.exec(cells[0] ?? '');
    if (!m) throw new Error(`row ${r + 1}: first column '${cells[0]}' names no image`);
    const rec: Record<string, boolean> = {};
    cols.forEach((c, i) => {
      if (!c) return;
      const v = cells[i];
      if (v !== '0' && v !== '1') throw new Error(`row ${r + 1}, column ${c}: '${v}' is not 0 or 1`);
      rec[c] = v === '1';
    });
    out.set(String(Number(m[1])), rec);
  }
  return out;
}

/** Scans a DSAD tree. Never throws for bad data: everything skipped is in `report`. */
export async function scanDsad(root: string, options: ScanOptions): Promise<ScanResult> {
  const report = new ReadReport(root);
  const ids = rosterIndex(options.roster);
  const concurrency = options.concurrency ?? 8;
  const facts = options.facts ?? new FileFacts();
  const top = await listDir(root, report);
  const candidates: Candidate[] = [];
  const pending: Array<{ folder: string; surgery: string; dir: string }> = [];
  for (const e of top ?? []) {
    const path = join(root, e.name);
    if (!e.dir) {
      report.skip(path, 'unknown-file', `unexpected file ${path} at the dataset root (expected structure folders)`);
      continue;
    }
    const isStructure = isDsadStructure(e.name);
    if (!isStructure && e.name !== MULTILABEL_FOLDER) {
      report.skip(path, 'unknown-folder', `unknown folder ${path}: not a DSAD structure (${DSAD_STRUCTURES.join(', ')}) nor '${MULTILABEL_FOLDER}'`);
      continue;
    }
    if (isStructure && !ids.has(normaliseName(e.name))) {
      report.skip(path, 'not-in-roster', `folder ${path} skipped: structure '${e.name}' is not in the roster`);
      continue;
    }
    const surgeries = await listDir(path, report);
    for (const s of surgeries ?? []) {
      const sp = join(path, s.name);
      if (!s.dir) report.skip(sp, 'unknown-file', `unexpected file ${sp} (expected surgery folders 01..32)`);
      else if (!/^\d{1,3}$/.test(s.name)) report.skip(sp, 'unknown-folder', `unknown folder ${sp}: not a surgery number`);
      else pending.push({ folder: e.name, surgery: s.name, dir: sp });
    }
  }

  const perFolder = await mapPool(pending, concurrency, (p) => scanSurgeryFolder(p.folder, p.surgery, p.dir, ids, report, options.verify === true, concurrency, facts));
  for (const list of perFolder) candidates.push(...list);

  const samples = await mergeCandidates(candidates, options.roster, concurrency, report, options.weakLabelsComplete === true, facts);
  if (samples.length === 0) {
    report.skip(root, 'empty-dataset', `no usable sample under ${root} (expected <structure>/<surgery>/imageNN.png with maskNN.png)`);
  }
  return { samples, report };
}

async function scanSurgeryFolder(
  folder: string,
  surgery: string,
  dir: string,
  ids: Map<string, number>,
  report: ReadReport,
  verify: boolean,
  concurrency: number,
  facts: FileFacts,
): Promise<Candidate[]> {
  const entries = await listDir(dir, report);
  if (!entries) return [];
  const images = new Map<string, string>(); // NN -> file name
  const masks = new Map<string, Map<string, string>>(); // NN -> structure -> file name
  let weak: Map<string, Record<string, boolean>> | undefined;
  const multilabel = folder === MULTILABEL_FOLDER;
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.dir) {
      report.skip(path, 'unknown-folder', `unexpected folder ${path} inside a surgery folder`);
      continue;
    }
    if (e.name.toLowerCase() === 'weak_labels.csv') {
      try {
        weak = parseWeakLabels(await readFile(path, 'utf8'));
      } catch (err) {
        report.skip(path, 'bad-weak-labels', `${path}: cannot parse weak labels (${(err as Error).message}); images are read without them`);
      }
      continue;
    }
    let m = /^image(\d+)\.png$/i.exec(e.name);
    if (m) {
      images.set(m[1]!, e.name);
      continue;
    }
    m = multilabel ? /^mask(\d+)_(.+)\.png$/i.exec(e.name) : /^mask(\d+)\.png$/i.exec(e.name);
    if (m) {
      const structure = multilabel ? normaliseName(m[2]!) : folder;
      if (multilabel && !isDsadStructure(structure)) {
        report.skip(path, 'unknown-file', `${path}: '${m[2]}' is not a DSAD structure`);
        continue;
      }
      const byStructure = masks.get(m[1]!) ?? new Map<string, string>();
      byStructure.set(structure, e.name);
      masks.set(m[1]!, byStructure);
      continue;
    }
    report.skip(path, 'unknown-file', `unexpected file ${path} (expected imageNN.png, ${multilabel ? 'maskNN_<structure>.png' : 'maskNN.png'}, weak_labels.csv)`);
  }
  for (const [nn, byStructure] of masks) {
    if (!images.has(nn)) for (const name of byStructure.values()) report.skip(join(dir, name), 'mask-without-image', `${join(dir, name)} has no image${nn}.png beside it`);
  }
  const list = [...images.entries()].sort((a, b) => Number(a[0]) - Number(b[0]));
  const out = await mapPool(list, concurrency, async ([nn, name]) => {
    const imagePath = join(dir, name);
    const byStructure = masks.get(nn);
    if (!byStructure || byStructure.size === 0) {
      report.skip(imagePath, 'missing-mask', `${imagePath} has no ${multilabel ? `mask${nn}_<structure>.png` : `mask${nn}.png`}; skipped`);
      return undefined;
    }
    let image: FileRef;
    let size: { width: number; height: number };
    try {
      image = await facts.stat(imagePath);
      size = await facts.imageSize(image);
      if (verify) await decodeMaskFull(imagePath);
    } catch (err) {
      report.skip(imagePath, 'corrupt-png', `${imagePath} is not a readable PNG (${(err as Error).message}); skipped`);
      return undefined;
    }
    const maskRefs: BinaryMaskRef[] = [];
    for (const [structure, maskName] of [...byStructure.entries()].sort()) {
      const maskPath = join(dir, maskName);
      let mask: FileRef | undefined;
      try {
        mask = await maskOfImageSize(facts, maskPath, imagePath, size, report);
        if (!mask) return undefined;
        if (verify) {
          const bad = firstNonBinaryValue((await decodeMaskFull(maskPath)).data);
          if (bad !== undefined) {
            report.skip(maskPath, 'non-binary-mask', `${maskPath} is not binary (value ${bad}; expected 0 and 255 only); sample skipped`);
            return undefined;
          }
        }
      } catch (err) {
        report.skip(maskPath, 'corrupt-png', `${maskPath} is not a readable PNG (${(err as Error).message}); sample skipped`);
        return undefined;
      }
      maskRefs.push({ kind: 'binary', file: mask, structure, classId: ids.get(structure) ?? null });
    }
    const cand: Candidate = { folder, surgery, index: nn, image, masks: maskRefs, width: size.width, height: size.height };
    const w = weak?.get(String(Number(nn)));
    if (w) cand.weak = w;
    return cand;
  });
  return out.filter((c): c is Candidate => c !== undefined);
}

async function mergeCandidates(candidates: Candidate[], roster: readonly RosterEntry[], concurrency: number, report: ReadReport, weakComplete: boolean, facts: FileFacts): Promise<SampleRef[]> {
  // Multilabel first, then structure folders in name order; within a folder by image number.
  const order = (c: Candidate): string => `${c.surgery.padStart(3, '0')}/${c.folder === MULTILABEL_FOLDER ? '0' : '1' + c.folder}/${c.index.padStart(6, '0')}`;
  candidates.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  // Group by surgery + byte size; only groups of two or more need hashing.
  const groups = new Map<string, Candidate[]>();
  for (const c of candidates) {
    const k = `${c.surgery}|${c.image.size}`;
    const g = groups.get(k) ?? [];
    g.push(c);
    groups.set(k, g);
  }
  const toHash = [...groups.values()].filter((g) => g.length > 1).flat();
  const hashes = new Map<Candidate, string>();
  await mapPool(toHash, concurrency, async (c) => {
    hashes.set(c, await facts.sha1(c.image));
  });
  const byIdentity = new Map<string, SampleRef>();
  const samples: SampleRef[] = [];
  const rosterIds = roster.map((r) => r.id);
  const nameOf = new Map(roster.map((r) => [r.id, normaliseName(r.name)]));
  for (const c of candidates) {
    const identity = `${c.surgery}|${c.image.size}|${hashes.get(c) ?? c.image.path}`;
    const existing = byIdentity.get(identity);
    if (existing) {
      existing.duplicates.push(c.image.path);
      if (!existing.sources.includes(c.folder)) existing.sources.push(c.folder);
      for (const m of c.masks) if (!existing.masks.some((e) => e.kind === 'binary' && e.structure === m.structure)) existing.masks.push(m);
      if (c.weak) existing.weakLabels = { ...(existing.weakLabels ?? {}), ...c.weak };
      continue;
    }
    const s: SampleRef = {
      key: `dsad:${c.surgery}/${c.folder}/image${c.index}`,
      surgery: c.surgery,
      image: c.image,
      duplicates: [],
      masks: [...c.masks],
      annotated: [],
      complete: false,
      sources: [c.folder],
      width: c.width,
      height: c.height,
    };
    if (c.weak) s.weakLabels = { ...c.weak };
    byIdentity.set(identity, s);
    samples.push(s);
  }
  for (const s of samples) {
    const ann = new Set<number>();
    for (const m of s.masks) if (m.kind === 'binary' && m.classId !== null) ann.add(m.classId);
    s.annotated = [...ann].sort((a, b) => a - b);
    const weak = s.weakLabels;
    s.complete = rosterIds.every((id) => ann.has(id) || (weakComplete && weak !== undefined && weak[nameOf.get(id)!] === false));
  }
  return samples.filter((s) => {
    if (s.annotated.length > 0) return true;
    report.skip(s.image.path, 'not-in-roster', `${s.image.path}: none of its masks (${s.masks.map((m) => (m.kind === 'binary' ? m.structure : '?')).join(', ')}) is a roster class; skipped`);
    return false;
  });
}
