/** Inference with the segmenter on plain arrays: a compiled session per batch size, images padded
 * to a full batch, optional intermediate features (a teacher feeding distillation). */
import type { Tensor } from '../graph/tensor';
import { InferenceRunner } from '../infer/inference';
import type { RuntimeOptions } from '../runtime/session';
import type { NamedTensors } from '../weights/named-tensors';
import { checkSegmenterWeights, SegmenterConfig, segmenterForward } from './network';

export interface SegmenterRun {
  /** [n, numClasses, H, W] for the n images given. */
  readonly logits: Float32Array;
  /** Requested features by name, [n, C_f, H_f, W_f] each. */
  readonly features: Readonly<Record<string, Float32Array>>;
  /** Pixel embeddings [n, embedDim, H, W] when requested. */
  readonly embeddings?: Float32Array;
}

export interface SegmenterRunnerOptions {
  readonly batch: number;
  readonly features?: readonly string[];
  readonly embeddings?: boolean;
  readonly runtime?: RuntimeOptions;
}

export class SegmenterRunner {
  private constructor(
    private readonly runner: InferenceRunner,
    readonly config: SegmenterConfig,
    readonly numClasses: number,
    readonly batch: number,
    readonly featureShapes: Readonly<Record<string, readonly number[]>>,
  ) {}

  static async create(config: SegmenterConfig, weights: NamedTensors, numClasses: number, o: SegmenterRunnerOptions): Promise<SegmenterRunner> {
    checkSegmenterWeights(weights, config, numClasses);
    const shapes: Record<string, readonly number[]> = {};
    const runner = await InferenceRunner.create(
      {
        model: (g, i) => {
          const out = segmenterForward(g, i.image, config, numClasses);
          const r: Record<string, Tensor> = { logits: out.logits };
          for (const name of o.features ?? []) {
            const f = out.features[name];
            if (!f) throw new Error(`segmenter has no feature '${name}'`);
            r[`feat:${name}`] = f;
            shapes[name] = f.shape;
          }
          if (o.embeddings) r.embeddings = out.embeddings;
          return r;
        },
        inputs: { image: { shape: [o.batch, config.inChannels, config.inputSize[0], config.inputSize[1]] } },
        weights,
      },
      o.runtime,
    );
    return new SegmenterRunner(runner, config, numClasses, o.batch, shapes);
  }

  /** Runs n <= batch images given as one CHW-concatenated array at the input size. */
  async run(images: Float32Array, n = this.batch): Promise<SegmenterRun> {
    const [H, W] = this.config.inputSize;
    const per = this.config.inChannels * H * W;
    if (n > this.batch || images.length !== n * per) throw new Error(`SegmenterRunner: ${images.length} values for ${n} images of ${per} (batch ${this.batch})`);
    let data = images;
    if (n < this.batch) (data = new Float32Array(this.batch * per)), data.set(images);
    const out = await this.runner.run({ image: { shape: [this.batch, this.config.inChannels, H, W], data } });
    const cut = (a: Float32Array) => (n === this.batch ? a : a.slice(0, (a.length / this.batch) * n));
    const features: Record<string, Float32Array> = {};
    for (const name of Object.keys(this.featureShapes)) features[name] = cut(out[`feat:${name}`].data as Float32Array);
    return {
      logits: cut(out.logits.data as Float32Array),
      features,
      embeddings: out.embeddings ? cut(out.embeddings.data as Float32Array) : undefined,
    };
  }

  release(): Promise<void> {
    return this.runner.release();
  }
}
