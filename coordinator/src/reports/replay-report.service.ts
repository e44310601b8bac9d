import { Injectable } from '@nestjs/common';
import { ReplaySkipReason } from '@fedciss/proto';
import { DatabaseService } from '../database/database.service';
import { REPLAY_CHECK_KEYS } from './replay-check-metrics';
import { SKIPPED_ROUND_ACTIONS, stepOfSkippedRound } from '../audit/skipped-rounds';

/** What the federation knows, per step, about its diffusion replay. */
export interface ReplayStepReport {
  step: number;
  /** Sites' replay fidelity (student mIoU / teacher mIoU on their held-out patients), from the
   * step's segmenter rounds; the mean over the sites that measured it (null: none did). */
  fidelity: number | null;
  /** The same student taught on the untrained generator's noise (the floor a generator must beat); the
   * mean over the sites that measured it (null: none did, e.g. sites older than the noise check). */
  noiseFidelity: number | null;
  fidelityBySite: ReplaySiteCheck[];
  /** Sites that skipped replay at this step (why: each site's `skipReason`). */
  skippedSites: string[];
  /** Realism distance of the generator's samples to the site's images after the step's generator
   * rounds (hand-feature Frechet distance; mean over sites, null: no generator round). */
  realism: number | null;
  /** Samples the memorisation check flagged (sum over sites and generator rounds). */
  privacyFlagged: number;
  /** Generator training steps the sites ran in the step (sum over sites and rounds). */
  generatorSteps: number;
  /** The step's generator rounds that failed (e.g. every site withheld its generator). */
  generatorRoundsFailed: number;
  /** Generator updates sites kept back, per round, with why: the memorisation gate, or (secure
   * aggregation) a key exchange the site did not complete in time. */
  withheldGenerators: WithheldGenerator[];
  /** Why the step went on without its planned generator rounds (too many failed, or the privacy
   * budget): its replay, and the next step's, uses the generator it had. Null: it did not. */
  generatorGivenUp: string | null;
}

/** A generator update a round did not get from a site that was invited (round-state `withheld`). */
export interface WithheldGenerator {
  siteId: string;
  roundId: string;
  reason: string;
}

/** One site's replay check at one step (ml replay/check.ts, sent as the upload's ReplayCheck). */
export interface ReplaySiteCheck {
  siteId: string;
  fidelity: number;
  teacherMiou: number;
  studentMiou: number;
  skipped: boolean;
  /** Null when the site did not measure the noise floor. */
  noiseFidelity: number | null;
  foregroundFidelity: number | null;
  noiseForegroundFidelity: number | null;
  /** How far above noiseFidelity the fidelity had to be. */
  margin: number | null;
  /** Wall seconds the noise student cost the site. */
  noiseSeconds: number | null;
  /** Share of the step's own image pixels the teacher's pseudo-labels give to old classes (null: the
   * site did not measure it). */
  oldClassShare: number | null;
  /** Why the site did not replay: its generator's fidelity, or the step's images already show the
   * old classes. Null when it replayed. */
  skipReason: ReplaySkipReasonName | null;
}

export type ReplaySkipReasonName = 'low-fidelity' | 'old-classes-shown';

/** The stored `replaySkipReason` of a skipped update as a name; sites older than the reason skipped
 * only for fidelity. */
function skipReasonName(skipped: boolean, code: number | undefined): ReplaySkipReasonName | null {
  if (!skipped) return null;
  return code === ReplaySkipReason.REPLAY_SKIP_REASON_OLD_CLASSES_SHOWN ? 'old-classes-shown' : 'low-fidelity';
}

const num = (m: unknown, key: string): number | undefined => {
  const v = (m as Record<string, unknown> | null)?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};
const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
const known = (v: (number | null)[]) => v.filter((x): x is number => x !== null);

/**
 * The replay part of the federated report, from the metrics sites send with their updates:
 * the replay check of segmenter updates (keys REPLAY_CHECK_KEYS and `replaySkipped`, stored from
 * the upload's typed ReplayCheck; site-agent work/ml-site-work.ts), `realismFrechet`, `privacyFlagged`, `steps` with
 * generator updates. Only accepted updates count. Next to them, what became of the step's generator
 * rounds: failed ones, generators withheld at the memorisation gate, and the coordinator's decision
 * to go on without them (audit entries round.given-up and round.refused).
 */
@Injectable()
export class ReplayReportService {
  constructor(private readonly db: DatabaseService) {}

  async steps(): Promise<ReplayStepReport[]> {
    const rounds = await this.db.prisma.round.findMany({ where: { kind: { in: ['segmenter', 'generator'] } }, orderBy: { openedAt: 'asc' } });
    const updates = await this.db.prisma.siteUpdate.findMany({ where: { roundId: { in: rounds.map((r) => r.id) }, status: 'accepted' }, orderBy: { siteId: 'asc' } });
    // The opener's decisions to go on without generator rounds (round-opener.service.ts, privacy-ledger.service.ts).
    const givenUp = await this.db.prisma.auditEntry.findMany({ where: { action: { in: Object.values(SKIPPED_ROUND_ACTIONS) } }, orderBy: { id: 'asc' } });
    const kindOf = new Map(rounds.map((r) => [r.id, { kind: r.kind, step: r.stepIndex }]));
    const byStep = new Map<number, ReplayStepReport & { realisms: number[] }>();
    const entry = (step: number) => {
      let e = byStep.get(step);
      if (!e) {
        byStep.set(step, (e = {
          step, fidelity: null, noiseFidelity: null, fidelityBySite: [], skippedSites: [], realism: null, privacyFlagged: 0, generatorSteps: 0,
          generatorRoundsFailed: 0, withheldGenerators: [], generatorGivenUp: null, realisms: [],
        }));
      }
      return e;
    };
    for (const r of rounds.filter((x) => x.kind === 'generator')) {
      const e = entry(r.stepIndex);
      if (r.status === 'failed') e.generatorRoundsFailed++;
      const withheld = (r.state as { withheld?: Record<string, { reason: string }> } | null)?.withheld ?? {};
      for (const [siteId, w] of Object.entries(withheld).sort(([a], [b]) => a.localeCompare(b))) e.withheldGenerators.push({ siteId, roundId: r.id, reason: w.reason });
    }
    for (const a of givenUp) {
      const step = stepOfSkippedRound(a.target, 'generator');
      const reason = (a.details as { reason?: unknown } | null)?.reason;
      if (step !== null && typeof reason === 'string') entry(step).generatorGivenUp ??= reason;
    }
    for (const u of updates) {
      const r = kindOf.get(u.roundId)!;
      const e = entry(r.step);
      if (r.kind === 'segmenter') {
        const fidelity = num(u.metrics, 'replayFidelity');
        // The check runs once per step; every round repeats it, so the site's first report counts.
        if (fidelity === undefined || e.fidelityBySite.some((f) => f.siteId === u.siteId)) continue;
        const skipped = num(u.metrics, 'replaySkipped') === 1;
        const k = REPLAY_CHECK_KEYS;
        e.fidelityBySite.push({
          siteId: u.siteId, fidelity, teacherMiou: num(u.metrics, k.teacherMiou) ?? 0, studentMiou: num(u.metrics, k.studentMiou) ?? 0, skipped,
          noiseFidelity: num(u.metrics, k.noiseFidelity) ?? null, foregroundFidelity: num(u.metrics, k.foregroundFidelity) ?? null,
          noiseForegroundFidelity: num(u.metrics, k.noiseForegroundFidelity) ?? null, margin: num(u.metrics, k.margin) ?? null, noiseSeconds: num(u.metrics, k.noiseSeconds) ?? null,
          oldClassShare: num(u.metrics, k.oldClassShare) ?? null, skipReason: skipReasonName(skipped, num(u.metrics, 'replaySkipReason')),
        });
        if (skipped) e.skippedSites.push(u.siteId);
      } else {
        const realism = num(u.metrics, 'realismFrechet');
        if (realism !== undefined) e.realisms.push(realism);
        e.privacyFlagged += num(u.metrics, 'privacyFlagged') ?? 0;
        e.generatorSteps += num(u.metrics, 'steps') ?? 0;
      }
    }
    return [...byStep.values()]
      .sort((a, b) => a.step - b.step)
      .map(({ realisms, ...e }) => ({ ...e, fidelity: mean(e.fidelityBySite.map((f) => f.fidelity)), noiseFidelity: mean(known(e.fidelityBySite.map((f) => f.noiseFidelity))), realism: mean(realisms) }));
  }
}
