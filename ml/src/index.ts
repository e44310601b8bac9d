export * from './weights/named-tensors';
export * from './weights/safetensors';
export * from './classes/dsad';

// the learning engine
export { Tensor } from './graph/tensor';
export type { DType, TensorLike } from './graph/tensor';
export { Graph, ShapeError } from './graph/graph';
export type { ParamSpec, GraphOptions, ConstantData } from './graph/graph';
export * as F from './graph/functional';
export type { ConvOptions, ConvTransposeOptions, PoolOptions } from './graph/functional';
export { grad, topoSort } from './autodiff/grad';
export { OPS } from './ops/table';
export { OP_KINDS } from './ops/kinds';
export type { OpKind } from './ops/kinds';
export type { OpRule, LowerCtx, BackwardRule } from './ops/types';
export { initialise, seededRandom } from './init/initializers';
export type { ParamInit } from './init/initializers';
export * from './nn/layers';
export * from './nn/losses';
export { emitModel, OPSET } from './onnx/emit';
export type { EmittedModel } from './onnx/emit';
export { createSession, coreCount } from './runtime/session';
export type { ExecutionProvider, RuntimeOptions, TensorValue, TensorData } from './runtime/session';
export { CompiledGraph } from './runtime/compiled';
export { applyOptimizer, clipByGlobalNorm } from './train/optimizers';
export type { OptimizerConfig } from './train/optimizers';
export { Trainer, compileTrainStep, NonFiniteLossError } from './train/trainer';
export type { TrainStepConfig, TrainModel, ModelOutputs, StepResult, BatchSpec } from './train/trainer';
export { exportInferenceModel, InferenceRunner, buildInferenceGraph } from './infer/inference';
export type { InferenceModel, InferenceSpec } from './infer/inference';

// the diffusion generator (replay without stored patient images); everything also under `diffusion.`
export * as diffusion from './diffusion';
export { DEFAULT_DIFFUSION_CONFIG, diffusionConfig, createDiffusionWeights, checkDiffusionWeights } from './diffusion/unet';
export type { DiffusionConfig } from './diffusion/unet';
export { noiseSchedule, ddimStep, ddimTimesteps } from './diffusion/schedule';
export type { NoiseSchedule, ScheduleConfig, ScheduleKind } from './diffusion/schedule';
export { trainDiffusion } from './diffusion/train';
export type { TrainDiffusionOptions, TrainDiffusionResult, DiffusionProgress } from './diffusion/train';
export { sampleImages, DiffusionSampler, exportDenoiser, progressBar as samplingProgressBar } from './diffusion/sample';
export type { SampleImagesOptions, SampleOptions, SampleProgress } from './diffusion/sample';
export { ensureReplaySet, generateReplaySet, loadReplaySet, replayKey, weightsDigest, REPLAY_IGNORE_LABEL } from './diffusion/replay';
export type { ReplaySet, ReplaySetOptions, ReplayManifest, ReplayLabeller, ReplayLabellerResult, ReplayProgress } from './diffusion/replay';
export { checkGeneratedImages, realismReport, privacyReport, frechetFromFeatures } from './diffusion/checks';
export type { GeneratorChecks, RealismReport, PrivacyReport, PrivacyOptions } from './diffusion/checks';

// the class-incremental segmentation recipe: network, head growth, losses, training, metrics
export { DEFAULT_SEGMENTER_CONFIG, segmenterConfig, validateSegmenterConfig, segmenterForward, segmenterSpecs, segmenterParamNames, createSegmenterWeights, checkSegmenterWeights, classCountOf, featureNames, exportSegmenterOnnx, SegmenterWeightsError } from './segmentation/network';
export type { SegmenterConfig, SegmenterOutputs } from './segmentation/network';
export { growHead } from './segmentation/head';
export { SegmenterRunner } from './segmentation/runner';
export type { SegmenterRun, SegmenterRunnerOptions } from './segmentation/runner';
export { predictSegmentation, labelWithTeacher, evaluateSegmenter, segmenterLabeller } from './segmentation/predict';
export type { ModelRef, Prediction } from './segmentation/predict';
export { IGNORE_LABEL, logSumExp, crossEntropy, unbiasedCrossEntropy, replayCrossEntropy, incrementalCrossEntropy, unbiasedDistillation, newClassDistillation, podEmbedding, podDistillation, gatherPixels, pixelContrastive, proximalTerm } from './incremental/losses';
export type { ContrastiveInputs } from './incremental/losses';
export { teacherDecisions, pseudoLabelBackground, teacherLabels, sampleContrastivePixels, PrototypeMemory } from './incremental/pseudo-labels';
export type { PseudoLabelOptions, ContrastiveSample } from './incremental/pseudo-labels';
export { augmentPair, colorJitter, resizeImage, resizeLabel } from './incremental/augment';
export type { AugmentOptions } from './incremental/augment';
export { DEFAULT_LOSS_WEIGHTS, trainLocalSegmenter, distillOnImages, polyLearningRate, toInputSize, collectSamples, unpackSamples } from './incremental/train';
export type { SegSample, SegImage, LossWeights, LocalTrainHyper, TrainProgress, LocalTrainCheckpoint, TrainLocalOptions, LocalTrainMetrics, TrainLocalResult, DistillOptions } from './incremental/train';
export { shapeScenes } from './incremental/synthetic-shapes';
export type { ShapeSceneOptions } from './incremental/synthetic-shapes';
export { emptyConfusion, accumulateConfusion, mergeConfusion, classCounts, iouOfCounts, perClassIoU, meanIoU, incrementalMiou, forgetting, argmaxLabels } from './metrics/confusion';
export type { ConfusionCounts, ClassCounts, IncrementalMiou } from './metrics/confusion';
export { gradCheck } from './testing/gradcheck';
export type { GradInput, GradCheckOptions, GradCheckResult } from './testing/gradcheck';
