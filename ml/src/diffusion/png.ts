/** A small PNG codec on node:zlib: 8-bit greyscale (label maps), RGB and RGBA. Writes with the
 * "up" filter; reads every filter type, non-interlaced 8-bit files (what this module and most
 * tools write). */
import { deflateSync, inflateSync } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export interface RawImage {
  readonly width: number;
  readonly height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  readonly channels: 1 | 3 | 4;
  /** Interleaved 8-bit samples, row by row. */
  readonly data: Uint8Array;
}

const COLOUR_TYPE: Record<number, number> = { 1: 0, 3: 2, 4: 6 };

export function encodePng(img: RawImage): Buffer {
  const { width, height, channels, data } = img;
  if (data.length !== width * height * channels) throw new Error(`encodePng: ${data.length} bytes for ${width}x${height}x${channels}`);
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const o = y * (stride + 1);
    raw[o] = y === 0 ? 0 : 2; // none for the first row, "up" afterwards
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = y === 0 ? data[i] : (data[y * stride + i] - data[(y - 1) * stride + i]) & 0xff;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = COLOUR_TYPE[channels];
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0))]);
}

export function decodePng(bytes: Uint8Array): RawImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) throw new Error('decodePng: not a PNG file');
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  for (let o = 8; o + 8 <= buf.length; ) {
    const len = buf.readUInt32BE(o);
    const type = buf.toString('ascii', o + 4, o + 8);
    const data = buf.subarray(o + 8, o + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      const depth = data[8];
      const colour = data[9];
      if (depth !== 8 || data[12] !== 0) throw new Error(`decodePng: only 8-bit non-interlaced PNGs are read (depth ${depth}, interlace ${data[12]})`);
      const ch = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colour];
      if (!ch) throw new Error(`decodePng: colour type ${colour} is not supported`);
      channels = ch;
    } else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
    o += 12 + len;
  }
  if (!width || !idat.length) throw new Error('decodePng: missing IHDR or IDAT');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const out = new Uint8Array(stride * height);
  const bpp = channels;
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const prev = row - stride;
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? out[row + i - bpp] : 0;
      const b = y > 0 ? out[prev + i] : 0;
      const c = y > 0 && i >= bpp ? out[prev + i - bpp] : 0;
      let pred = 0;
      if (filter === 1) pred = a;
      else if (filter === 2) pred = b;
      else if (filter === 3) pred = (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`decodePng: bad filter ${filter} in row ${y}`);
      out[row + i] = (raw[src + i] + pred) & 0xff;
    }
  }
  if (channels === 2) {
    // grey + alpha: keep the grey
    const grey = new Uint8Array(width * height);
    for (let i = 0; i < grey.length; i++) grey[i] = out[2 * i];
    return { width, height, channels: 1, data: grey };
  }
  return { width, height, channels: channels as 1 | 3 | 4, data: out };
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
