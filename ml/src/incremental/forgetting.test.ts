import { test } from 'node:test';
import assert from 'node:assert/strict';
import { growHead } from '../segmentation/head';
import { createSegmenterWeights, segmenterConfig } from '../segmentation/network';
import { evaluateSegmenter, labelWithTeacher } from '../segmentation/predict';
import { incrementalMiou } from '../metrics/confusion';
import { shapeScenes } from './synthetic-shapes';
import { distillOnImages } from './distill';
import { trainLocalSegmenter } from './train';

const S = 32;
const config = segmenterConfig({ width: 8, depth: 2, inputSize: [S, S], embedDim: 8, groups: 2 });
const log = (...a: unknown[]) => process.env.CIL_VERBOSE && console.log(...a);

test('two steps on synthetic shapes: fine-tuning forgets the old classes, distillation + pseudo-labels + replay keep them', async () => {
  // step 0: classes 1 (red disc) and 2 (green bar), fully annotated
  const step0 = shapeScenes(48, { size: S, draw: [1, 2], annotate: [1, 2], seed: 1 });
  // step 1: new patients with class 3 (blue square) annotated; the old structures appear unlabelled
  const step1 = shapeScenes(48, { size: S, draw: [3, 1, 2], annotate: [3], presence: 0.8, seed: 2 });
  const testSet = shapeScenes(32, { size: S, draw: [1, 2, 3], annotate: [1, 2, 3], presence: 0.8, seed: 3 });
  const t0 = Date.now();
  const base = await trainLocalSegmenter({
    config,
    weights: createSegmenterWeights(config, 3, 1),
    numClasses: 3,
    real: step0,
    hyper: { epochs: 20, batchSize: 8, learningRate: 1e-2, lossWeights: { contrastive: 0 } },
    seed: 1,
  });
  const cm0 = await evaluateSegmenter({ config, weights: base.weights, numClasses: 3 }, testSet);
  const after0 = incrementalMiou(cm0, 3, { includeBackground: false });
  log('step 0', after0, `${Date.now() - t0} ms`, base.metrics.msPerStep);
  assert.ok((after0.old ?? 0) > 0.6, `step 0 learned the old classes: mIoU ${after0.old}`);

  const grown = growHead(base.weights, 3, 4);
  // 40 epochs: from the MiB initialisation the new class needs ~30 here to break away from background
  const hyper = { epochs: 40, batchSize: 8, learningRate: 1e-2 };
  const ft = await trainLocalSegmenter({ config, weights: grown, numClasses: 4, real: step1, hyper: { ...hyper, lossWeights: { contrastive: 0 } }, seed: 2 });
  // stand-in replay: held-back step-0 images labelled by the TEACHER (never ground truth)
  const replay = await labelWithTeacher({ config, weights: base.weights, numClasses: 3 }, shapeScenes(8, { size: S, draw: [1, 2], annotate: [], seed: 4 }));
  const method = await trainLocalSegmenter({
    config,
    weights: grown,
    numClasses: 4,
    teacher: { weights: base.weights, numClasses: 3 },
    real: step1,
    replay,
    hyper: { ...hyper, replayFraction: 0.25 },
    seed: 2,
  });
  const ftM = incrementalMiou(await evaluateSegmenter({ config, weights: ft.weights, numClasses: 4 }, testSet), 3, { includeBackground: false });
  const mM = incrementalMiou(await evaluateSegmenter({ config, weights: method.weights, numClasses: 4 }, testSet), 3, { includeBackground: false });
  log('fine-tuning', ftM, ft.metrics.msPerStep, 'method', mM, method.metrics.msPerStep, method.metrics.epochLosses.at(-1), `${Date.now() - t0} ms`);
  assert.ok((ftM.new ?? 0) > 0.5 && (mM.new ?? 0) > 0.5, `both learn the new class: ${ftM.new} ${mM.new}`);
  assert.ok((ftM.old ?? 1) < 0.5 * (after0.old ?? 0), `fine-tuning forgets: old mIoU ${after0.old} -> ${ftM.old}`);
  assert.ok((mM.old ?? 0) > (ftM.old ?? 0) + 0.3, `the method keeps the old classes: ${mM.old} vs fine-tuning ${ftM.old}`);

  // server side: distilling the fine-tuned model toward the teacher on unlabelled images restores
  // the old classes without destroying the new one
  const unlabelled = shapeScenes(16, { size: S, draw: [1, 2, 3], annotate: [], presence: 0.8, seed: 5 });
  const distilled = await distillOnImages({
    config,
    student: { weights: ft.weights, numClasses: 4 },
    teacher: { weights: base.weights, numClasses: 3 },
    images: unlabelled,
    steps: 60,
    learningRate: 1e-2,
    seed: 3,
  });
  const dM = incrementalMiou(await evaluateSegmenter({ config, weights: distilled.weights, numClasses: 4 }, testSet), 3, { includeBackground: false });
  log('server-side distillation of the fine-tuned model', dM, `${Date.now() - t0} ms`);
  assert.ok((dM.old ?? 0) > (ftM.old ?? 0) + 0.3, `distillation restores old classes: ${ftM.old} -> ${dM.old}`);
  assert.ok((dM.new ?? 0) > 0.5, `and keeps the new one: ${dM.new}`);
});
