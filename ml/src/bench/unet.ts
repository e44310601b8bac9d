/** The reference U-Net of the benchmark (and of STACK-NOTES.md): per level two 3x3 conv-BN-ReLU,
 * max-pool down, 2x2 stride-2 transposed conv up, skip concatenation, 1x1 head. Channels
 * 16-32-64-128 give 482k parameters with 3 input channels. */
import * as F from '../graph/functional';
import type { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { batchNorm, conv2dLayer, convTranspose2dLayer } from '../nn/layers';

function double(g: Graph, name: string, x: Tensor, ch: number): Tensor {
  const a = F.relu(batchNorm(g, `${name}.bn1`, conv2dLayer(g, `${name}.conv1`, x, ch, { bias: false })));
  return F.relu(batchNorm(g, `${name}.bn2`, conv2dLayer(g, `${name}.conv2`, a, ch, { bias: false })));
}

export function referenceUNet(g: Graph, x: Tensor, classes: number, channels: readonly number[] = [16, 32, 64, 128]): Tensor {
  const skips: Tensor[] = [];
  let h = x;
  channels.forEach((ch, i) => {
    if (i > 0) h = F.maxPool2d(h, { kernel: 2 });
    h = double(g, `enc${i}`, h, ch);
    skips.push(h);
  });
  for (let i = channels.length - 2; i >= 0; i--) {
    const up = convTranspose2dLayer(g, `up${i}`, h, channels[i]);
    h = double(g, `dec${i}`, F.concat([up, skips[i]], 1), channels[i]);
  }
  return conv2dLayer(g, 'head', h, classes, { kernel: 1 });
}
