/** `node ml/dist/bench/groupnorm.js`: one training step (forward, backward, Adam) of a GroupNorm-
 * heavy conv stack, with the groupNorm primitive (nn/layers.ts) and with the composition of
 * Reshape/ReduceSum/Sub/Mul/Sqrt it replaced (written out below as the reference), alternated in one
 * run; prints one JSON document with the median step time of each.
 * Flags: --batch N (16), --channels N (64), --size N (32), --layers N (6), --groups N (8),
 * --steps N (timed steps per variant, 20), --threads N. */
import * as F from '../graph/functional';
import type { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { conv2dLayer, groupNorm } from '../nn/layers';
import { coreCount } from '../runtime/session';
import { Trainer } from '../train/trainer';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${process.argv[i + 1]}'`);
  return n;
}

/** The composition nn/layers.ts used before the primitive (same parameters). */
function composedGroupNorm(g: Graph, name: string, x: Tensor, groups: number, eps = 1e-5): Tensor {
  const [N, C] = x.shape;
  return g.scope(name, () => {
    const gamma = F.reshape(g.param('weight', [C], 'ones'), [1, C, 1, 1]);
    const beta = F.reshape(g.param('bias', [C], 'zeros'), [1, C, 1, 1]);
    const xg = F.reshape(x, [N, groups, -1]);
    const xc = F.sub(xg, F.reduceMean(xg, [2], true));
    const variance = F.reduceMean(F.mul(xc, xc), [2], true);
    const normed = F.reshape(F.mul(xc, F.div(1, F.sqrt(F.add(variance, eps)))), x.shape);
    return F.add(F.mul(normed, gamma), beta);
  });
}

type Norm = (g: Graph, name: string, x: Tensor, groups: number) => Tensor;

function median(a: number[]): number {
  const s = [...a].sort((p, q) => p - q);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const o = { batch: flag('batch', 16), channels: flag('channels', 64), size: flag('size', 32), layers: flag('layers', 6), groups: flag('groups', 8), steps: flag('steps', 20) };
  const threads = process.argv.includes('--threads') ? flag('threads', 1) : coreCount();
  const make = (norm: Norm) =>
    new Trainer({
      model: (g, b) => {
        let h = b.x;
        for (let i = 0; i < o.layers; i++) h = F.silu(norm(g, `n${i}`, conv2dLayer(g, `c${i}`, h, o.channels), o.groups));
        return { losses: { mse: F.reduceMean(F.mul(h, h)) } };
      },
      optimizer: { kind: 'adam' },
      seed: 1,
      runtime: { threads },
    });
  const variants: Record<string, Trainer> = { primitive: make(groupNorm), composition: make(composedGroupNorm) };
  const data = Float32Array.from({ length: o.batch * 3 * o.size * o.size }, (_, i) => Math.sin(i * 0.37));
  const batch = { x: { shape: [o.batch, 3, o.size, o.size], data } };
  const times: Record<string, number[]> = { primitive: [], composition: [] };
  for (const t of Object.values(variants)) await t.step(batch, 1e-3); // compile and warm up
  for (let s = 0; s < o.steps; s++) {
    for (const [name, t] of Object.entries(variants)) {
      const t0 = performance.now();
      await t.step(batch, 1e-3);
      times[name].push(performance.now() - t0);
    }
  }
  const p = median(times.primitive);
  const c = median(times.composition);
  // The minimum is what each graph costs when nothing else competes for the cores (a shared machine).
  const pMin = Math.min(...times.primitive);
  const cMin = Math.min(...times.composition);
  const report = {
    benchmark: 'groupnorm-train-step', threads, ...o,
    medianMs: { primitive: +p.toFixed(1), composition: +c.toFixed(1) },
    minMs: { primitive: +pMin.toFixed(1), composition: +cMin.toFixed(1) },
    primitiveSpeedup: { median: +(c / p).toFixed(3), min: +(cMin / pMin).toFixed(3) },
  };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
