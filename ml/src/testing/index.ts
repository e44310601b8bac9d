/** Test helpers of ml (`@fedciss/ml/testing`): the gradient checker, a graph's scalar, synthetic segmentation scenes,
 * a tiny network and the second-runtime check of exported models. Production code never imports them. */
export { gradCheck, type GradInput, type GradCheckOptions, type GradCheckResult } from './gradcheck';
export { scalarValue } from './scalar';
export { shapeScenes, type ShapeSceneOptions } from '../incremental/synthetic-shapes';
export { tinySegNet, rectangles, iouClass1 } from './tiny-seg';
export { onnxFullCheck, runInOpenCv } from './second-runtime';
