/** Training samples of the incremental recipe: the image/label pairs a site trains on, and the
 * conversions every training loop needs (packed arrays to samples, any size to the input size). */
import type { SegmenterConfig } from '../segmentation/network';
import { resizeImage, resizeLabel } from '../images/resize';

/** An image with its label map (LoadedSample of the site agent fits): image CHW in [0, 1],
 * label HW with 255 = ignore. Any size: it is resized to the configured input size. */
export interface SegSample {
  readonly image: Float32Array;
  readonly label: Uint8Array;
  readonly height: number;
  readonly width: number;
}

export interface SegImage {
  readonly image: Float32Array;
  readonly height: number;
  readonly width: number;
}

/** Views packed arrays (images [count, C, H, W], labels [count, H, W], e.g. a diffusion ReplaySet:
 * `unpackSamples(set.images, set.labels, set.manifest)`) as samples (no copies). */
export function unpackSamples(
  images: Float32Array,
  labels: Uint8Array,
  size: { readonly count: number; readonly channels: number; readonly height: number; readonly width: number },
): SegSample[] {
  const hw = size.height * size.width;
  const per = size.channels * hw;
  if (images.length !== size.count * per || labels.length !== size.count * hw) {
    throw new Error(`unpackSamples: ${images.length} image values and ${labels.length} labels for ${size.count} images of ${size.channels}x${size.height}x${size.width}`);
  }
  return Array.from({ length: size.count }, (_, i) => ({
    image: images.subarray(i * per, (i + 1) * per),
    label: labels.subarray(i * hw, (i + 1) * hw),
    height: size.height,
    width: size.width,
  }));
}

/** Resizes a sample to the configured input size (bilinear image, nearest label). */
export function toInputSize(s: SegSample, c: SegmenterConfig): SegSample {
  const [H, W] = c.inputSize;
  if (s.image.length !== c.inChannels * s.height * s.width || s.label.length !== s.height * s.width) {
    throw new Error(`sample of ${s.height}x${s.width}: image has ${s.image.length} values, label ${s.label.length}`);
  }
  if (s.height === H && s.width === W) return s;
  return { image: resizeImage(s.image, c.inChannels, s.height, s.width, H, W), label: resizeLabel(s.label, s.height, s.width, H, W), height: H, width: W };
}

export type SampleSource = readonly SegSample[] | Iterable<SegSample> | AsyncIterable<SegSample>;

/** Reads a sample source whole, at the input size. */
export async function collectSamples(src: SampleSource, c: SegmenterConfig): Promise<SegSample[]> {
  const out: SegSample[] = [];
  if (Symbol.asyncIterator in Object(src)) for await (const s of src as AsyncIterable<SegSample>) out.push(toInputSize(s, c));
  else for (const s of src as Iterable<SegSample>) out.push(toInputSize(s, c));
  return out;
}
