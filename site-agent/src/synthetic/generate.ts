/**
 * Writes a synthetic dataset in exactly the DSAD layout (see DESIGN.md "Data"):
 *   OUT/<structure>/<SS>/imageNN.png + maskNN.png   (every image, in each folder of a structure it shows)
 *   OUT/multilabel/<SS>/imageNN.png + maskNN_<structure>.png (all 11 masks) for a fraction of images
 *   OUT/<folder>/<SS>/weak_labels.csv                (image, then 0/1 per structure)
 * Numbering restarts in every folder, as in DSAD; copies of one scene have identical bytes, which is
 * how the reader merges them. Deterministic: same options, same bytes.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { DSAD_STRUCTURES, type DsadStructure } from '@fedciss/ml/dsad';
import { mapPool } from '../data/pool';
import type { Size } from '../data/types';
import { hashSeed, mulberry32 } from './prng';
import { renderScene, sampleAppearance, type Appearance } from './scene';

export interface GenerateOptions {
  out: string;
  /** Number of surgeries; ids are 01..N unless `surgeryIds` is given. */
  surgeries: number;
  surgeryIds?: string[];
  seed: number;
  size: Size;
  imagesPerSurgery: number;
  /** Fraction of scenes also written to `multilabel` (default 0.5). */
  multilabelFraction?: number;
  /** 'every-folder' (default): a scene goes into the folder of every structure it shows, so the reader
   * merges all its masks. 'one-folder': a scene outside `multilabel` goes into the folder of ONE of its
   * structures (picked at random), annotated for that structure only, as most DSAD frames are. */
  structureFolders?: 'every-folder' | 'one-folder';
  /** Per surgery id, structures its scenes never show (e.g. a later step's surgeries without the
   * earlier steps' organs, where only replay can remind a model of them). Others render as ever. */
  absent?: Readonly<Record<string, readonly DsadStructure[]>>;
  /** Per surgery id, structures its scenes show but nobody annotated: no mask, no structure folder,
   * 0 in weak_labels.csv (a scene whose one folder would be such a structure is not written). The
   * annotations an incremental federation had: step 0's patients labelled for step 0's classes. */
  unannotated?: Readonly<Record<string, readonly DsadStructure[]>>;
  /** Smallest visible area (pixels) for a structure to count as present (default max(3, 0.2 % of the image)). */
  minArea?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface GenerateSummary {
  out: string;
  surgeries: string[];
  /** Scenes written (in multilabel or in a structure's folder). */
  images: number;
  /** Scenes rendered but not written: annotated for no structure (see `unannotated`). */
  unwrittenImages: number;
  multilabelImages: number;
  /** Images per structure folder. */
  perStructure: Record<string, number>;
  files: number;
  seconds: number;
}

async function png(data: Uint8Array, size: Size, channels: 1 | 3): Promise<Buffer> {
  const img = sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width: size.width, height: size.height, channels } });
  return (channels === 1 ? img.toColourspace('b-w') : img)
    .png({ compressionLevel: 6, adaptiveFiltering: false })
    .toBuffer();
}

const pad = (n: number): string => String(n).padStart(2, '0');

export function surgeryIdsFor(options: Pick<GenerateOptions, 'surgeries' | 'surgeryIds'>): string[] {
  if (options.surgeryIds && options.surgeryIds.length > 0) return [...options.surgeryIds];
  return Array.from({ length: options.surgeries }, (_, i) => pad(i + 1));
}

export async function generateSynthetic(options: GenerateOptions): Promise<GenerateSummary> {
  const t0 = performance.now();
  const existing = await stat(options.out).catch(() => undefined);
  if (existing && !existing.isDirectory()) throw new Error(`output ${options.out} exists and is not a folder`);
  const { size } = options;
  const n = size.width * size.height;
  const minArea = options.minArea ?? Math.max(3, Math.round(n * 0.002));
  const fraction = options.multilabelFraction ?? 0.5;
  const surgeries = surgeryIdsFor(options);
  for (const [what, bySurgery] of [['absent', options.absent], ['unannotated', options.unannotated]] as const) {
    for (const sid of Object.keys(bySurgery ?? {})) if (!surgeries.includes(sid)) throw new Error(`${what} structures are given for surgery ${sid}, which is not generated (${surgeries.join(', ')})`);
  }
  const empty = await png(new Uint8Array(n), size, 1);
  const perStructure: Record<string, number> = Object.fromEntries(DSAD_STRUCTURES.map((s) => [s, 0]));
  let files = 0;
  let multilabelImages = 0;
  let unwrittenImages = 0;
  let done = 0;
  const total = surgeries.length * options.imagesPerSurgery;

  await mapPool(surgeries, 2, async (sid) => {
    const sNum = Number(sid) || hashSeed(...[...sid].map((ch) => ch.charCodeAt(0)));
    const app: Appearance = sampleAppearance(mulberry32(hashSeed(options.seed, sNum, 0xa77)));
    const pick = mulberry32(hashSeed(options.seed, sNum, 0x3117));
    const pickFolder = mulberry32(hashSeed(options.seed, sNum, 0xf01d));
    const absent = new Set(options.absent?.[sid] ?? []);
    const unannotated = new Set(options.unannotated?.[sid] ?? []);
    const counters = new Map<string, number>();
    const weak = new Map<string, string[]>(); // folder -> csv rows
    const writes: Array<[string, Buffer]> = [];
    for (let j = 0; j < options.imagesPerSurgery; j++) {
      const scene = renderScene(size.width, size.height, hashSeed(options.seed, sNum, j, 0x5ce9e), app, absent);
      // Masks per structure; too small a visible area counts as absent (and is cleared).
      const masks = DSAD_STRUCTURES.map(() => new Uint8Array(n));
      const areas = new Array<number>(DSAD_STRUCTURES.length).fill(0);
      for (let i = 0; i < n; i++) {
        const o = scene.owner[i]!;
        if (o >= 1 && o <= DSAD_STRUCTURES.length) {
          masks[o - 1]![i] = 255;
          areas[o - 1]!++;
        }
      }
      const present = areas.map((a) => a >= minArea);
      // What the masks and folders say: drawn, large enough, and annotated.
      const marked = present.map((p, k) => p && !unannotated.has(DSAD_STRUCTURES[k]!));
      const imagePng = await png(scene.rgb, size, 3);
      const maskPngs = await Promise.all(masks.map((m, k) => (marked[k] ? png(m, size, 1) : Promise.resolve(empty))));
      const row = (name: string): string => [name, ...marked.map((p) => (p ? '1' : '0'))].join(',');
      const place = (folder: string): string => {
        const nn = counters.get(folder) ?? 0;
        counters.set(folder, nn + 1);
        return pad(nn);
      };
      const inMultilabel = pick() < fraction || !present.some((p) => p);
      if (inMultilabel) {
        const nn = place('multilabel');
        const dir = join(options.out, 'multilabel', sid);
        writes.push([join(dir, `image${nn}.png`), imagePng]);
        DSAD_STRUCTURES.forEach((s, k) => writes.push([join(dir, `mask${nn}_${s}.png`), marked[k] ? maskPngs[k]! : empty]));
        weak.set('multilabel', [...(weak.get('multilabel') ?? []), row(`image${nn}.png`)]);
        multilabelImages++;
      }
      // The folder is picked among the structures shown, annotated or not, so that the other scenes
      // land where they would without `unannotated`.
      const shown = DSAD_STRUCTURES.map((_, k) => k).filter((k) => present[k]);
      const only = options.structureFolders === 'one-folder' && !inMultilabel ? shown[Math.floor(pickFolder() * shown.length)] : undefined;
      let written = inMultilabel;
      DSAD_STRUCTURES.forEach((s, k) => {
        if (!marked[k] || (only !== undefined && k !== only)) return;
        written = true;
        const nn = place(s);
        const dir = join(options.out, s, sid);
        writes.push([join(dir, `image${nn}.png`), imagePng]);
        writes.push([join(dir, `mask${nn}.png`), maskPngs[k]!]);
        weak.set(s, [...(weak.get(s) ?? []), row(`image${nn}.png`)]);
        perStructure[s]!++;
      });
      if (!written) unwrittenImages++;
      done++;
      options.onProgress?.(done, total);
    }
    const header = ['image', ...DSAD_STRUCTURES].join(',');
    for (const [folder, rows] of weak) writes.push([join(options.out, folder, sid, 'weak_labels.csv'), Buffer.from([header, ...rows].join('\n') + '\n')]);
    const dirs = new Set(writes.map(([p]) => dirname(p)));
    for (const d of dirs) await mkdir(d, { recursive: true });
    await mapPool(writes, 16, ([p, b]) => writeFile(p, b));
    files += writes.length;
  });
  return {
    out: options.out,
    surgeries,
    images: total - unwrittenImages,
    unwrittenImages,
    multilabelImages,
    perStructure,
    files,
    seconds: (performance.now() - t0) / 1000,
  };
}
