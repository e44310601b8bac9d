/** A PNG contact sheet of labelled images: each cell is the image and, beside it, the image with
 * the labels blended in (class colours; pixels the teacher was not confident about darkened). */
import type { SegSample } from '@fedciss/ml';
import { encodePng } from '@fedciss/ml/images';

/** Distinct colours for class ids 1.. (0 = background keeps the image). */
const PALETTE: readonly [number, number, number][] = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
  [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40],
];

export function labelledGrid(samples: readonly SegSample[], columns = 4, gap = 2): Buffer {
  if (!samples.length) throw new Error('labelledGrid: no samples');
  const { height: H, width: W } = samples[0];
  const rows = Math.ceil(samples.length / columns);
  const cellW = 2 * W + gap;
  const width = columns * cellW + (columns - 1) * gap;
  const height = rows * H + (rows - 1) * gap;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const put = (x: number, y: number, c: readonly number[]) => rgb.set(c.map((v) => Math.round(Math.min(255, Math.max(0, v)))), (y * width + x) * 3);
  samples.forEach((s, n) => {
    if (s.height !== H || s.width !== W) throw new Error('labelledGrid: samples differ in size');
    const x0 = (n % columns) * (cellW + gap);
    const y0 = Math.floor(n / columns) * (H + gap);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const px = [0, 1, 2].map((c) => 255 * s.image[c * H * W + y * W + x]);
        put(x0 + x, y0 + y, px);
        const l = s.label[y * W + x];
        const over = l === 255 ? px.map((v) => v * 0.35) : l === 0 ? px : px.map((v, c) => 0.45 * v + 0.55 * PALETTE[(l - 1) % PALETTE.length][c]);
        put(x0 + W + gap + x, y0 + y, over);
      }
    }
  });
  return encodePng({ width, height, channels: 3, data: rgb });
}
