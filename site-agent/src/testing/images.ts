/** Helpers for the data tests: write tiny PNGs. */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import sharp from 'sharp';

export async function writeRgb(path: string, w: number, h: number, fill: (x: number, y: number) => [number, number, number]): Promise<void> {
  const buf = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) buf.set(fill(x, y), (y * w + x) * 3);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, await sharp(buf, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer());
}

export async function writeGrey(path: string, w: number, h: number, value: (x: number, y: number) => number): Promise<void> {
  const buf = Buffer.alloc(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) buf[y * w + x] = value(x, y);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, await sharp(buf, { raw: { width: w, height: h, channels: 1 } }).png().toBuffer());
}
