/** `npm run bench:groupnorm -w ml`: the groupNorm primitive (nn/layers.ts) against the composition
 * of Reshape/ReduceSum/Sub/Mul/Sqrt it replaced (written out below as the reference), alternated in
 * one run, as one JSON document:
 * - `isolated`: GroupNorm alone on [batch, channels, size, size], forward, and forward + backward
 *   (the gradient graph of mean(y^2) with respect to x);
 * - `trainStep`: one training step (forward, backward, Adam) of a stack of conv + GroupNorm + SiLU.
 * Medians and minima (the minimum is what a graph costs when nothing else competes for the cores).
 * Flags: --batch N (16), --channels N (64), --size N (32), --layers N (6), --groups N (8),
 * --steps N (timed steps per variant, 20), --threads N. */
import * as F from '../graph/functional';
import { grad } from '../autodiff/grad';
import { Graph } from '../graph/graph';
import type { Tensor } from '../graph/tensor';
import { conv2dLayer, groupNorm } from '../nn/layers';
import { emitModel } from '../onnx/emit';
import { CompiledGraph } from '../runtime/compiled';
import { coreCount, type TensorValue } from '../runtime/session';
import { Trainer } from '../train/trainer';
import { benchOptions, positiveNumber, runBenchCommand, valueOption } from './command';

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

type Timings = Record<'primitive' | 'composition', number[]>;

/** Runs each variant `steps` times, alternating, after one warm-up run each. */
async function alternate(steps: number, run: Record<keyof Timings, () => Promise<unknown>>): Promise<Timings> {
  const times: Timings = { primitive: [], composition: [] };
  for (const f of Object.values(run)) await f();
  for (let s = 0; s < steps; s++) {
    for (const [name, f] of Object.entries(run) as [keyof Timings, () => Promise<unknown>][]) {
      const t0 = performance.now();
      await f();
      times[name].push(performance.now() - t0);
    }
  }
  return times;
}

function summary(t: Timings) {
  const [p, c] = [median(t.primitive), median(t.composition)];
  const [pm, cm] = [Math.min(...t.primitive), Math.min(...t.composition)];
  return {
    medianMs: { primitive: +p.toFixed(2), composition: +c.toFixed(2) },
    minMs: { primitive: +pm.toFixed(2), composition: +cm.toFixed(2) },
    primitiveSpeedup: { median: +(c / p).toFixed(3), min: +(cm / pm).toFixed(3) },
  };
}

/** GroupNorm alone: forward (y) or forward + backward (d mean(y^2) / dx). */
async function isolated(norm: Norm, backward: boolean, shape: number[], groups: number, threads: number): Promise<() => Promise<unknown>> {
  const g = new Graph({ training: true });
  const x = g.input('x', shape);
  const y = norm(g, 'n', x, groups);
  const outputs: Record<string, Tensor> = backward ? { dx: grad(F.reduceMean(F.mul(y, y)), [x])[0] } : { y };
  const compiled = await CompiledGraph.fromModel(emitModel({ outputs }), { threads });
  const C = shape[1];
  const all: Record<string, TensorValue> = {
    x: { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37) + 0.3) },
    'n.weight': { shape: [C], data: new Float32Array(C).fill(1) },
    'n.bias': { shape: [C], data: new Float32Array(C) },
  };
  const feeds = Object.fromEntries([...compiled.inputs.keys()].map((k) => [k, all[k]]));
  return () => compiled.run(feeds);
}

async function main(): Promise<number> {
  const v = benchOptions(process.argv.slice(2), { batch: valueOption(16), channels: valueOption(64), size: valueOption(32), layers: valueOption(6), groups: valueOption(8), steps: valueOption(20), threads: valueOption(coreCount()) });
  const int = (name: keyof typeof v) => positiveNumber(`--${name}`, v[name], true);
  const o = { batch: int('batch'), channels: int('channels'), size: int('size'), layers: int('layers'), groups: int('groups'), steps: int('steps') };
  const threads = int('threads');
  const shape = [o.batch, o.channels, o.size, o.size];
  const alone = async (backward: boolean) =>
    summary(await alternate(o.steps, { primitive: await isolated(groupNorm, backward, shape, o.groups, threads), composition: await isolated(composedGroupNorm, backward, shape, o.groups, threads) }));
  const forward = await alone(false);
  const forwardBackward = await alone(true);
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
  const [p, c] = [make(groupNorm), make(composedGroupNorm)];
  const batch = { x: { shape: [o.batch, 3, o.size, o.size], data: Float32Array.from({ length: o.batch * 3 * o.size * o.size }, (_, i) => Math.sin(i * 0.37)) } };
  const trainStep = summary(await alternate(o.steps, { primitive: () => p.step(batch, 1e-3), composition: () => c.step(batch, 1e-3) }));
  const report = { benchmark: 'groupnorm', threads, ...o, isolated: { forward, forwardBackward }, trainStep };
  process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  return 0;
}

runBenchCommand('groupnorm', main);
