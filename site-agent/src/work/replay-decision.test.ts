import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplaySkipReason } from '@fedciss/proto';
import { replaySkipReason } from './replay-decision';

test('replay decision: fidelity first, then the old classes the step shows at or above the threshold; 0 never skips for them', () => {
  const R = ReplaySkipReason;
  assert.equal(replaySkipReason(true, 0.5, 0.04), R.REPLAY_SKIP_REASON_LOW_FIDELITY);
  assert.equal(replaySkipReason(false, 0.04, 0.04), R.REPLAY_SKIP_REASON_OLD_CLASSES_SHOWN);
  assert.equal(replaySkipReason(false, 0.039, 0.04), R.REPLAY_SKIP_REASON_UNSPECIFIED);
  assert.equal(replaySkipReason(false, 1, 0), R.REPLAY_SKIP_REASON_UNSPECIFIED);
  assert.equal(replaySkipReason(false, 0, 0), R.REPLAY_SKIP_REASON_UNSPECIFIED);
});
