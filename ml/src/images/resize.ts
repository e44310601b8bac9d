/** Resizing the platform's images (planar C x H x W floats) and label maps (H x W bytes): the one
 * implementation that training, inference, replay sets and server distillation share. */

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
