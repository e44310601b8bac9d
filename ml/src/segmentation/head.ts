/** Growing the classification head when a step adds classes (MiB's initialisation): every new
 * channel copies the background channel's weights, and the background bias and the new biases
 * become b_bg - log(k + 1) (k new classes). The k + 1 channels then share the old background
 * probability exactly, every old class keeps its probability, so the model predicts the same
 * distribution (with new classes merged into background) right after growth. */
import type { NamedTensors } from '../weights/named-tensors';
import { classCountOf, SegmenterWeightsError } from './network';

export function growHead(weights: NamedTensors, from: number, to: number): NamedTensors {
  const have = classCountOf(weights);
  if (have !== from) throw new SegmenterWeightsError('head.bias', `growHead: the weights predict ${have} classes, not ${from}`);
  if (!Number.isInteger(to) || to < from) throw new Error(`growHead: cannot grow from ${from} to ${to} classes`);
  const out: NamedTensors = new Map(weights);
  if (to === from) return out;
  const w = weights.get('head.weight');
  const b = weights.get('head.bias');
  if (!w || !b) throw new Error('growHead: no head.weight / head.bias');
  const per = w.data.length / from;
  const k = to - from;
  const shift = Math.log(k + 1);
  const nw = new Float32Array(to * per);
  nw.set(w.data);
  for (let c = from; c < to; c++) nw.set(w.data.subarray(0, per), c * per);
  const nb = new Float32Array(to);
  nb.set(b.data);
  nb[0] = b.data[0] - shift;
  for (let c = from; c < to; c++) nb[c] = b.data[0] - shift;
  out.set('head.weight', { shape: [to, ...w.shape.slice(1)], data: nw });
  out.set('head.bias', { shape: [to], data: nb });
  return out;
}
