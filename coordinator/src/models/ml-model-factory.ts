/**
 * The platform's model factory on the learning core: the segmentation network of ml/segmentation,
 * MiB head growth, the diffusion generator of ml/diffusion, and server-side distillation on images
 * the current generator makes (no patient data on the coordinator).
 */
import {
  createDiffusionWeights, createSegmenterWeights, diffusionGeometry, distillOnImages, exportSegmenterOnnx, growHead, predictSegmentation, sampleImages,
  replayGeneratorConfig, DEFAULT_SEGMENTER_CONFIG, type DiffusionConfig, type ModelMetadata, type NamedTensors, type SegmenterConfig, type SegmenterProvenance,
} from '@fedciss/ml';
import { DEFAULT_SERVER_DISTILLATION, type DistillationRequest, type GeneratedPrediction, type ModelFactory, type SegmenterSpec } from './model-factory';

export class MlModelFactory implements ModelFactory {
  defaultSegmenterConfig(): SegmenterConfig {
    return DEFAULT_SEGMENTER_CONFIG;
  }

  defaultGeneratorConfig(segmenter: SegmenterConfig = DEFAULT_SEGMENTER_CONFIG): DiffusionConfig {
    return replayGeneratorConfig(segmenter.inputSize);
  }

  async createSegmenter(spec: SegmenterSpec, seed: number): Promise<NamedTensors> {
    return createSegmenterWeights(spec.config, spec.numClasses, seed);
  }

  async growHead(weights: NamedTensors, fromClasses: number, toClasses: number): Promise<NamedTensors> {
    return growHead(weights, fromClasses, toClasses);
  }

  async createGenerator(config: DiffusionConfig, seed: number): Promise<NamedTensors> {
    return createDiffusionWeights(config, seed);
  }

  async distill(r: DistillationRequest): Promise<{ weights: NamedTensors; loss: number; changedPixels: number }> {
    const genConfig = r.generatorConfig;
    const d = r.settings;
    const images = await sampleImages({ config: genConfig, weights: r.generator, count: d.images, steps: d.samplingSteps, seed: r.seed });
    const { channels, height, width } = diffusionGeometry(genConfig);
    const per = channels * height * width;
    const list = Array.from({ length: d.images }, (_, i) => ({ image: images.subarray(i * per, (i + 1) * per), height, width }));
    const result = await distillOnImages({
      config: r.config,
      student: { weights: r.student, numClasses: r.numClasses },
      teacher: { weights: r.teacher, numClasses: r.oldClassCount },
      images: list,
      steps: r.steps,
      batchSize: d.batchSize,
      learningRate: d.learningRate,
      seed: r.seed,
    });
    const last = result.losses.at(-1) ?? {};
    return { weights: result.weights, loss: Object.values(last).reduce((a, b) => a + b, 0), changedPixels: result.changedPixels };
  }

  async predictOnGenerated(r: { segmenter: NamedTensors; spec: SegmenterSpec; generator: NamedTensors; generatorConfig: DiffusionConfig; count: number; seed: number }): Promise<GeneratedPrediction[]> {
    const genConfig = r.generatorConfig;
    const { channels, height, width } = diffusionGeometry(genConfig);
    const images = await sampleImages({ config: genConfig, weights: r.generator, count: r.count, steps: DEFAULT_SERVER_DISTILLATION.samplingSteps, seed: r.seed });
    const per = channels * height * width;
    const list = Array.from({ length: r.count }, (_, i) => ({ image: images.slice(i * per, (i + 1) * per), height, width }));
    const predictions = await predictSegmentation({ config: r.spec.config, weights: r.segmenter, numClasses: r.spec.numClasses }, list);
    return predictions.map((p, i) => ({ image: list[i].image, labels: p.labels, height: p.height, width: p.width }));
  }

  async exportOnnx(weights: NamedTensors, spec: SegmenterSpec, options: { opset?: number; provenance: SegmenterProvenance }): Promise<{ bytes: Buffer; metadata: ModelMetadata }> {
    const out = exportSegmenterOnnx(weights, spec.config, spec.numClasses, options);
    if (!out.metadata) throw new Error('exportSegmenterOnnx returned no metadata although provenance was given');
    return { bytes: Buffer.from(out.bytes), metadata: out.metadata };
  }
}
