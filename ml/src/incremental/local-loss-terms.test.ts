import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../graph/tensor';
import { scalarValue } from '../testing/scalar';
import type { SegmenterOutputs } from '../segmentation/network';
import { ActiveLossTerms } from './loss-table';
import { DEFAULT_LOSS_WEIGHTS, LocalBatch, LocalLossKey, LocalLossSetup, LOCAL_LOSS_TERMS } from './local-loss-terms';

const ln = Math.log;
const setup = (realImages: number, replayImages: number, weights: Partial<LocalLossSetup['weights']> = {}) =>
  ({ weights: { ...DEFAULT_LOSS_WEIGHTS, prox: 0, ...weights }, numClasses: 3, teacherClasses: 2, realImages, replayImages }) as LocalLossSetup;

/** One cross-entropy term on a batch of two one-pixel images, both with logits (0, 0, ln 2) and
 * labelled background (2 old classes, new class 2): image 0 is the step's own, image 1 replay. */
function termValue(key: 'ce' | 'unbiasedCe' | 'separatedCe' | 'replayCe'): Promise<number> {
  return scalarValue((g) => {
    const net = { logits: g.constant([0, 0, ln(2), 0, 0, ln(2)], [2, 3, 1, 1]) } as SegmenterOutputs;
    const labels = g.constant([0, 0], [2, 1, 1], 'int64');
    return LOCAL_LOSS_TERMS[key].build(setup(1, 1), net, () => labels, g) as Tensor;
  });
}

test('the step\'s own images take the cross-entropy, the replay images the replay cross-entropy, each its own mean', async () => {
  const close = (got: number, want: number) => assert.ok(Math.abs(got - want) < 1e-5, `got ${got}, want ${want}`);
  close(await termValue('ce'), ln(4)); // image 0 only: p0 = 1/4
  close(await termValue('unbiasedCe'), ln(2)); // image 0 only, background or an old class: p0 + p1 = 1/2
  close(await termValue('separatedCe'), ln(3)); // image 0 only, over background and the new class: p0 = 1/3
  close(await termValue('replayCe'), ln(4 / 3)); // image 1 only, background or a new class: p0 + p2 = 3/4
});

test('a batch without replay images has no replay term, one without the step\'s images no cross-entropy', () => {
  const active = (real: number, replay: number) => new ActiveLossTerms<LocalLossKey, LocalLossSetup, LocalBatch>(LOCAL_LOSS_TERMS, setup(real, replay, { replayCe: 1 }), 'test');
  assert.equal(active(8, 0).has('replayCe'), false);
  assert.equal(active(6, 2).has('replayCe'), true);
  assert.equal(active(6, 2).has('ce'), true);
  assert.equal(active(0, 8).has('ce'), false);
  assert.equal(new ActiveLossTerms<LocalLossKey, LocalLossSetup, LocalBatch>(LOCAL_LOSS_TERMS, setup(6, 2), 'test').has('replayCe'), false, 'off by default');
});
