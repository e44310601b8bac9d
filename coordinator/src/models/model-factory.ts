/**
 * What the coordinator needs from the learning core to run a federation: fresh models, head growth
 * when classes are added, server-side distillation and ONNX export. The implementation lives on top
 * of `ml` (ml-model-factory.ts); the interface keeps the federation logic independent of it.
 */
import type { DiffusionConfig, ModelMetadata, NamedTensors, SegmenterConfig, SegmenterProvenance } from '@fedciss/ml';

export interface SegmenterSpec {
  numClasses: number;
  /** Architecture settings (width, depth, input size), stored with every version. */
  config: SegmenterConfig;
}

export interface DistillationRequest {
  student: NamedTensors;
  teacher: NamedTensors;
  generator: NamedTensors;
  /** Channels 0..oldClassCount-1 of the student are pulled toward the teacher. */
  oldClassCount: number;
  numClasses: number;
  config: SegmenterConfig;
  generatorConfig: DiffusionConfig;
  steps: number;
  /** Seeds the generated images, so a restarted aggregation distills on the same ones. */
  seed: number;
  /** How many images to generate (and with how many DDIM steps), and the optimizer's batch and rate. */
  settings: ServerDistillationSettings;
}

export interface ServerDistillationSettings {
  images: number;
  samplingSteps: number;
  batchSize: number;
  learningRate: number;
}

// lr 1e-3: at 1e-4, ten Adam steps moved the aggregate by nothing measurable (issue 18).
export const DEFAULT_SERVER_DISTILLATION: ServerDistillationSettings = { images: 16, samplingSteps: 20, batchSize: 8, learningRate: 1e-3 };

export interface GeneratedPrediction {
  /** RGB, channel-major (3 x height x width), in [0, 1]. */
  image: Float32Array;
  /** Class per pixel. */
  labels: Uint8Array;
  height: number;
  width: number;
}

export interface ModelFactory {
  /** The default architecture settings of a new federation. */
  defaultSegmenterConfig(): SegmenterConfig;
  /** The default generator for a segmenter of this architecture (it generates at the segmenter's aspect ratio). */
  defaultGeneratorConfig(segmenter?: SegmenterConfig): DiffusionConfig;
  createSegmenter(spec: SegmenterSpec, seed: number): Promise<NamedTensors>;
  /** New output channels initialised from the background channel (MiB): predictions do not change. */
  growHead(weights: NamedTensors, fromClasses: number, toClasses: number, config: SegmenterConfig): Promise<NamedTensors>;
  createGenerator(config: DiffusionConfig, seed: number): Promise<NamedTensors>;
  /** Server-side distillation on generated images; returns the distilled student, its loss, and the
   * share of the generated images' pixels whose predicted class it changed (its measurable effect). */
  distill(request: DistillationRequest): Promise<{ weights: NamedTensors; loss: number; changedPixels: number }>;
  /**
   * Images made by the generator, with the segmenter's prediction for each: what the console shows
   * as prediction overlays (no patient image exists on the coordinator).
   */
  predictOnGenerated(request: { segmenter: NamedTensors; spec: SegmenterSpec; generator: NamedTensors; generatorConfig: DiffusionConfig; count: number; seed: number }): Promise<GeneratedPrediction[]>;
  /** The inference graph with the weights and the metadata inside, as .onnx bytes (opset unset:
   * the smallest that expresses the model). */
  exportOnnx(weights: NamedTensors, spec: SegmenterSpec, options: { opset?: number; provenance: SegmenterProvenance }): Promise<{ bytes: Buffer; metadata: ModelMetadata }>;
}
