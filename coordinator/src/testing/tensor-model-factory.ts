/**
 * A model factory for tests of the federation machinery (rounds, uploads, aggregation, restarts)
 * that need weights with the right names and shapes but no network behind them: a two-tensor
 * "model" whose head has one row per class. The platform's real factory is ml-model-factory.ts.
 */
import { DEFAULT_DIFFUSION_CONFIG, segmenterConfig, type DiffusionConfig, type NamedTensors, type SegmenterConfig } from '@fedciss/ml';
import type { ModelFactory } from '../models/model-factory';

export const TENSOR_MODEL_WIDTH = 4;

export class TensorModelFactory implements ModelFactory {
  /** ml's configurations, so the steps table holds what the platform's factory would store (the weights ignore them). */
  defaultSegmenterConfig(): SegmenterConfig {
    return segmenterConfig({ width: TENSOR_MODEL_WIDTH });
  }

  defaultGeneratorConfig(): DiffusionConfig {
    return DEFAULT_DIFFUSION_CONFIG;
  }

  async createSegmenter(spec: { numClasses: number }, seed: number): Promise<NamedTensors> {
    const w = TENSOR_MODEL_WIDTH;
    return new Map([
      ['body.weight', { shape: [w, w], data: Float32Array.from({ length: w * w }, (_, i) => ((i * 7 + seed) % 11) / 10) }],
      ['head.weight', { shape: [spec.numClasses, w], data: Float32Array.from({ length: spec.numClasses * w }, (_, i) => (i % 5) / 5) }],
    ]);
  }

  async growHead(weights: NamedTensors, fromClasses: number, toClasses: number): Promise<NamedTensors> {
    const head = weights.get('head.weight')!;
    const w = head.shape[1];
    const data = new Float32Array(toClasses * w);
    data.set(head.data);
    for (let c = fromClasses; c < toClasses; c++) data.set(head.data.subarray(0, w), c * w);
    return new Map([...weights, ['head.weight', { shape: [toClasses, w], data }]]);
  }

  async createGenerator(): Promise<NamedTensors> {
    return new Map([['denoiser.weight', { shape: [TENSOR_MODEL_WIDTH], data: new Float32Array(TENSOR_MODEL_WIDTH).fill(0.5) }]]);
  }

  async distill(request: { student: NamedTensors }) {
    return { weights: request.student, loss: 0, changedPixels: 0 };
  }

  /** A flat grey image split into vertical bands, one per class: enough to test how overlays are drawn. */
  async predictOnGenerated(r: { spec: { numClasses: number }; count: number }) {
    const size = 8;
    return Array.from({ length: r.count }, () => ({
      image: new Float32Array(3 * size * size).fill(0.5),
      labels: Uint8Array.from({ length: size * size }, (_, p) => Math.floor(((p % size) * r.spec.numClasses) / size)),
      height: size,
      width: size,
    }));
  }

  async exportOnnx(): Promise<never> {
    throw new Error('the test model factory has no ONNX export');
  }
}
