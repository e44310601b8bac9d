/**
 * Whether a site replays at a step, from its replay check: not when its generator does not teach
 * the old classes better than noise (the fidelity check), and not when the step's own images
 * already show the old classes, where pseudo-labels keep them and replay would only take batch
 * share from the new classes (bench:ciss, overlapped vs disjoint scenes: issue 18's notes).
 */
import { ReplaySkipReason } from '@fedciss/proto';

export function replaySkipReason(fidelitySkipped: boolean, oldClassShare: number, skipAtOldClassShare: number): ReplaySkipReason {
  if (fidelitySkipped) return ReplaySkipReason.REPLAY_SKIP_REASON_LOW_FIDELITY;
  if (skipAtOldClassShare > 0 && oldClassShare >= skipAtOldClassShare) return ReplaySkipReason.REPLAY_SKIP_REASON_OLD_CLASSES_SHOWN;
  return ReplaySkipReason.REPLAY_SKIP_REASON_UNSPECIFIED;
}
