/** Aggregation core: pure, framework-free. The coordinator's service wires it to the database and gRPC. */
export * from './errors';
export * from './math';
export * from './types';
export { StreamingWeightedMean } from './streaming-mean';
export { forEachMatched, deltaNormOf } from './tensor-walk';
export { initialServerState } from './strategies/fedopt';
export { STRATEGIES, createStrategy, resolveAggregationOptions, isStrategyName } from './registry';
export * from './validator';
export { encodeServerState, decodeServerState } from './server-state';
export { aggregateBySlices, slicedFromMemory, sliceValuesFor, SLICED_STRATEGIES, type SlicedTensors, type SlicedUpdate, type SliceSink, type SlicedResult, type SlicedStrategy } from './sliced';
export { slicedModelReference, validateUpdateBySlices, VALIDATION_SLICE_VALUES, type SlicedModelReference, type SlicedUpdateToValidate } from './sliced-validator';
