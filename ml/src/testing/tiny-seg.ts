/** A tiny segmentation network and a trivially separable synthetic task, for tests. */
import * as F from '../graph/functional';
import type { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { seededRandom } from '../init/initializers';
import { batchNorm, conv2dLayer, groupNorm } from '../nn/layers';

/** conv-norm-relu, pool, conv, upsample, skip concat, 1x1 head. */
export function tinySegNet(g: Graph, x: Tensor, classes: number, norm: 'batch' | 'group' = 'batch'): Tensor {
  const n = (name: string, t: Tensor) => (norm === 'batch' ? batchNorm(g, name, t) : groupNorm(g, name, t, 2));
  const e1 = F.relu(n('bn1', conv2dLayer(g, 'enc1', x, 8)));
  const d = F.maxPool2d(e1, { kernel: 2 });
  const e2 = F.relu(n('bn2', conv2dLayer(g, 'enc2', d, 8)));
  const u = F.upsample(e2, 2, 'nearest');
  const c = F.relu(conv2dLayer(g, 'dec', F.concat([u, e1], 1), 8));
  return conv2dLayer(g, 'head', c, classes, { kernel: 1 });
}

/** Images [n,1,s,s] with one bright rectangle on noise; labels [n,s,s] int64: 1 inside. */
export function rectangles(n: number, size: number, seed = 3): { image: Float32Array; labels: BigInt64Array } {
  const rand = seededRandom(seed);
  const image = new Float32Array(n * size * size);
  const labels = new BigInt64Array(n * size * size);
  for (let b = 0; b < n; b++) {
    const x0 = Math.floor(rand() * size * 0.5);
    const y0 = Math.floor(rand() * size * 0.5);
    const w = 3 + Math.floor(rand() * size * 0.4);
    const h = 3 + Math.floor(rand() * size * 0.4);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const i = b * size * size + y * size + x;
        const inside = x >= x0 && x < x0 + w && y >= y0 && y < y0 + h;
        image[i] = (inside ? 1 : -1) + (rand() - 0.5) * 0.6;
        labels[i] = inside ? 1n : 0n;
      }
    }
  }
  return { image, labels };
}

/** IoU of class 1 between logits [n,2,s,s] (argmax) and labels. */
export function iouClass1(logits: Float32Array, labels: BigInt64Array, n: number, hw: number): number {
  let inter = 0;
  let union = 0;
  for (let b = 0; b < n; b++) {
    for (let i = 0; i < hw; i++) {
      const pred = logits[b * 2 * hw + hw + i] > logits[b * 2 * hw + i];
      const truth = labels[b * hw + i] === 1n;
      if (pred && truth) inter++;
      if (pred || truth) union++;
    }
  }
  return union ? inter / union : 1;
}
