/** The denoising U-Net (DDPM-style): sinusoidal time embedding through a 2-layer MLP, residual
 * blocks (GroupNorm, SiLU, 3x3 conv, time projection added per channel), optional single-head
 * self-attention at chosen resolutions, strided-conv down, nearest-upsample + conv up, skip
 * concatenation per level, and an epsilon-prediction head initialised to zero.
 *
 * Parameter names are fixed by the configuration (`time.fc1.weight`, `down0.res0.conv1.weight`,
 * `mid.attn.qkv.bias`, `out.conv.weight`, ...), so weights from different sites average by name. */
import * as F from '../graph/functional';
import { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { initialise, seededRandom } from '../init/initializers';
import { attention, conv2dLayer, groupNorm, linearLayer, timestepEmbedding } from '../nn/layers';
import type { NamedTensors } from '../weights/named-tensors';
import type { ScheduleConfig } from './schedule';

export interface DiffusionConfig {
  /** Image height in pixels (divisible by 2^(levels-1)); also the width unless `imageWidth` is set. */
  readonly imageSize: number;
  /** Image width in pixels when it differs from the height (e.g. 32 for 24x32 frames matching a
   * 48x64 segmenter's aspect ratio); default `imageSize`. */
  readonly imageWidth?: number;
  /** What the network predicts: the noise ('eps', DDPM) or the velocity v = sqrt(abar) eps -
   * sqrt(1 - abar) x0 ('v', Salimans & Ho 2022: well-scaled at every noise level, better images
   * with few sampling steps). Default 'eps'. */
  readonly prediction?: DiffusionPrediction;
  /** Image channels (3 for RGB). */
  readonly channels: number;
  /** Width of the first level. */
  readonly baseChannels: number;
  /** Width multiplier per level; the length is the number of levels. */
  readonly channelMults: readonly number[];
  /** Residual blocks per level (down and up path each). */
  readonly resBlocks: number;
  /** Feature-map heights at which self-attention follows each residual block (e.g. [8]); the
   * middle block gets attention when its height is listed. Empty: no attention. */
  readonly attentionResolutions: readonly number[];
  /** GroupNorm groups (reduced to a divisor of the channel count where needed). */
  readonly groups: number;
  readonly schedule: ScheduleConfig;
}

export type DiffusionPrediction = 'eps' | 'v';

/** Sized for 2 CPU cores: 32x32 RGB, widths 32-64-64, attention at 8x8, cosine schedule, T = 1000. */
export const DEFAULT_DIFFUSION_CONFIG: DiffusionConfig = {
  imageSize: 32,
  channels: 3,
  baseChannels: 32,
  channelMults: [1, 2, 2],
  resBlocks: 1,
  attentionResolutions: [8],
  groups: 8,
  schedule: { kind: 'cosine', timesteps: 1000 },
};

/** The default configuration with some fields replaced, validated. */
export function diffusionConfig(overrides: Partial<DiffusionConfig> = {}): DiffusionConfig {
  const c: DiffusionConfig = { ...DEFAULT_DIFFUSION_CONFIG, ...overrides };
  validateDiffusionConfig(c);
  return c;
}

/** Channels, height and width of the images a configuration generates. */
export function diffusionGeometry(c: DiffusionConfig): { channels: number; height: number; width: number } {
  return { channels: c.channels, height: c.imageSize, width: c.imageWidth ?? c.imageSize };
}

export function validateDiffusionConfig(c: DiffusionConfig): void {
  const levels = c.channelMults.length;
  if (levels < 1) throw new Error('diffusion config: channelMults needs at least one level');
  const factor = 2 ** (levels - 1);
  for (const [k, v] of [['imageSize', c.imageSize], ['imageWidth', c.imageWidth ?? c.imageSize]] as const) {
    if (!Number.isInteger(v) || v < factor || v % factor !== 0) throw new Error(`diffusion config: ${k} ${v} must be a multiple of ${factor} (${levels} levels)`);
  }
  if (c.prediction !== undefined && c.prediction !== 'eps' && c.prediction !== 'v') throw new Error(`diffusion config: prediction must be 'eps' or 'v', got '${String(c.prediction)}'`);
  for (const [k, v] of [['channels', c.channels], ['baseChannels', c.baseChannels], ['resBlocks', c.resBlocks], ['groups', c.groups]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`diffusion config: ${k} must be a positive integer, got ${v}`);
  }
  if (c.channelMults.some((m) => !Number.isInteger(m) || m < 1)) throw new Error('diffusion config: channelMults must be positive integers');
}

/** The largest divisor of `channels` not above `groups`. */
function groupsFor(channels: number, groups: number): number {
  let g = Math.min(groups, channels);
  while (channels % g !== 0) g--;
  return g;
}

interface Ctx {
  readonly g: Graph;
  readonly c: DiffusionConfig;
  /** The processed time embedding [N, 4 * base]. */
  readonly temb: Tensor;
}

const norm = (k: Ctx, name: string, x: Tensor) => groupNorm(k.g, name, x, groupsFor(x.shape[1], k.c.groups));

function resBlock(k: Ctx, name: string, x: Tensor, out: number): Tensor {
  const { g } = k;
  return g.scope(name, () => {
    let h = conv2dLayer(g, 'conv1', F.silu(norm(k, 'norm1', x)), out);
    const t = linearLayer(g, 'time', F.silu(k.temb), out);
    h = F.add(h, F.reshape(t, [t.shape[0], out, 1, 1]));
    h = conv2dLayer(g, 'conv2', F.silu(norm(k, 'norm2', h)), out);
    const skip = x.shape[1] === out ? x : conv2dLayer(g, 'skip', x, out, { kernel: 1 });
    return F.add(skip, h);
  });
}

/** Single-head self-attention over the H*W positions, residual. */
function attnBlock(k: Ctx, name: string, x: Tensor): Tensor {
  const { g } = k;
  const [N, C, H, W] = x.shape;
  return g.scope(name, () => {
    const qkv = conv2dLayer(g, 'qkv', norm(k, 'norm', x), 3 * C, { kernel: 1, init: 'xavier' });
    const [q, kk, v] = F.split(qkv, 3, 1).map((t) => F.transpose(F.reshape(t, [N, C, H * W]), [0, 2, 1]));
    const a = F.reshape(F.transpose(attention(q, kk, v), [0, 2, 1]), [N, C, H, W]);
    return F.add(x, conv2dLayer(g, 'proj', a, C, { kernel: 1, init: 'xavier' }));
  });
}

/** The network's prediction [N, C, H, W] (noise or velocity, see `prediction`) for noisy images
 * x [N, C, H, W] at timesteps t [N] (float, 0..T-1). The same function builds the training and
 * the inference graph. */
export function denoiser(g: Graph, x: Tensor, t: Tensor, c: DiffusionConfig): Tensor {
  const base = c.baseChannels;
  const temb = g.scope('time', () => {
    const e = timestepEmbedding(t, base);
    return linearLayer(g, 'fc2', F.silu(linearLayer(g, 'fc1', e, 4 * base)), 4 * base);
  });
  const k: Ctx = { g, c, temb };
  const attnAt = new Set(c.attentionResolutions);
  const levels = c.channelMults.length;
  let h = conv2dLayer(g, 'in', x, base);
  const skips: Tensor[] = [];
  for (let i = 0; i < levels; i++) {
    const ch = base * c.channelMults[i];
    for (let r = 0; r < c.resBlocks; r++) {
      h = resBlock(k, `down${i}.res${r}`, h, ch);
      if (attnAt.has(h.shape[2])) h = attnBlock(k, `down${i}.attn${r}`, h);
    }
    skips.push(h);
    if (i < levels - 1) h = conv2dLayer(g, `down${i}.downsample`, h, ch, { stride: 2, padding: 1 });
  }
  const mid = h.shape[1];
  h = resBlock(k, 'mid.res0', h, mid);
  if (attnAt.has(h.shape[2])) h = attnBlock(k, 'mid.attn', h);
  h = resBlock(k, 'mid.res1', h, mid);
  for (let i = levels - 1; i >= 0; i--) {
    const ch = base * c.channelMults[i];
    if (i < levels - 1) h = conv2dLayer(g, `up${i}.upsample`, F.upsample(h, 2, 'nearest'), ch);
    h = F.concat([h, skips[i]], 1);
    for (let r = 0; r < c.resBlocks; r++) {
      h = resBlock(k, `up${i}.res${r}`, h, ch);
      if (attnAt.has(h.shape[2])) h = attnBlock(k, `up${i}.attn${r}`, h);
    }
  }
  h = F.silu(norm(k, 'out.norm', h));
  return conv2dLayer(g, 'out.conv', h, c.channels, { init: 'zeros' });
}

/** Fresh weights for a configuration: every parameter in declaration order, from one seeded
 * generator (two sites with the same config and seed get identical weights). */
export function createDiffusionWeights(config: DiffusionConfig, seed = 1): NamedTensors {
  validateDiffusionConfig(config);
  const g = new Graph({ training: true });
  const { channels, height, width } = diffusionGeometry(config);
  denoiser(g, g.input('x', [1, channels, height, width]), g.input('t', [1]), config);
  const rand = seededRandom(seed);
  const out: NamedTensors = new Map();
  for (const spec of g.paramSpecs.values()) out.set(spec.name, { shape: [...spec.shape], data: initialise(spec.shape, spec.init, rand) });
  return out;
}

/** Checks that weights fit a configuration (names and shapes); throws naming the first mismatch. */
export function checkDiffusionWeights(config: DiffusionConfig, weights: NamedTensors): void {
  const g = new Graph({ training: false });
  const { channels, height, width } = diffusionGeometry(config);
  denoiser(g, g.input('x', [1, channels, height, width]), g.input('t', [1]), config);
  for (const spec of g.paramSpecs.values()) {
    const w = weights.get(spec.name);
    if (!w) throw new Error(`diffusion weights: '${spec.name}' [${spec.shape.join(', ')}] is missing`);
    if (w.shape.join(',') !== spec.shape.join(',')) {
      throw new Error(`diffusion weights: '${spec.name}' is [${w.shape.join(', ')}], the config needs [${spec.shape.join(', ')}]`);
    }
  }
}
