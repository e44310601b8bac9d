/** Response shapes of the REST API: one mapX() per database row kind (BigInt → number, Date → ISO). */
import type { ModelVersion, SiteUpdate } from '../generated/prisma/client';
import type { RoundRecord } from '../federation/repositories/rounds.repository';
import type { StepRecord } from '../federation/repositories/steps.repository';
import type { ModelVersionDto, RoundDto, SiteUpdateDto, StepDto } from './responses';

export function mapModelVersion(v: ModelVersion): ModelVersionDto {
  return {
    id: v.id, kind: v.kind, sha256: v.sha256, sizeBytes: Number(v.sizeBytes), parentId: v.parentId, stepIndex: v.stepIndex,
    roundId: v.roundId, numClasses: v.numClasses, config: v.config, note: v.note, createdAt: v.createdAt.toISOString(),
  };
}

export function mapRound(r: RoundRecord): RoundDto {
  const state = r.state;
  const uploads = Object.values(state.uploads ?? {});
  return {
    id: r.id, step: r.stepIndex, kind: r.kind, index: r.index, status: r.status, reason: r.reason, baseVersionId: r.baseVersionId,
    resultVersionId: r.resultVersionId, quorum: r.quorum, deadlineAt: r.deadlineAt.toISOString(), openedAt: r.openedAt.toISOString(),
    closedAt: r.closedAt?.toISOString() ?? null,
    sites: Object.keys(state.sites ?? {}),
    accepted: uploads.filter((u) => u.outcome.status === 'accepted').map((u) => u.siteId),
    rejected: uploads.filter((u) => u.outcome.status === 'rejected').map((u) => u.siteId),
    withheld: Object.entries(state.withheld ?? {}).map(([siteId, w]) => ({ siteId, reason: w.reason })),
  };
}

export function mapStep(s: StepRecord & { rounds?: RoundRecord[] }): StepDto {
  const cfg = s.config;
  return {
    index: s.index, status: s.status, teacherVersionId: s.teacherVersionId, newClassIds: cfg.newClassIds ?? [], numClasses: cfg.numClasses ?? 0,
    createdAt: s.createdAt.toISOString(), completedAt: s.completedAt?.toISOString() ?? null,
    rounds: s.rounds?.map(mapRound),
  };
}

export function mapUpdate(u: SiteUpdate): SiteUpdateDto {
  return {
    id: u.id, roundId: u.roundId, siteId: u.siteId, status: u.status, rejectionReason: u.rejectionReason, totalBytes: Number(u.totalBytes),
    receivedBytes: Number(u.receivedBytes), realImages: u.realImages, replayImages: u.replayImages, metrics: u.metrics,
    createdAt: u.createdAt.toISOString(),
  };
}
