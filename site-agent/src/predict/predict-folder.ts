/** Runs an exported segmenter (.onnx with fedciss metadata) on a folder of frames at their own size:
 * each frame is resized to the model's input (bilinear), its label map resized back (nearest), and
 * written as a label map (PNG, grey value = class id) and an overlay (the frame with the classes'
 * colours blended in). What a hospital uses to look at a model on its own footage. */
import { readdirSync, readFileSync, mkdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { argmaxLabels, InferenceRunner, readModelMetadata, rgbOf, type ModelMetadata, type RuntimeOptions } from '@fedciss/ml';
import { hwcToChw } from '../data/dataset';
import { mapPool } from '../data/pool';
import { decodeRgbResized, readImageSize, resizeNearest } from '../data/png';

export interface PredictFolderOptions {
  readonly model: string;
  readonly images: string;
  readonly out: string;
  /** Frames per inference call (a model without a dynamic batch runs one at a time). */
  readonly batch: number;
  /** Opacity of the class colours in the overlays, 0..1. */
  readonly alpha: number;
  readonly runtime?: RuntimeOptions;
  readonly onFrame?: (done: number, total: number) => void;
}

export interface PredictFolderResult {
  readonly model: string;
  readonly frames: number;
  readonly batch: number;
  /** Wall time of everything (decode, resize, inference, resize back, PNG writes). */
  readonly seconds: number;
  readonly framesPerSecond: number;
  /** Inference calls only. */
  readonly modelFramesPerSecond: number;
  /** Pixels of each class over all frames, by class name. */
  readonly pixels: Readonly<Record<string, number>>;
  readonly outputs: readonly { readonly frame: string; readonly labels: string; readonly overlay: string; readonly width: number; readonly height: number }[];
}

const FRAME_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

/** Frames of a folder (PNG/JPEG, not recursive), sorted by name. */
export function listFrames(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    throw new Error(`cannot read the frames folder ${dir}: ${(e as Error).message}`);
  }
  const frames = names.filter((n) => FRAME_EXTENSIONS.has(extname(n).toLowerCase()) && statSync(join(dir, n)).isFile()).sort();
  if (!frames.length) throw new Error(`${dir} holds no .png or .jpg frames`);
  return frames.map((n) => join(dir, n));
}

/** CHW float input of one frame as the metadata prescribes: (pixel * scale - mean) / std. */
async function frameInput(path: string, m: ModelMetadata): Promise<Float32Array> {
  const { width: W, height: H, scale, mean, std } = m.input;
  const chw = hwcToChw(await decodeRgbResized(path, W, H), W, H);
  const out = new Float32Array(chw.length);
  const n = W * H;
  for (let c = 0; c < 3; c++) for (let i = 0; i < n; i++) out[c * n + i] = (chw[c * n + i] * scale - mean[c]) / std[c];
  return out;
}

/** The frame at full size (RGB bytes) with the colour of every non-background class blended in. */
async function overlay(path: string, labels: Uint8Array, width: number, height: number, colors: readonly (readonly number[])[], alpha: number): Promise<Buffer> {
  const frame = await sharp(path, { failOn: 'error' }).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  if (frame.info.width !== width || frame.info.height !== height) throw new Error(`${path} changed size while it was read`);
  const rgb = frame.info.channels === 3 ? frame.data : Buffer.from(Uint8Array.from({ length: width * height * 3 }, (_, i) => frame.data[Math.floor(i / 3) * frame.info.channels]));
  for (let p = 0; p < width * height; p++) {
    const k = labels[p];
    if (k === 0) continue;
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = Math.round((1 - alpha) * rgb[p * 3 + c] + alpha * colors[k][c]);
  }
  return rgb;
}

export async function predictFolder(o: PredictFolderOptions): Promise<PredictFolderResult> {
  if (!(o.alpha >= 0 && o.alpha <= 1)) throw new Error(`alpha must be between 0 and 1 (got ${o.alpha})`);
  if (!Number.isInteger(o.batch) || o.batch < 1) throw new Error(`batch must be a positive integer (got ${o.batch})`);
  let bytes: Buffer;
  try {
    bytes = readFileSync(o.model);
  } catch (e) {
    throw new Error(`cannot read the model ${o.model}: ${(e as Error).message}`);
  }
  let m: ModelMetadata;
  try {
    m = readModelMetadata(bytes);
  } catch (e) {
    throw new Error(`${o.model}: ${(e as Error).message} (export it with "coordinator models export" or GET /api/models/VERSION/model.onnx)`);
  }
  const frames = listFrames(o.images);
  mkdirSync(o.out, { recursive: true });
  const K = m.classes.length;
  const { width: W, height: H, channels } = m.input;
  const batch = m.dynamicBatch ? o.batch : 1;
  const colors = m.classes.map((c) => rgbOf(c.color));
  const pixels = new Array<number>(K).fill(0);
  const outputs: PredictFolderResult['outputs'][number][] = [];
  const runner = await InferenceRunner.fromBytes(bytes, o.runtime);
  let modelMs = 0;
  const t0 = performance.now();
  // The next batch is decoded while this one runs and is written out.
  const load = (at: number) => {
    const paths = frames.slice(at, at + batch);
    const named = <T>(p: string, work: Promise<T>) => work.catch((e: Error) => Promise.reject(new Error(`frame ${p}: ${e.message}`)));
    const loaded = Promise.all([Promise.all(paths.map((p) => named(p, readImageSize(p)))), Promise.all(paths.map((p) => named(p, frameInput(p, m))))]);
    loaded.catch(() => undefined); // awaited below; a failure must not surface as unhandled meanwhile
    return { paths, loaded };
  };
  let next = load(0);
  try {
    for (let at = 0; at < frames.length; at += batch) {
      const { paths, loaded } = next;
      const [sizes, inputs] = await loaded;
      if (at + batch < frames.length) next = load(at + batch);
      const data = new Float32Array(paths.length * channels * H * W);
      inputs.forEach((x, i) => data.set(x, i * channels * H * W));
      const m0 = performance.now();
      const out = await runner.run({ [m.input.name]: { shape: [paths.length, channels, H, W], data } });
      modelMs += performance.now() - m0;
      const labels = argmaxLabels(out.logits.data as Float32Array, paths.length, K, H * W);
      await mapPool(paths, 2, async (path, i) => {
        const { width, height } = sizes[i];
        const full = await resizeNearest(labels.subarray(i * H * W, (i + 1) * H * W), W, H, width, height);
        for (let p = 0; p < full.length; p++) pixels[full[p]]++;
        const stem = basename(path, extname(path));
        const labelsPath = join(o.out, `${stem}.labels.png`);
        const overlayPath = join(o.out, `${stem}.overlay.png`);
        await sharp(Buffer.from(full.buffer, full.byteOffset, full.byteLength), { raw: { width, height, channels: 1 } }).toColourspace('b-w').png().toFile(labelsPath);
        await sharp(await overlay(path, full, width, height, colors, o.alpha), { raw: { width, height, channels: 3 } }).png().toFile(overlayPath);
        outputs.push({ frame: path, labels: labelsPath, overlay: overlayPath, width, height });
      });
      o.onFrame?.(Math.min(at + batch, frames.length), frames.length);
    }
  } finally {
    await runner.release();
  }
  const seconds = (performance.now() - t0) / 1000;
  outputs.sort((a, b) => a.frame.localeCompare(b.frame));
  return {
    model: m.version,
    frames: frames.length,
    batch,
    seconds,
    framesPerSecond: frames.length / seconds,
    modelFramesPerSecond: frames.length / (modelMs / 1000),
    pixels: Object.fromEntries(m.classes.map((c) => [c.name, pixels[c.id]])),
    outputs,
  };
}
