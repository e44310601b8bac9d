import { ReplaySkipReason, type ReplayCheck } from '@fedciss/proto';
import { invalid } from '../common/errors';

/** The stored metric key of each ReplayCheck field (what ReplayReportService reads back). */
export const REPLAY_CHECK_KEYS = {
  fidelity: 'replayFidelity',
  noiseFidelity: 'replayNoiseFidelity',
  foregroundFidelity: 'replayForegroundFidelity',
  noiseForegroundFidelity: 'replayNoiseForegroundFidelity',
  teacherMiou: 'replayTeacherMiou',
  studentMiou: 'replayStudentMiou',
  noiseStudentMiou: 'replayNoiseStudentMiou',
  margin: 'replayMargin',
  noiseSeconds: 'replayNoiseSeconds',
  oldClassShare: 'replayOldClassShare',
} as const satisfies Record<Exclude<keyof ReplayCheck, 'skipped' | 'skipReason'>, string>;

/**
 * A segmenter update's replay check (the typed header field) as the update's stored metrics: one
 * key per figure plus `replaySkipped` 0/1 and `replaySkipReason` (the ReplaySkipReason number). The
 * figures are ratios, mIoUs and seconds: a value that is not finite or is negative (the margin may
 * be) is refused, naming the field, as are a share above 1, a skip reason this coordinator does not
 * know, and a reason given for replay that was not skipped.
 */
export function replayCheckMetrics(check: ReplayCheck | undefined): Record<string, number> {
  if (!check) return {};
  const out: Record<string, number> = {};
  for (const [field, key] of Object.entries(REPLAY_CHECK_KEYS) as [keyof typeof REPLAY_CHECK_KEYS, string][]) {
    const v = check[field];
    if (!Number.isFinite(v) || (field !== 'margin' && v < 0)) throw invalid(`replay_check.${field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)} must be a finite${field === 'margin' ? '' : ', non-negative'} number, got ${v}`);
    out[key] = v;
  }
  if (check.oldClassShare > 1) throw invalid(`replay_check.old_class_share is a share of pixels, at most 1, got ${check.oldClassShare}`);
  if (!Object.values(ReplaySkipReason).includes(check.skipReason) || check.skipReason === ReplaySkipReason.UNRECOGNIZED) {
    throw invalid(`replay_check.skip_reason ${check.skipReason} is not a known ReplaySkipReason`);
  }
  // A reason without a skip contradicts itself (a skip without a reason is an older site's: fidelity).
  if (!check.skipped && check.skipReason !== ReplaySkipReason.REPLAY_SKIP_REASON_UNSPECIFIED) {
    throw invalid(`replay_check.skip_reason ${ReplaySkipReason[check.skipReason]} is given but replay_check.skipped is false`);
  }
  out.replaySkipped = check.skipped ? 1 : 0;
  out.replaySkipReason = check.skipReason;
  return out;
}
