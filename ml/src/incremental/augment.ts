/** Data preparation and augmentation on plain arrays: images are CHW float32 in [0, 1], labels
 * HW uint8 with 255 = ignore. Everything takes a seeded random source (deterministic runs). */
import { IGNORE_LABEL } from './losses';

export interface AugmentOptions {
  /** Probability of a horizontal flip (default 0.5). */
  readonly flip?: number;
  /** Random scale range before cropping back to the input size (default [0.8, 1.25]); [1, 1] disables. */
  readonly scale?: readonly [number, number];
  /** Colour jitter amplitude of brightness, contrast and saturation (default 0.2); 0 disables. */
  readonly colorJitter?: number;
}

/** Bilinear resize of a CHW image (half-pixel centres). */
export function resizeImage(img: Float32Array, c: number, h: number, w: number, H: number, W: number): Float32Array {
  if (h === H && w === W) return img;
  const out = new Float32Array(c * H * W);
  const sy = h / H;
  const sx = w / W;
  for (let y = 0; y < H; y++) {
    const fy = Math.min(Math.max((y + 0.5) * sy - 0.5, 0), h - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, h - 1);
    const wy = fy - y0;
    for (let x = 0; x < W; x++) {
      const fx = Math.min(Math.max((x + 0.5) * sx - 0.5, 0), w - 1);
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, w - 1);
      const wx = fx - x0;
      for (let k = 0; k < c; k++) {
        const base = k * h * w;
        const top = img[base + y0 * w + x0] * (1 - wx) + img[base + y0 * w + x1] * wx;
        const bot = img[base + y1 * w + x0] * (1 - wx) + img[base + y1 * w + x1] * wx;
        out[k * H * W + y * W + x] = top * (1 - wy) + bot * wy;
      }
    }
  }
  return out;
}

/** Nearest-neighbour resize of an HW label map (pixel centres). */
export function resizeLabel(lab: Uint8Array, h: number, w: number, H: number, W: number): Uint8Array {
  if (h === H && w === W) return lab;
  const out = new Uint8Array(H * W);
  for (let y = 0; y < H; y++) {
    const sy = Math.min(Math.floor(((y + 0.5) * h) / H), h - 1);
    for (let x = 0; x < W; x++) out[y * W + x] = lab[sy * w + Math.min(Math.floor(((x + 0.5) * w) / W), w - 1)];
  }
  return out;
}

/** One random augmentation of an (image, label) pair of size h x w; returns new arrays of the same size. */
export function augmentPair(
  image: Float32Array,
  label: Uint8Array,
  channels: number,
  h: number,
  w: number,
  rand: () => number,
  o: AugmentOptions = {},
): { image: Float32Array; label: Uint8Array } {
  const [smin, smax] = o.scale ?? [0.8, 1.25];
  const s = smin + (smax - smin) * rand();
  const H = Math.max(1, Math.round(h * s));
  const W = Math.max(1, Math.round(w * s));
  const img = resizeImage(image, channels, h, w, H, W);
  const lab = resizeLabel(label, h, w, H, W);
  // crop (scaled up) or pad (scaled down) back to h x w at a random offset
  const oy = Math.floor(rand() * (Math.abs(H - h) + 1));
  const ox = Math.floor(rand() * (Math.abs(W - w) + 1));
  const flip = rand() < (o.flip ?? 0.5);
  const outImg = new Float32Array(channels * h * w);
  const outLab = new Uint8Array(h * w).fill(IGNORE_LABEL);
  for (let y = 0; y < h; y++) {
    const sy = H >= h ? y + oy : y - oy;
    if (sy < 0 || sy >= H) continue;
    for (let x = 0; x < w; x++) {
      const dx = flip ? w - 1 - x : x;
      const sx = W >= w ? dx + ox : dx - ox;
      if (sx < 0 || sx >= W) continue;
      outLab[y * w + x] = lab[sy * W + sx];
      for (let k = 0; k < channels; k++) outImg[k * h * w + y * w + x] = img[k * H * W + sy * W + sx];
    }
  }
  const j = o.colorJitter ?? 0.2;
  if (j > 0) colorJitter(outImg, channels, h * w, 1 + j * (2 * rand() - 1), 1 + j * (2 * rand() - 1), 1 + j * (2 * rand() - 1));
  return { image: outImg, label: outLab };
}

/** In place: brightness (multiply), contrast (around the mean), saturation (around the grey value). */
export function colorJitter(img: Float32Array, channels: number, hw: number, brightness: number, contrast: number, saturation: number): void {
  let mean = 0;
  for (let i = 0; i < img.length; i++) mean += img[i] * brightness;
  mean /= img.length || 1;
  for (let p = 0; p < hw; p++) {
    let grey = 0;
    for (let k = 0; k < channels; k++) grey += img[k * hw + p] * brightness;
    grey /= channels;
    for (let k = 0; k < channels; k++) {
      let v = img[k * hw + p] * brightness;
      v = grey + (v - grey) * saturation;
      v = mean + (v - mean) * contrast;
      img[k * hw + p] = v < 0 ? 0 : v > 1 ? 1 : v;
    }
  }
}
