/** Image-set helpers shared by training, sampling, checks and replay sets. An image is a
 * Float32Array C x H x W (planar, NCHW without N) with values in [0, 1]. */
import { seededRandom } from '../init/initializers';

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

/** Bilinear resize (half-pixel centres) of one planar image C x H x W to C x h x w. Downscaling
 * by an integer factor averages whole blocks instead (no aliasing). */
export function resizeImage(image: Float32Array, channels: number, height: number, width: number, toHeight: number, toWidth: number): Float32Array {
  if (image.length !== channels * height * width) throw new Error(`resizeImage: ${image.length} values for ${channels}x${height}x${width}`);
  if (height === toHeight && width === toWidth) return image.slice();
  const out = new Float32Array(channels * toHeight * toWidth);
  if (height % toHeight === 0 && width % toWidth === 0) {
    const fy = height / toHeight;
    const fx = width / toWidth;
    const inv = 1 / (fy * fx);
    for (let c = 0; c < channels; c++) {
      for (let y = 0; y < toHeight; y++) {
        for (let x = 0; x < toWidth; x++) {
          let s = 0;
          for (let dy = 0; dy < fy; dy++) {
            const row = c * height * width + (y * fy + dy) * width + x * fx;
            for (let dx = 0; dx < fx; dx++) s += image[row + dx];
          }
          out[c * toHeight * toWidth + y * toWidth + x] = s * inv;
        }
      }
    }
    return out;
  }
  const coord = (o: number, inSize: number, outSize: number): [number, number, number] => {
    const src = Math.min(Math.max((o + 0.5) * (inSize / outSize) - 0.5, 0), inSize - 1);
    const i0 = Math.floor(src);
    return [i0, Math.min(i0 + 1, inSize - 1), src - i0];
  };
  const ys = Array.from({ length: toHeight }, (_, y) => coord(y, height, toHeight));
  const xs = Array.from({ length: toWidth }, (_, x) => coord(x, width, toWidth));
  for (let c = 0; c < channels; c++) {
    const base = c * height * width;
    for (let y = 0; y < toHeight; y++) {
      const [y0, y1, wy] = ys[y];
      for (let x = 0; x < toWidth; x++) {
        const [x0, x1, wx] = xs[x];
        const top = image[base + y0 * width + x0] * (1 - wx) + image[base + y0 * width + x1] * wx;
        const bottom = image[base + y1 * width + x0] * (1 - wx) + image[base + y1 * width + x1] * wx;
        out[c * toHeight * toWidth + y * toWidth + x] = top * (1 - wy) + bottom * wy;
      }
    }
  }
  return out;
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
