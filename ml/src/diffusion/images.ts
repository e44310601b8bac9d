/** Image-set helpers shared by training, sampling, checks and replay sets. An image is a
 * Float32Array C x H x W (planar, NCHW without N) with values in [0, 1]. */
import { seededRandom } from '../init/initializers';

import { resizeImage } from '../images/resize';

export { resizeImage };

/** A set of images: one array per image, or all of them stacked in one array. */
export type ImageSet = readonly Float32Array[] | Float32Array;

/** One array per image (views into a stacked array, no copy). */
export function imageList(images: ImageSet, pixelsPerImage: number, what = 'images'): Float32Array[] {
  if (!(images instanceof Float32Array)) {
    images.forEach((im, i) => {
      if (im.length !== pixelsPerImage) throw new Error(`${what}: image ${i} has ${im.length} values, expected ${pixelsPerImage}`);
    });
    return [...images];
  }
  if (images.length % pixelsPerImage !== 0) throw new Error(`${what}: ${images.length} values are not a whole number of ${pixelsPerImage}-value images`);
  const out: Float32Array[] = [];
  for (let o = 0; o < images.length; o += pixelsPerImage) out.push(images.subarray(o, o + pixelsPerImage));
  return out;
}

/** Stacks images into one array [count, ...]. */
export function stackImages(images: readonly Float32Array[]): Float32Array {
  const n = images.reduce((a, im) => a + im.length, 0);
  const out = new Float32Array(n);
  let o = 0;
  for (const im of images) out.set(im, o), (o += im.length);
  return out;
}

/** A seeded standard-normal generator (Box-Muller, both values used). */
export function gaussianSource(seed: number): () => number {
  const rand = seededRandom(seed);
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const s = spare;
      spare = undefined;
      return s;
    }
    const u = Math.max(rand(), 1e-12);
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * rand();
    spare = r * Math.sin(a);
    return r * Math.cos(a);
  };
}

export function fillGaussian(out: Float32Array, next: () => number): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = next();
  return out;
}

/** A 32-bit mix of two integers (for per-image seeds independent of batching). */
export function mixSeed(seed: number, index: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** Rounds values in [0, 1] to the nearest of 256 levels (what an 8-bit PNG stores), in place. */
export function quantise8(data: Float32Array): Float32Array {
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(Math.max(data[i], 0), 1) * 255) / 255;
  return data;
}

/** Brings site images of any size (planar C x H x W in [0, 1]) to the generator's size (a side
 * for squares, or height and width): 'crop' takes the largest centred region of the target's
 * aspect ratio and resizes it (default; keeps proportions), 'squash' resizes the whole frame. */
export function fitImages(
  images: ImageSet,
  from: { readonly channels: number; readonly height: number; readonly width: number },
  size: number | { readonly height: number; readonly width: number },
  mode: 'crop' | 'squash' = 'crop',
): Float32Array[] {
  const { channels: C, height: H, width: W } = from;
  const toH = typeof size === 'number' ? size : size.height;
  const toW = typeof size === 'number' ? size : size.width;
  return imageList(images, C * H * W, 'fitImages').map((im) => {
    // the crop: as wide as the frame allows at the target's aspect ratio
    const cropW = Math.min(W, Math.round((H * toW) / toH));
    const cropH = Math.min(H, Math.round((W * toH) / toW));
    if (mode === 'squash' || (cropW === W && cropH === H)) return resizeImage(im, C, H, W, toH, toW);
    const y0 = Math.floor((H - cropH) / 2);
    const x0 = Math.floor((W - cropW) / 2);
    const crop = new Float32Array(C * cropH * cropW);
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < cropH; y++) {
        const src = c * H * W + (y0 + y) * W + x0;
        crop.set(im.subarray(src, src + cropW), c * cropH * cropW + y * cropW);
      }
    }
    return resizeImage(crop, C, cropH, cropW, toH, toW);
  });
}
