import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../init/initializers';
import { meanIoU } from '../metrics/confusion';
import { createSegmenterWeights, segmenterConfig } from '../segmentation/network';
import { evaluateSegmenter, predictSegmentation } from '../segmentation/predict';
import { replayFidelity } from './fidelity';

const config = segmenterConfig({ width: 4, depth: 1, inputSize: [8, 8], embedDim: 4, groups: 2 });

test('replay fidelity: the student is scored against the teacher on the same images; ratio, foreground ratio, labelled fraction', async () => {
  const r = seededRandom(4);
  const teacher = { config, weights: createSegmenterWeights(config, 3, 2), numClasses: 3 };
  const image = () => Float32Array.from({ length: 3 * 64 }, () => r());
  // Real images labelled with the teacher's own predictions: the teacher scores 100 here.
  const real = [image(), image(), image()].map((im) => ({ image: im, height: 8, width: 8 }));
  const truth = await predictSegmentation(teacher, real);
  const test_ = real.map((s, i) => ({ ...s, label: truth[i].labels }));
  const f = await replayFidelity({ teacher, images: [image(), image()].map((im) => ({ image: im, height: 8, width: 8 })), test: test_, confidenceThreshold: 0, student: { steps: 3, batchSize: 2 }, seed: 3 });
  assert.equal(f.teacherMiou, 1);
  assert.equal(f.fidelity, f.studentMiou);
  assert.ok(f.studentMiou >= 0 && f.studentMiou <= 1);
  // every pixel is taught at threshold 0
  assert.equal(f.labelledFraction, 1);
  assert.ok(f.foregroundFidelity >= 0);
  // the teacher's score is evaluateSegmenter's, computed independently
  const cm = await evaluateSegmenter(teacher, test_);
  assert.equal(meanIoU(cm), f.teacherMiou);
  await assert.rejects(replayFidelity({ teacher, images: [], test: test_ }), /no generated images/);
  await assert.rejects(replayFidelity({ teacher, images: real, test: [] }), /no real images/);
});
