import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import type { SiteWork, TrainedUpdate } from '@fedciss/site-agent';
import { faultsFrom, poisonFirstUpdate } from './faulty-site-agent';

const update = (): TrainedUpdate => ({
  blob: encodeSafetensors(new Map([['w', { shape: [2], data: Float32Array.of(1, 2) }]]), { kind: 'segmenter' }),
  samples: { realImages: 1, replayImages: 0, labelledPixels: 0 },
  metrics: {},
});
const firstValue = (u: TrainedUpdate) => decodeSafetensors(u.blob).tensors.get('w')!.data[0];

test('nan-update: only the first trained update carries a NaN, segmenter or generator', async () => {
  const work: SiteWork = {
    trainSegmenter: async () => update(),
    trainGenerator: async () => update(),
    evaluate: async () => { throw new Error('not used'); },
  };
  const faulty = poisonFirstUpdate(work);
  const none = undefined as never;
  const first = await faulty.trainGenerator(none, none, none);
  assert.ok(!('withheld' in first) && Number.isNaN(firstValue(first)));
  assert.equal(firstValue(await faulty.trainSegmenter(none, none, none)), 1);
});

test('fault names are checked', () => {
  assert.deepEqual(faultsFrom('corrupt-chunk, nan-update'), ['corrupt-chunk', 'nan-update']);
  assert.deepEqual(faultsFrom(undefined), []);
  assert.throws(() => faultsFrom('explode'), /FEDCISS_E2E_FAULTS: unknown fault 'explode'/);
});
