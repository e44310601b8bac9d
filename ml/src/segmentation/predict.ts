/** Prediction, teacher labelling of (replay) images, and evaluation into confusion counts. */
import type { RuntimeOptions } from '../runtime/session';
import type { NamedTensors } from '../weights/named-tensors';
import { resizeImage, resizeLabel } from '../images/resize';
import { PseudoLabelOptions, pseudoLabelBackground, teacherLabels } from '../incremental/pseudo-labels';
import { IGNORE_LABEL } from '../nn/losses';
import { toInputSize, type SegImage, type SegSample } from '../incremental/samples';
import { accumulateConfusion, argmaxLabels, ConfusionCounts, emptyConfusion } from '../metrics/confusion';
import type { SegmenterConfig } from './network';
import { SegmenterRunner } from './runner';

export interface ModelRef {
  readonly config: SegmenterConfig;
  readonly weights: NamedTensors;
  readonly numClasses: number;
  /** Images per inference call (default 4). */
  readonly batchSize?: number;
  readonly runtime?: RuntimeOptions;
}

export interface Prediction {
  /** Class per pixel at the image's own size (nearest upsampling of the network's output). */
  readonly labels: Uint8Array;
  /** Probability of the predicted class per pixel, at the image's own size. */
  readonly confidence: Float32Array;
  readonly height: number;
  readonly width: number;
}

async function forEachBatch<T extends SegImage>(
  m: ModelRef,
  images: Iterable<T> | AsyncIterable<T>,
  body: (batch: T[], logits: Float32Array) => void,
): Promise<void> {
  const c = m.config;
  const [H, W] = c.inputSize;
  const per = c.inChannels * H * W;
  const B = m.batchSize ?? 4;
  const runner = await SegmenterRunner.create(c, m.weights, m.numClasses, { batch: B, runtime: m.runtime });
  try {
    let pending: T[] = [];
    const flush = async () => {
      if (!pending.length) return;
      const data = new Float32Array(pending.length * per);
      pending.forEach((s, i) => data.set(resizeImage(s.image, c.inChannels, s.height, s.width, H, W), i * per));
      const { logits } = await runner.run(data, pending.length);
      body(pending, logits);
      pending = [];
    };
    if (Symbol.asyncIterator in Object(images)) {
      for await (const s of images as AsyncIterable<T>) if (pending.push(s) === B) await flush();
    } else for (const s of images as Iterable<T>) if (pending.push(s) === B) await flush();
    await flush();
  } finally {
    await runner.release();
  }
}

/** Class and confidence per pixel (for overlays). */
export async function predictSegmentation(m: ModelRef, images: Iterable<SegImage> | AsyncIterable<SegImage>): Promise<Prediction[]> {
  const [H, W] = m.config.inputSize;
  const K = m.numClasses;
  const out: Prediction[] = [];
  await forEachBatch(m, images, (batch, logits) => {
    const labels = argmaxLabels(logits, batch.length, K, H * W);
    batch.forEach((s, b) => {
      const conf = new Float32Array(H * W);
      for (let p = 0; p < H * W; p++) {
        let sum = 0;
        const top = logits[(b * K + labels[b * H * W + p]) * H * W + p];
        for (let k = 0; k < K; k++) sum += Math.exp(logits[(b * K + k) * H * W + p] - top);
        conf[p] = 1 / sum;
      }
      const lab = labels.subarray(b * H * W, (b + 1) * H * W);
      out.push({
        labels: resizeLabel(lab, H, W, s.height, s.width),
        confidence: resizeImage(conf, 1, H, W, s.height, s.width),
        height: s.height,
        width: s.width,
      });
    });
  });
  return out;
}

/** Teacher labels of unlabelled images (the replay set): at the network's input size, the
 * teacher's class where it is confident, 255 elsewhere. */
export async function labelWithTeacher(
  m: ModelRef,
  images: Iterable<SegImage> | AsyncIterable<SegImage>,
  o: PseudoLabelOptions = {},
): Promise<SegSample[]> {
  const c = m.config;
  const [H, W] = c.inputSize;
  const out: SegSample[] = [];
  await forEachBatch(m, images, (batch, logits) => {
    const labels = teacherLabels(logits, batch.length, m.numClasses, H * W, o);
    batch.forEach((s, b) =>
      out.push({ image: resizeImage(s.image, c.inChannels, s.height, s.width, H, W), label: labels.slice(b * H * W, (b + 1) * H * W), height: H, width: W }),
    );
  });
  return out;
}

/**
 * How much of the old classes a step's own images show: the share of their pixels (at the network's
 * input size; ignored pixels count in the total) that the step's labels leave as background and
 * the teacher confidently gives to an old class, which is what pseudo-labelling turns into
 * old-class labels (pseudoLabelBackground). Where it is high, pseudo-labels keep the old classes
 * and replay only takes batch share from the new ones; near zero (the step's patients do not show
 * the old structures), replay is what keeps them. In [0, 1]; 0 for no samples.
 */
export async function oldClassShare(teacher: ModelRef, samples: readonly SegSample[], o: Omit<PseudoLabelOptions, 'unconfident'> = {}): Promise<number> {
  const [H, W] = teacher.config.inputSize;
  const hw = H * W;
  let old = 0;
  let total = 0;
  await forEachBatch(teacher, samples.map((s) => toInputSize(s, teacher.config)), (batch, logits) => {
    const labels = new Uint8Array(batch.length * hw);
    batch.forEach((s, b) => labels.set(s.label, b * hw));
    const pseudo = pseudoLabelBackground(labels, logits, batch.length, teacher.numClasses, hw, { ...o, unconfident: 'ignore' });
    for (let i = 0; i < labels.length; i++) if (labels[i] === 0 && pseudo[i] !== 0 && pseudo[i] !== IGNORE_LABEL) old++;
    total += labels.length;
  });
  return total ? old / total : 0;
}

/** Confusion counts of the model on labelled samples, at each label map's own size
 * (predictions upsampled by nearest neighbour); 255 pixels are not counted. */
export async function evaluateSegmenter(m: ModelRef, samples: Iterable<SegSample> | AsyncIterable<SegSample>): Promise<ConfusionCounts> {
  const [H, W] = m.config.inputSize;
  const cm = emptyConfusion(m.numClasses);
  const K = m.numClasses;
  await forEachBatch(m, samples, (batch, logits) => {
    batch.forEach((s, b) => {
      // Scored at the label's own resolution: logits upsampled bilinearly, then the argmax.
      const own = logits.subarray(b * K * H * W, (b + 1) * K * H * W);
      const at = s.height === H && s.width === W ? own : resizeImage(own, K, H, W, s.height, s.width);
      accumulateConfusion(cm, argmaxLabels(at, 1, K, s.height * s.width), s.label);
    });
  });
  return cm;
}

/** A teacher for the diffusion replay set (structurally the diffusion module's ReplayLabeller):
 * images [count, C, h, w] in [0, 1] at the generator's size -> softmax probabilities
 * [count, numClasses, h, w]. Keeps one compiled session per batch size; call release() at the end. */
export function segmenterLabeller(m: ModelRef): ((images: Float32Array, count: number, size: { readonly channels: number; readonly height: number; readonly width: number }) => Promise<{ probabilities: Float32Array; classes: number }>) & { release: () => Promise<void> } {
  const c = m.config;
  const [H, W] = c.inputSize;
  const K = m.numClasses;
  const runners = new Map<number, Promise<SegmenterRunner>>();
  const fn = async (images: Float32Array, count: number, size: { readonly channels: number; readonly height: number; readonly width: number }) => {
    if (size.channels !== c.inChannels) throw new Error(`labeller: images have ${size.channels} channels, the segmenter ${c.inChannels}`);
    const { height: h, width: w } = size;
    const inPer = c.inChannels * h * w;
    if (images.length !== count * inPer) throw new Error(`labeller: ${images.length} values for ${count} images of ${inPer}`);
    let r = runners.get(count);
    if (!r) runners.set(count, (r = SegmenterRunner.create(c, m.weights, K, { batch: count, runtime: m.runtime })));
    const data = new Float32Array(count * c.inChannels * H * W);
    for (let i = 0; i < count; i++) data.set(resizeImage(images.subarray(i * inPer, (i + 1) * inPer), c.inChannels, h, w, H, W), i * c.inChannels * H * W);
    const { logits } = await (await r).run(data, count);
    const probs = new Float32Array(count * K * H * W);
    for (let b = 0; b < count; b++) {
      for (let p = 0; p < H * W; p++) {
        let max = -Infinity;
        for (let k = 0; k < K; k++) max = Math.max(max, logits[(b * K + k) * H * W + p]);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += probs[(b * K + k) * H * W + p] = Math.exp(logits[(b * K + k) * H * W + p] - max);
        for (let k = 0; k < K; k++) probs[(b * K + k) * H * W + p] /= sum;
      }
    }
    return { probabilities: h === H && w === W ? probs : resizeImage(probs, count * K, H, W, h, w), classes: K };
  };
  return Object.assign(fn, {
    release: async () => {
      for (const r of runners.values()) await (await r).release();
      runners.clear();
    },
  });
}
