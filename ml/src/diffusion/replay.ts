/** Replay sets: synthetic images from the generator, pseudo-labelled by the previous step's model
 * (the teacher, reached through a callback so this module does not depend on the segmenter),
 * with low-confidence pixels set to the ignore label; stored on the site's disk as PNGs plus a
 * manifest, and reused across rounds while the key matches.
 *
 * Layout of a replay folder:
 *   manifest.json          ReplayManifest (key, geometry, sampling, checks, files)
 *   images/000000.png      RGB 8-bit
 *   labels/000000.png      greyscale 8-bit class ids, 255 = ignore */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeOptions } from '../runtime/session';
import type { NamedTensors } from '../weights/named-tensors';
import { IGNORE_LABEL } from '../nn/losses';
import { balancedSubset, classShares } from '../replay/balance';
import { checkGeneratedImages, GeneratorChecks, PrivacyOptions } from './checks';
import { ImageSet, imageList, quantise8 } from './images';
import { decodePng, encodePng, planarToPng, pngToPlanar } from '../images/png';
import { DiffusionSampler } from './sample';
import { diffusionGeometry, type DiffusionConfig } from './unet';

export const REPLAY_FORMAT = 'fedciss-replay/1';

export interface ReplayImageSize {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** What the teacher returns for a batch: softmax probabilities [count, classes, H, W], or hard
 * labels [count, H, W] with an optional confidence per pixel (pixels without confidence count as
 * confident). */
export type ReplayLabellerResult =
  | { readonly probabilities: Float32Array; readonly classes: number }
  | { readonly labels: Uint8Array | Int32Array | BigInt64Array; readonly confidence?: Float32Array };

/** The previous segmenter: images [count, C, H, W] in [0, 1]. */
export type ReplayLabeller = (images: Float32Array, count: number, size: ReplayImageSize) => Promise<ReplayLabellerResult>;

export interface ReplayManifest {
  readonly format: typeof REPLAY_FORMAT;
  readonly key: string;
  readonly step: number;
  readonly createdAt: string;
  readonly count: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  readonly ignoreIndex: number;
  readonly confidenceThreshold: number;
  readonly sampling: { readonly steps: number; readonly eta: number; readonly seed: number };
  /** Images sampled before the class-balanced choice of `count` (absent: no choice). */
  readonly pool?: number;
  /** Fraction of all pixels that kept a label. */
  readonly labelledFraction: number;
  /** Pixel count per label value that occurs (ignore included), keyed by the value. */
  readonly labelHistogram: Record<string, number>;
  /** Generated samples left out because the privacy check flagged them (indices before removal). */
  readonly dropped: number[];
  readonly checks: GeneratorChecks | null;
  readonly files: { readonly image: string; readonly label: string }[];
}

export interface ReplaySet {
  readonly dir: string;
  readonly manifest: ReplayManifest;
  /** [count, C, H, W] in [0, 1], 8-bit quantised (equal to what the PNGs hold). */
  readonly images: Float32Array;
  /** [count, H, W]; IGNORE_LABEL where the teacher was not confident. */
  readonly labels: Uint8Array;
  /** Whether it was loaded from disk rather than generated now. */
  readonly reused: boolean;
}

export interface ReplayProgress {
  readonly phase: 'sampling' | 'labelling' | 'checking' | 'writing';
  readonly done: number;
  readonly total: number;
}

export interface ReplaySetOptions {
  /** The folder of this replay set (created; replaced when the key differs). */
  readonly dir: string;
  /** Identity of the set (see replayKey): a folder with the same key is loaded instead. */
  readonly key: string;
  /** The incremental step t the set serves. */
  readonly step: number;
  readonly config: DiffusionConfig;
  /** Generator weights (normally the EMA weights). */
  readonly weights: NamedTensors;
  readonly count: number;
  /** Sample this many images (>= count), let the labeller label them all, and keep `count` of
   * them balanced over the classes it labels (replay/balance.ts); default count (no choice). */
  readonly pool?: number;
  readonly labeller: ReplayLabeller;
  /** Pixels whose teacher confidence is below this get IGNORE_LABEL; default 0.7. */
  readonly confidenceThreshold?: number;
  /** DDIM steps (default 50), eta (default 0), seed (default 1). */
  readonly samplingSteps?: number;
  readonly eta?: number;
  readonly seed?: number;
  /** Images per denoiser run and per labeller call; default 16. */
  readonly batchSize?: number;
  /** The site's training images at the generator's resolution, for the realism and privacy
   * checks; without them the checks are skipped (manifest.checks = null). */
  readonly trainingImages?: ImageSet;
  readonly privacy?: PrivacyOptions;
  /** Leave out samples that the privacy check flags (default true). */
  readonly dropFlagged?: boolean;
  readonly runtime?: RuntimeOptions;
  readonly onProgress?: (p: ReplayProgress) => void;
}

/** SHA-256 over names, shapes and bytes of the weights (in name order). */
export function weightsDigest(weights: NamedTensors): string {
  const h = createHash('sha256');
  for (const name of [...weights.keys()].sort()) {
    const t = weights.get(name)!;
    h.update(`${name}[${t.shape.join(',')}]`);
    h.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  }
  return h.digest('hex');
}

/** A replay key from everything that determines the set's content. */
export function replayKey(parts: {
  readonly step: number;
  /** The teacher model's id (e.g. its content hash in the model store). */
  readonly teacherId: string;
  readonly generatorWeights: NamedTensors | string;
  readonly count: number;
  readonly pool?: number;
  readonly samplingSteps?: number;
  readonly eta?: number;
  readonly seed?: number;
  readonly confidenceThreshold?: number;
}): string {
  const gen = typeof parts.generatorWeights === 'string' ? parts.generatorWeights : weightsDigest(parts.generatorWeights);
  const canon = JSON.stringify([
    REPLAY_FORMAT, parts.step, parts.teacherId, gen, parts.count,
    parts.samplingSteps ?? 50, parts.eta ?? 0, parts.seed ?? 1, parts.confidenceThreshold ?? 0.7,
    // Only a pool changes the key: sets drawn without one keep theirs.
    ...(parts.pool !== undefined && parts.pool !== parts.count ? [parts.pool] : []),
  ]);
  return createHash('sha256').update(canon).digest('hex').slice(0, 32);
}

/** Turns a labeller result into labels [count, H, W] with low-confidence pixels ignored. */
export function pseudoLabels(result: ReplayLabellerResult, count: number, height: number, width: number, threshold: number): Uint8Array {
  const hw = height * width;
  const out = new Uint8Array(count * hw);
  if ('probabilities' in result) {
    const { probabilities: p, classes: K } = result;
    if (p.length !== count * K * hw) throw new Error(`labeller: ${p.length} probabilities for ${count} images of ${K} classes at ${height}x${width}`);
    if (K > IGNORE_LABEL) throw new Error(`labeller: ${K} classes do not fit 8-bit labels`);
    for (let n = 0; n < count; n++) {
      const base = n * K * hw;
      for (let i = 0; i < hw; i++) {
        let best = 0;
        let bp = p[base + i];
        for (let k = 1; k < K; k++) {
          const v = p[base + k * hw + i];
          if (v > bp) (bp = v), (best = k);
        }
        out[n * hw + i] = bp >= threshold ? best : IGNORE_LABEL;
      }
    }
    return out;
  }
  const { labels, confidence } = result;
  if (labels.length !== count * hw) throw new Error(`labeller: ${labels.length} labels for ${count} images at ${height}x${width}`);
  if (confidence && confidence.length !== labels.length) throw new Error('labeller: confidence and labels differ in length');
  for (let i = 0; i < out.length; i++) {
    const l = Number(labels[i]);
    const ok = l >= 0 && l < IGNORE_LABEL && (!confidence || confidence[i] >= threshold);
    out[i] = ok ? l : IGNORE_LABEL;
  }
  return out;
}

const pad6 = (i: number) => String(i).padStart(6, '0');

/** Loads a replay set; null when the folder has none, or one with another key (when given). */
export async function loadReplaySet(dir: string, key?: string): Promise<ReplaySet | null> {
  let manifest: ReplayManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ReplayManifest;
  } catch {
    return null;
  }
  if (manifest.format !== REPLAY_FORMAT || (key !== undefined && manifest.key !== key)) return null;
  const { count, channels: C, height: H, width: W } = manifest;
  const px = C * H * W;
  const images = new Float32Array(count * px);
  const labels = new Uint8Array(count * H * W);
  for (let i = 0; i < count; i++) {
    const f = manifest.files[i];
    const im = pngToPlanar(await readFile(join(dir, f.image)));
    if (im.channels !== C || im.height !== H || im.width !== W) throw new Error(`replay set ${dir}: ${f.image} is ${im.channels}x${im.height}x${im.width}, the manifest says ${C}x${H}x${W}`);
    images.set(im.image, i * px);
    const lab = decodePng(await readFile(join(dir, f.label)));
    if (lab.channels !== 1 || lab.width !== W || lab.height !== H) throw new Error(`replay set ${dir}: ${f.label} is not a ${W}x${H} greyscale label map`);
    labels.set(lab.data, i * H * W);
  }
  return { dir, manifest, images, labels, reused: true };
}

/** Loads the set at `dir` if its key matches, otherwise generates, labels, checks and stores it. */
export async function ensureReplaySet(o: ReplaySetOptions): Promise<ReplaySet> {
  const existing = await loadReplaySet(o.dir, o.key);
  if (existing) return existing;
  return generateReplaySet(o);
}

/** Generates a replay set and writes it to `o.dir` (replacing what was there). */
export async function generateReplaySet(o: ReplaySetOptions): Promise<ReplaySet> {
  const c = o.config;
  const { channels: C, height: H, width: W } = diffusionGeometry(c);
  const px = C * H * W;
  const hw = H * W;
  const B = o.batchSize ?? 16;
  const threshold = o.confidenceThreshold ?? 0.7;
  const steps = o.samplingSteps ?? 50;
  const eta = o.eta ?? 0;
  const seed = o.seed ?? 1;
  if (!Number.isInteger(o.count) || o.count < 1) throw new Error(`replay set: count must be a positive integer, got ${o.count}`);
  const drawn = o.pool ?? o.count;
  if (!Number.isInteger(drawn) || drawn < o.count) throw new Error(`replay set: pool must be an integer >= count ${o.count}, got ${o.pool}`);

  const sampler = await DiffusionSampler.create(c, o.weights, { batchSize: Math.min(B, drawn), runtime: o.runtime });
  let generated: Float32Array;
  try {
    generated = await sampler.sample({
      count: drawn, steps, eta, seed,
      onProgress: (p) => o.onProgress?.({ phase: 'sampling', done: p.done, total: p.total }),
    });
  } finally {
    await sampler.release();
  }
  quantise8(generated); // label exactly what is stored

  let checks: GeneratorChecks | null = null;
  let keep = Array.from({ length: drawn }, (_, i) => i);
  const dropped: number[] = [];
  if (o.trainingImages) {
    o.onProgress?.({ phase: 'checking', done: 0, total: 1 });
    checks = checkGeneratedImages(generated, imageList(o.trainingImages, px, 'replay set training images'), { channels: C, height: H, width: W }, o.privacy);
    if (o.dropFlagged ?? true) {
      const bad = new Set(checks.privacy.flagged.map((f) => f.sample));
      dropped.push(...[...bad].sort((a, b) => a - b));
      keep = keep.filter((i) => !bad.has(i));
    }
    o.onProgress?.({ phase: 'checking', done: 1, total: 1 });
  }
  let count = keep.length;
  let images = new Float32Array(count * px);
  keep.forEach((src, i) => images.set(generated.subarray(src * px, (src + 1) * px), i * px));

  let labels = new Uint8Array(count * hw);
  let classes = 0;
  for (let first = 0; first < count; first += B) {
    const n = Math.min(B, count - first);
    const batch = images.subarray(first * px, (first + n) * px);
    const result = await o.labeller(batch, n, { channels: C, height: H, width: W });
    if ('probabilities' in result) classes = result.classes;
    labels.set(pseudoLabels(result, n, H, W, threshold), first * hw);
    o.onProgress?.({ phase: 'labelling', done: first + n, total: count });
  }
  if (count > o.count) {
    // The pool: keep `count` balanced over the classes the teacher labelled.
    // Hard labels carry no class count: the highest label seen decides it.
    let K = classes;
    if (!K) for (const l of labels) if (l !== IGNORE_LABEL && l >= K) K = l + 1;
    const picked = balancedSubset(Array.from({ length: count }, (_, i) => classShares(labels.subarray(i * hw, (i + 1) * hw), K)), o.count);
    const pickedImages = new Float32Array(picked.length * px);
    const pickedLabels = new Uint8Array(picked.length * hw);
    picked.forEach((src, i) => {
      pickedImages.set(images.subarray(src * px, (src + 1) * px), i * px);
      pickedLabels.set(labels.subarray(src * hw, (src + 1) * hw), i * hw);
    });
    [images, labels, count, keep] = [pickedImages, pickedLabels, picked.length, picked.map((i) => keep[i])];
  }
  const histogram: Record<string, number> = {};
  let labelled = 0;
  for (const l of labels) {
    histogram[l] = (histogram[l] ?? 0) + 1;
    if (l !== IGNORE_LABEL) labelled++;
  }

  const files = keep.map((_, i) => ({ image: `images/${pad6(i)}.png`, label: `labels/${pad6(i)}.png` }));
  const manifest: ReplayManifest = {
    format: REPLAY_FORMAT,
    key: o.key,
    step: o.step,
    createdAt: new Date().toISOString(),
    count,
    channels: C,
    height: H,
    width: W,
    ignoreIndex: IGNORE_LABEL,
    confidenceThreshold: threshold,
    sampling: { steps, eta, seed },
    ...(drawn > o.count ? { pool: drawn } : {}),
    labelledFraction: labels.length ? labelled / labels.length : 0,
    labelHistogram: histogram,
    dropped,
    checks,
    files,
  };
  // write next to the target, then swap it in, so a crash never leaves a half-written set
  const tmp = `${o.dir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(join(tmp, 'images'), { recursive: true });
  await mkdir(join(tmp, 'labels'), { recursive: true });
  for (let i = 0; i < count; i++) {
    if (C !== 1 && C !== 3) throw new Error(`replay set: ${C}-channel images cannot be stored as PNG`);
    await writeFile(join(tmp, files[i].image), planarToPng(images.subarray(i * px, (i + 1) * px), C, H, W));
    await writeFile(join(tmp, files[i].label), encodePng({ width: W, height: H, channels: 1, data: labels.subarray(i * hw, (i + 1) * hw) }));
    if ((i + 1) % 16 === 0 || i + 1 === count) o.onProgress?.({ phase: 'writing', done: i + 1, total: count });
  }
  await writeFile(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1));
  await rm(o.dir, { recursive: true, force: true });
  await rename(tmp, o.dir);
  return { dir: o.dir, manifest, images, labels, reused: false };
}
