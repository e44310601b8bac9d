/** PNG decode/resize helpers on top of sharp (libvips). */
import sharp from 'sharp';

/** Header-level metadata; throws on a file that is not a readable image. */
export async function readImageSize(path: string): Promise<{ width: number; height: number; format: string }> {
  const meta = await sharp(path, { failOn: 'error' }).metadata();
  if (!meta.width || !meta.height) throw new Error('image has no size');
  return { width: meta.width, height: meta.height, format: meta.format ?? 'unknown' };
}

/** Decodes an image to RGB (alpha dropped), resized with a bilinear (triangle) filter to exactly `width x height`. Returns HWC bytes. */
export async function decodeRgbResized(path: string, width: number, height: number): Promise<Buffer> {
  const { data, info } = await sharp(path, { failOn: 'error' })
    .removeAlpha()
    .toColourspace('srgb')
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels === 3) return data;
  // Grey input: sharp keeps one channel; expand.
  const out = Buffer.alloc(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    const v = data[i * info.channels]!;
    out[i * 3] = v;
    out[i * 3 + 1] = v;
    out[i * 3 + 2] = v;
  }
  return out;
}

/** Decodes a mask at full resolution to one byte per pixel (max over colour channels, alpha ignored). */
export async function decodeMaskFull(path: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(path, { failOn: 'error' }).raw().toBuffer({ resolveWithObject: true });
  const n = info.width * info.height;
  const ch = info.channels;
  const colour = ch >= 3 ? 3 : 1;
  const out = new Uint8Array(n);
  for (let i = 0, o = 0; i < n; i++, o += ch) {
    let v = data[o]!;
    for (let c = 1; c < colour; c++) v = Math.max(v, data[o + c]!);
    out[i] = v;
  }
  return { data: out, width: info.width, height: info.height };
}

/** Resizes a one-byte-per-pixel map with nearest neighbour (labels must not be interpolated). */
export async function resizeNearest(data: Uint8Array, width: number, height: number, toWidth: number, toHeight: number): Promise<Uint8Array> {
  if (width === toWidth && height === toHeight) return data;
  const out = await sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels: 1 } })
    .resize(toWidth, toHeight, { fit: 'fill', kernel: 'nearest' })
    .extractChannel(0)
    .raw()
    .toBuffer();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** First value found that is neither 0 nor 255, or undefined when the mask is binary. */
export function firstNonBinaryValue(mask: Uint8Array): number | undefined {
  for (let i = 0; i < mask.length; i++) {
    const v = mask[i]!;
    if (v !== 0 && v !== 255) return v;
  }
  return undefined;
}
