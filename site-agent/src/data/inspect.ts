/** `site-agent data inspect`: what a hospital runs before joining. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { RosterEntry } from '@fedciss/ml';
import { SegmentationDataset } from './dataset';
import { DEFAULT_MANIFEST, scanFolder } from './folder-reader';
import { officialSplitOf, scanDsad, type ScanResult } from './dsad-reader';
import { defaultDsadRoster } from './roster';
import type { SkipReason, SkippedFile } from './types';

export interface InspectOptions {
  root: string;
  format?: 'auto' | 'dsad' | 'folder';
  manifest?: string;
  roster?: RosterEntry[];
  /** Decode every file (default true): finds truncated PNGs and non-binary masks. */
  verify?: boolean;
}

export interface InspectResult {
  root: string;
  format: 'dsad' | 'folder';
  /** Distinct samples (copies of one image in several folders count once). */
  samples: number;
  /** Samples with every roster class annotated. */
  completeSamples: number;
  /** Images per folder as on disk (structure folders and multilabel; copies counted in each). */
  perStructure: Record<string, number>;
  perSurgery: Array<{ surgery: string; split: string; samples: number; perStructure: Record<string, number> }>;
  perSplit: Record<string, { surgeries: number; samples: number }>;
  skippedCount: number;
  skippedByReason: Partial<Record<SkipReason, number>>;
  skipped: SkippedFile[];
  warnings: string[];
  ok: boolean;
}

export async function inspectDataset(options: InspectOptions): Promise<InspectResult> {
  const roster = options.roster ?? defaultDsadRoster();
  const format = options.format === 'dsad' || options.format === 'folder' ? options.format : existsSync(join(options.root, options.manifest ?? DEFAULT_MANIFEST)) ? 'folder' : 'dsad';
  const verify = options.verify ?? true;
  let scan: ScanResult;
  if (format === 'folder') {
    scan = await scanFolder(options.root, { roster, ...(options.manifest ? { manifest: options.manifest } : {}) });
    if (verify && scan.samples.length > 0) {
      // Decoding catches corrupt data and bad label values; use the dataset loader at native size.
      for (const s of [...scan.samples]) {
        const ds = new SegmentationDataset([s], { size: { width: s.width, height: s.height }, memoryCache: false, report: scan.report });
        if (!(await ds.get(0))) scan.samples = scan.samples.filter((x) => x !== s);
      }
      if (scan.samples.length === 0) scan.report.skip(options.root, 'empty-dataset', `no usable sample under ${options.root}`);
    }
  } else {
    scan = await scanDsad(options.root, { roster, verify });
  }
  const perStructure: Record<string, number> = {};
  const bySurgery = new Map<string, { samples: number; perStructure: Record<string, number> }>();
  for (const s of scan.samples) {
    const entry = bySurgery.get(s.surgery) ?? { samples: 0, perStructure: {} };
    entry.samples++;
    for (const src of s.sources) {
      perStructure[src] = (perStructure[src] ?? 0) + 1;
      entry.perStructure[src] = (entry.perStructure[src] ?? 0) + 1;
    }
    bySurgery.set(s.surgery, entry);
  }
  const perSurgery = [...bySurgery.entries()]
    .sort((a, b) => a[0].localeCompare(b[0], undefined, { numeric: true }))
    .map(([surgery, e]) => ({ surgery, split: format === 'dsad' ? officialSplitOf(surgery) : 'unassigned', ...e }));
  const perSplit: Record<string, { surgeries: number; samples: number }> = {};
  for (const p of perSurgery) {
    const e = perSplit[p.split] ?? { surgeries: 0, samples: 0 };
    e.surgeries++;
    e.samples += p.samples;
    perSplit[p.split] = e;
  }
  const report = scan.report.toJSON();
  const sorted = (o: Record<string, number>): Record<string, number> => Object.fromEntries(Object.entries(o).sort((a, b) => a[0].localeCompare(b[0])));
  for (const p of perSurgery) p.perStructure = sorted(p.perStructure);
  return {
    root: options.root,
    format,
    samples: scan.samples.length,
    completeSamples: scan.samples.filter((s) => s.complete).length,
    perStructure: sorted(perStructure),
    perSurgery,
    perSplit,
    skippedCount: report.skippedCount,
    skippedByReason: report.counts,
    skipped: report.skipped,
    warnings: report.warnings,
    ok: scan.samples.length > 0,
  };
}

/** Human-readable report. */
export function formatInspect(r: InspectResult): string {
  const lines: string[] = [];
  lines.push(`Dataset ${r.root} (${r.format} layout): ${r.samples} samples, ${r.completeSamples} fully annotated`);
  lines.push('');
  lines.push('Images per folder:');
  const names = Object.keys(r.perStructure).sort();
  const width = Math.max(12, ...names.map((n) => n.length));
  for (const n of names) lines.push(`  ${n.padEnd(width)} ${String(r.perStructure[n]).padStart(6)}`);
  lines.push('');
  lines.push('Per surgery:');
  lines.push(`  ${'surgery'.padEnd(8)} ${'split'.padEnd(11)} ${'samples'.padStart(7)}  folders`);
  for (const p of r.perSurgery) {
    const folders = Object.entries(p.perStructure).sort((a, b) => a[0].localeCompare(b[0])).map(([k, v]) => `${k}:${v}`).join(' ');
    lines.push(`  ${p.surgery.padEnd(8)} ${p.split.padEnd(11)} ${String(p.samples).padStart(7)}  ${folders}`);
  }
  lines.push('');
  lines.push('Per split: ' + Object.entries(r.perSplit).map(([k, v]) => `${k} ${v.surgeries} surgeries / ${v.samples} samples`).join(', '));
  lines.push('');
  if (r.skippedCount === 0) lines.push('Skipped: nothing.');
  else {
    lines.push(`Skipped ${r.skippedCount}: ` + Object.entries(r.skippedByReason).map(([k, v]) => `${k} ${v}`).join(', '));
    for (const s of r.skipped) lines.push(`  [${s.reason}] ${s.message}`);
  }
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (!r.ok) lines.push('', `ERROR: no usable sample in ${r.root}.`);
  return lines.join('\n');
}
