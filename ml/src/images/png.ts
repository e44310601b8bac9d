/** 8-bit PNG files of the platform (greyscale label maps, RGB and RGBA images) on pngjs: the one
 * PNG codec of the repository (replay sets, the report's overlays, benchmark grids). */
import { PNG, type PNGWithMetadata } from 'pngjs';

export interface RawImage {
  readonly width: number;
  readonly height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  readonly channels: 1 | 3 | 4;
  /** Interleaved 8-bit samples, row by row. */
  readonly data: Uint8Array;
}

const COLOUR_TYPE = { 1: 0, 3: 2, 4: 6 } as const;

export function encodePng(img: RawImage): Buffer {
  const { width, height, channels, data } = img;
  if (data.length !== width * height * channels) throw new Error(`encodePng: ${data.length} bytes for ${width}x${height}x${channels}`);
  const png = new PNG({ width, height });
  png.data = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const colorType = COLOUR_TYPE[channels];
  return PNG.sync.write(png, { colorType, inputColorType: colorType, inputHasAlpha: channels === 4 });
}

/** Reads an 8-bit PNG: grey (with or without alpha) as 1 channel, colour as 3, colour with alpha as 4. */
export function decodePng(bytes: Uint8Array): RawImage {
  let png: PNGWithMetadata;
  try {
    png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  } catch (e) {
    throw new Error(`decodePng: not a readable PNG file (${(e as Error).message})`);
  }
  if (png.depth !== 8) throw new Error(`decodePng: only 8-bit PNGs are read (depth ${png.depth})`);
  const { width, height } = png;
  // pngjs hands every image over as RGBA; keep the channels the file has.
  const channels: 1 | 3 | 4 = png.color ? (png.alpha ? 4 : 3) : 1;
  const out = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) for (let c = 0; c < channels; c++) out[i * channels + c] = png.data[i * 4 + c];
  return { width, height, channels, data: out };
}

/** Planar float C x H x W in [0, 1] (C = 1 or 3) to an 8-bit PNG. */
export function planarToPng(image: Float32Array, channels: 1 | 3, height: number, width: number): Buffer {
  const hw = height * width;
  if (image.length !== channels * hw) throw new Error(`planarToPng: ${image.length} values for ${channels}x${height}x${width}`);
  const data = new Uint8Array(hw * channels);
  for (let c = 0; c < channels; c++) {
    for (let i = 0; i < hw; i++) data[i * channels + c] = Math.round(Math.min(Math.max(image[c * hw + i], 0), 1) * 255);
  }
  return encodePng({ width, height, channels, data });
}

/** An 8-bit PNG to planar float C x H x W in [0, 1] (alpha dropped; grey stays 1 channel). */
export function pngToPlanar(bytes: Uint8Array): { image: Float32Array; channels: number; height: number; width: number } {
  const img = decodePng(bytes);
  const ch = img.channels === 1 ? 1 : 3;
  const hw = img.width * img.height;
  const image = new Float32Array(ch * hw);
  for (let c = 0; c < ch; c++) {
    for (let i = 0; i < hw; i++) image[c * hw + i] = img.data[i * img.channels + c] / 255;
  }
  return { image, channels: ch, height: img.height, width: img.width };
}
