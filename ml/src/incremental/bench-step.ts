/** Timing of the incremental recipe: `node ml/dist/incremental/bench-step.js [--size 64] [--batch 8]
 * [--steps 10] [--ep cpu|cuda|webgpu] [--training-ep EP]`. Default network (width 16, depth 3,
 * embedDim 32) at size x size: milliseconds per train step for plain cross-entropy and for the
 * whole method (teacher pass, pseudo-labels, kd, pod, contrastive), and per inference batch, on the
 * execution provider named (default cpu), training on --training-ep where it is given
 * (RuntimeOptions.trainingExecutionProvider: the teacher's pass and the inference batches stay on
 * --ep); what the runtime said (a provider falling back to cpu, say) is printed under notes. */
import { benchOptions, oneOf, positiveNumber, runBenchCommand, valueOption } from '../bench/command';
import { coreCount, EXECUTION_PROVIDERS, RuntimeOptions } from '../runtime/session';
import { growHead } from '../segmentation/head';
import { createSegmenterWeights, segmenterConfig } from '../segmentation/network';
import { SegmenterRunner } from '../segmentation/runner';
import { shapeScenes } from './synthetic-shapes';
import { trainLocalSegmenter } from './train';

async function main(): Promise<number> {
  const v = benchOptions(process.argv.slice(2), { size: valueOption('64'), batch: valueOption('8'), steps: valueOption('10'), ep: valueOption('cpu'), 'training-ep': { type: 'string' } });
  const size = positiveNumber('--size', v.size, true);
  const batch = positiveNumber('--batch', v.batch, true);
  const steps = positiveNumber('--steps', v.steps, true);
  const notes = new Set<string>();
  const runtime: RuntimeOptions = {
    executionProvider: oneOf('--ep', v.ep, EXECUTION_PROVIDERS),
    trainingExecutionProvider: v['training-ep'] === undefined ? undefined : oneOf('--training-ep', v['training-ep'], EXECUTION_PROVIDERS),
    log: (m) => notes.add(m),
  };
  const config = segmenterConfig({ inputSize: [size, size] });
  const data = shapeScenes(batch * 2, { size, draw: [3, 1, 2], annotate: [3], seed: 1 });
  const teacher = { weights: createSegmenterWeights(config, 3, 1), numClasses: 3 };
  const weights = growHead(teacher.weights, 3, 4);
  const out: Record<string, unknown> = { size, batch, executionProvider: runtime.executionProvider, trainingExecutionProvider: runtime.trainingExecutionProvider ?? runtime.executionProvider, cores: coreCount(), parameters: [...weights.values()].reduce((n, t) => n + t.data.length, 0) };
  const only = (k: string) => ({ lossWeights: { kd: 0, pod: 0, contrastive: 0, [k]: k === 'ce' ? 1 : 0.5 } });
  for (const [name, extra] of [
    ['ce', { lossWeights: { contrastive: 0 } }],
    ['ce+kd', only('kd')],
    ['ce+pod', only('pod')],
    ['ce+contrastive', only('contrastive')],
    ['method', { replayFraction: 0.25 }],
  ] as const) {
    const hyper = { epochs: 1, batchSize: batch, learningRate: 1e-3, stepsPerEpoch: steps + 1, ...extra };
    const t0 = Date.now();
    const r = await trainLocalSegmenter({
      config,
      weights,
      numClasses: 4,
      teacher: name === 'ce' || name === 'ce+contrastive' ? undefined : teacher,
      real: data,
      replay: name === 'method' ? data.slice(0, 4) : undefined,
      hyper,
      runtime,
    });
    out[`${name}: train step ms (graph)`] = +r.metrics.msPerStep.toFixed(1);
    out[`${name}: whole step ms (incl. augmentation, teacher pass, the compile)`] = +((Date.now() - t0) / (steps + 1)).toFixed(1);
  }
  const runner = await SegmenterRunner.create(config, weights, 4, { batch, runtime });
  const x = new Float32Array(batch * 3 * size * size).fill(0.5);
  await runner.run(x);
  const t1 = Date.now();
  for (let i = 0; i < steps; i++) await runner.run(x);
  out['inference ms per batch'] = +((Date.now() - t1) / steps).toFixed(1);
  await runner.release();
  out.notes = [...notes];
  console.log(JSON.stringify(out, null, 2));
  return 0;
}

runBenchCommand('step', main);
