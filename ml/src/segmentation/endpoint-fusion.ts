/**
 * Endpoint weight fusion (Xiao et al., "Endpoints Weight Fusion for Class Incremental Semantic
 * Segmentation", CVPR 2023): at the end of an incremental step, the model the step trained is moved
 * back part of the way toward the model the step started from, weight by weight. The two ends of one
 * step's training lie in one basin, so the straight line between them keeps most of what each end
 * knows: the start's old classes and the end's new ones. A step starts from the previous step's
 * model with its head grown (growHead), so both ends have the same tensors.
 */
import type { NamedTensors } from '../weights/named-tensors';
import { SegmenterWeightsError } from './network';

/** startWeight * start + (1 - startWeight) * end, tensor by tensor; startWeight in [0, 1). */
export function fuseEndpoints(start: NamedTensors, end: NamedTensors, startWeight: number): NamedTensors {
  if (!(startWeight >= 0 && startWeight < 1)) throw new RangeError(`fuseEndpoints: the start's weight must be in [0, 1), got ${startWeight}`);
  for (const name of start.keys()) {
    if (!end.has(name)) throw new SegmenterWeightsError(name, `fuseEndpoints: the step's end has no '${name}', which its start has`);
  }
  const fused: NamedTensors = new Map();
  for (const [name, e] of end) {
    const s = start.get(name);
    if (!s) throw new SegmenterWeightsError(name, `fuseEndpoints: the step's start has no '${name}', which its end has`);
    if (s.shape.join(',') !== e.shape.join(',')) {
      throw new SegmenterWeightsError(name, `fuseEndpoints: '${name}' is [${s.shape.join(', ')}] at the step's start and [${e.shape.join(', ')}] at its end`);
    }
    const data = new Float32Array(e.data.length);
    for (let i = 0; i < data.length; i++) data[i] = startWeight * s.data[i]! + (1 - startWeight) * e.data[i]!;
    fused.set(name, { shape: [...e.shape], data });
  }
  return fused;
}
