import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as F from '../graph/functional';
import { InferenceRunner } from '../infer/inference';
import { softmaxCrossEntropy } from '../nn/losses';
import { batchNorm } from '../nn/layers';
import { iouClass1, rectangles, tinySegNet } from '../testing/tiny-seg';
import { cloneTensors } from '../weights/named-tensors';
import { decodeSafetensors, encodeSafetensors } from '../weights/safetensors';
import type { OptimizerConfig } from './optimizers';
import { compileTrainStep, NonFiniteLossError, Trainer, type TrainModel } from './trainer';

const N = 8;
const S = 16;
const segBatch = (seed: number) => {
  const d = rectangles(N, S, seed);
  return { image: { shape: [N, 1, S, S], data: d.image }, labels: { shape: [N, S, S], data: d.labels } };
};

test('a tiny network learns a separable synthetic segmentation task (IoU > 0.9)', async () => {
  const trainer = await compileTrainStep({
    model: (g, b) => ({ losses: { ce: softmaxCrossEntropy(tinySegNet(g, b.image, 2), b.labels) } }),
    optimizer: { kind: 'adam' },
  });
  let first = 0;
  let last = 0;
  for (let i = 0; i < 40; i++) {
    const r = await trainer.step(segBatch(i), 1e-2);
    if (i === 0) first = r.losses.ce;
    last = r.losses.ce;
  }
  assert.ok(last < first / 10, `loss ${first} -> ${last}`);
  const test = rectangles(N, S, 1000);
  const runner = await InferenceRunner.create({
    model: (g, i) => ({ logits: tinySegNet(g, i.image, 2) }),
    inputs: { image: { shape: [N, 1, S, S] } },
    weights: trainer.weights,
  });
  const out = await runner.run({ image: { shape: [N, 1, S, S], data: test.image } });
  const iou = iouClass1(out.logits.data as Float32Array, test.labels, N, S * S);
  assert.ok(iou > 0.9, `IoU ${iou}`);
  assert.equal(trainer.updates, 40);
  const evaluated = await trainer.evaluate(segBatch(1000));
  assert.ok(evaluated.losses.ce < first / 10);
  await runner.release();
  await trainer.release();
});

test('a NaN or infinite loss is refused, the weights stay, the error names the term', async () => {
  const trainer = new Trainer({
    model: (g, b) => {
      const w = g.param('w', [3], 'ones');
      return { losses: { fit: F.reduceSum(F.mul(w, b.x)), bad: F.log(F.reduceMean(b.z)) } };
    },
    optimizer: { kind: 'adam' },
  });
  const x = { shape: [3], data: Float32Array.of(1, 2, 3) };
  await trainer.step({ x, z: { shape: [2], data: Float32Array.of(1, 2) } }, 0.1);
  const weights = cloneTensors(trainer.weights);
  const state = cloneTensors(trainer.optimizerState);
  for (const [z, word] of [[[-1, -2], 'NaN'], [[0, 0], '-Infinity']] as const) {
    await assert.rejects(
      trainer.step({ x, z: { shape: [2], data: Float32Array.from(z) } }, 0.1),
      (e: Error) => e instanceof NonFiniteLossError && e.term === 'bad' && e.message.includes(`'bad' is ${word}`) && /refused/.test(e.message),
    );
  }
  assert.deepEqual(trainer.weights, weights);
  assert.deepEqual(trainer.optimizerState, state);
  assert.equal(trainer.updates, 1);
});

/** loss = sum(c * w) + 0.5 * sum(w^2): gradient c + w. */
async function runOptimizer(optimizer: OptimizerConfig, steps: number, extra: { clipGradNorm?: number } = {}) {
  const trainer = new Trainer({
    model: (g, b) => {
      const w = g.param('w', [3], { values: Float32Array.of(0.5, -1, 2) });
      return { losses: { l: F.add(F.reduceSum(F.mul(w, b.c)), F.mul(F.reduceSum(F.mul(w, w)), 0.5)) } };
    },
    optimizer,
    ...extra,
  });
  const c = Float32Array.of(1, -2, 0.5);
  for (let i = 0; i < steps; i++) await trainer.step({ c: { shape: [3], data: c } }, 0.1);
  return Array.from(trainer.weights.get('w')!.data);
}

function reference(opt: OptimizerConfig, steps: number): number[] {
  const w = [0.5, -1, 2];
  const c = [1, -2, 0.5];
  const lr = 0.1;
  const buf = [0, 0, 0];
  const m = [0, 0, 0];
  const v = [0, 0, 0];
  for (let t = 1; t <= steps; t++) {
    for (let i = 0; i < 3; i++) {
      let g = c[i] + w[i];
      const wd = opt.weightDecay ?? 0;
      if (opt.kind === 'sgd') {
        g += wd * w[i];
        const mu = opt.momentum ?? 0;
        buf[i] = mu * buf[i] + g;
        w[i] -= lr * (mu === 0 ? g : opt.nesterov ? g + mu * buf[i] : buf[i]);
      } else {
        if (opt.kind === 'adam') g += wd * w[i];
        const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8 } = opt;
        m[i] = beta1 * m[i] + (1 - beta1) * g;
        v[i] = beta2 * v[i] + (1 - beta2) * g * g;
        const lrT = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
        const decay = opt.kind === 'adamw' ? lr * wd * w[i] : 0;
        w[i] -= lrT * (m[i] / (Math.sqrt(v[i]) + eps)) + decay;
      }
    }
  }
  return w;
}

test('optimizers match a plain reference implementation', async () => {
  const configs: OptimizerConfig[] = [
    { kind: 'sgd' },
    { kind: 'sgd', momentum: 0.9, weightDecay: 0.01 },
    { kind: 'sgd', momentum: 0.9, nesterov: true },
    { kind: 'adam', weightDecay: 0.05 },
    { kind: 'adamw', weightDecay: 0.05, beta1: 0.8 },
  ];
  for (const cfg of configs) {
    const got = await runOptimizer(cfg, 3);
    const want = reference(cfg, 3);
    got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-5, `${JSON.stringify(cfg)}: ${got} vs ${want}`));
  }
});

test('gradient clipping by global norm', async () => {
  // gradient at the start: c + w = [1.5, -3, 2.5], norm sqrt(17.5)
  const got = await runOptimizer({ kind: 'sgd' }, 1, { clipGradNorm: 1 });
  const g = [1.5, -3, 2.5];
  const norm = Math.hypot(...g);
  const want = [0.5, -1, 2].map((w, i) => w - (0.1 * g[i]) / norm);
  got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-6, `${got} vs ${want}`));
});

test('gradient accumulation applies the mean gradient every k steps; frozen params stay', async () => {
  const trainer = new Trainer({
    model: (g, b) => {
      const w = g.param('w', [2], 'zeros');
      const f = g.param('frozen', [2], 'ones');
      return { losses: { l: F.reduceSum(F.mul(F.add(w, f), b.x)) } };
    },
    optimizer: { kind: 'sgd' },
    accumulationSteps: 2,
    frozen: ['frozen'],
  });
  const r1 = await trainer.step({ x: { shape: [2], data: Float32Array.of(1, 2) } }, 1);
  assert.equal(r1.applied, false);
  assert.deepEqual(Array.from(trainer.weights.get('w')!.data), [0, 0]);
  const r2 = await trainer.step({ x: { shape: [2], data: Float32Array.of(3, -4) } }, 1);
  assert.equal(r2.applied, true);
  assert.deepEqual(Array.from(trainer.weights.get('w')!.data), [-2, 1]);
  assert.deepEqual(Array.from(trainer.weights.get('frozen')!.data), [1, 1]);
  assert.deepEqual(Array.from(trainer.optimizerState.get('opt:accum')!.data), [0, 0]); // only 'w' (2 values): 'frozen' is not trained
});

// Like inference.test's fallback test, this relies on the CUDA provider being absent (it is on
// every machine that runs npm test: its libraries are not installed by npm install).
test('training graphs run on trainingExecutionProvider, inference on executionProvider', async () => {
  const batch = { x: { shape: [2], data: Float32Array.of(1, 2) } };
  const model: TrainModel = (g, b) => ({ losses: { l: F.reduceSum(F.mul(g.param('w', [2], 'ones'), b.x)) } });
  const messages: string[] = [];
  const split = new Trainer({ model, optimizer: { kind: 'sgd' }, runtime: { executionProvider: 'cuda', trainingExecutionProvider: 'cpu', log: (m) => messages.push(m) } });
  await split.step(batch, 1);
  assert.deepEqual(messages, [], 'the training session was created on the cpu without trying cuda');
  assert.deepEqual(Array.from(split.weights.get('w')!.data), [0, -1]);
  await split.evaluate(batch);
  assert.equal(messages.length, 1, 'the inference session tried cuda');
  assert.match(messages[0], /execution provider 'cuda' is not available/);
  // Without a training provider, training uses executionProvider (and falls back the same way).
  const whole: string[] = [];
  const one = new Trainer({ model, optimizer: { kind: 'sgd' }, runtime: { executionProvider: 'cuda', log: (m) => whole.push(m) } });
  await one.step(batch, 1);
  assert.equal(whole.length, 1);
  await split.release();
  await one.release();
});

test('BatchNorm running statistics are updated by the step; compiled graphs are cached per shape', async () => {
  const trainer = new Trainer({
    model: (g, b) => ({ losses: { l: F.reduceMean(F.mul(batchNorm(g, 'bn', b.x), b.x)) } }),
    optimizer: { kind: 'sgd' },
  });
  const x = Float32Array.from({ length: 2 * 2 * 2 * 2 }, (_, i) => i);
  await trainer.step({ x: { shape: [2, 2, 2, 2], data: x } }, 0.1);
  // channel 0 holds 0..3 and 8..11: mean 5.5, unbiased variance 20.57...
  const mean = trainer.weights.get('bn.running_mean')!.data;
  const variance = trainer.weights.get('bn.running_var')!.data;
  assert.ok(Math.abs(mean[0] - 0.55) < 1e-5 && Math.abs(mean[1] - 0.95) < 1e-5, `${mean}`);
  const unbiased = [0, 1, 2, 3, 8, 9, 10, 11].reduce((s, v) => s + (v - 5.5) ** 2, 0) / 7;
  assert.ok(Math.abs(variance[0] - (0.9 + 0.1 * unbiased)) < 1e-4, `${variance}`);
  await trainer.step({ x: { shape: [2, 2, 2, 2], data: x } }, 0.1);
  await trainer.step({ x: { shape: [1, 2, 2, 2], data: x.slice(0, 8) } }, 0.1);
  assert.equal(trainer.compiledShapes, 2);
});

test('weights round-trip through safetensors and training resumes identically', async () => {
  const make = (weights?: Map<string, { shape: readonly number[]; data: Float32Array }>) =>
    new Trainer({ model: (g, b) => ({ losses: { ce: softmaxCrossEntropy(tinySegNet(g, b.image, 2), b.labels) } }), optimizer: { kind: 'sgd', momentum: 0 }, weights, seed: 5 });
  const a = make();
  await a.step(segBatch(1), 0.05);
  const blob = encodeSafetensors(a.weights);
  const b = make(decodeSafetensors(blob).tensors);
  const ra = await a.step(segBatch(2), 0.05);
  const rb = await b.step(segBatch(2), 0.05);
  assert.equal(ra.losses.ce, rb.losses.ce);
  assert.deepEqual(a.weights, b.weights);
});
