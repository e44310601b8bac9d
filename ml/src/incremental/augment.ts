/** Data preparation and augmentation on plain arrays: images are CHW float32 in [0, 1], labels
 * HW uint8 with 255 = ignore. Everything takes a seeded random source (deterministic runs). */
import { IGNORE_LABEL } from '../nn/losses';
import { resizeImage, resizeLabel } from '../images/resize';

export interface AugmentOptions {
  /** Probability of a horizontal flip (default 0.5). */
  readonly flip?: number;
  /** Random scale range before cropping back to the input size (default [0.8, 1.25]); [1, 1] disables. */
  readonly scale?: readonly [number, number];
  /** Colour jitter amplitude of brightness, contrast and saturation (default 0.2); 0 disables. */
  readonly colorJitter?: number;
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
