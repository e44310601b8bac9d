import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { AuditService } from '../audit/audit.service';
import { SKIPPED_ROUND_ACTIONS, skippedRoundTarget } from '../audit/skipped-rounds';
import { CONFIG } from '../common/tokens';
import { StepsRepository } from '../federation/repositories/steps.repository';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { epsilonOfReleases, type Release } from './rdp';
import type { DifferentialPrivacySettings, PrivacySettings, SecureAggregationSettings } from './privacy-settings';
import { AdaptiveClipService, noiseSplit, type ClipRound } from './adaptive-clip.service';

export type PrivateKind = 'segmenter' | 'generator';

/**
 * Sampling rate of every release: the coordinator invites every live site to every round (no
 * random sampling of sites), and it knows who took part, so no amplification by sampling is claimed.
 */
export const PARTICIPATION_RATE = 1;

/** What the API, the console and the report show. */
export interface PrivacyView {
  /** The settings of the current step (or of the coordinator, before the first step). */
  readonly differentialPrivacy: DifferentialPrivacySettings | null;
  readonly secureAggregation: SecureAggregationSettings | null;
  readonly participationRate: number;
  readonly spend: SiteSpend[];
  /** Adaptive clipping: the noise multiplier left for the updates and the bits' noise (null: fixed clipping). */
  readonly noiseSplit: { readonly updateNoiseMultiplier: number; readonly countNoiseStddev: number } | null;
  /** The clip bound of every round opened under adaptive clipping, oldest first. */
  readonly clipping: ClipRound[];
}

export interface SiteSpend {
  readonly siteId: string;
  readonly kind: PrivateKind;
  readonly rounds: number;
  readonly epsilon: number;
  readonly delta: number;
  readonly budget: number | null;
}

/**
 * The privacy accountant's ledger: what each site has spent, per model kind, over the federation's
 * life (table privacy_spend), whether a round may open under the budget, and the charge when it does.
 */
@Injectable()
export class PrivacyLedger {
  private readonly log = new Logger('Privacy');

  constructor(
    private readonly db: DatabaseService,
    private readonly audit: AuditService,
    private readonly clip: AdaptiveClipService,
    private readonly steps: StepsRepository,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
  ) {}

  async view(): Promise<PrivacyView> {
    // The newest step's frozen settings (what its rounds run under), else today's configuration.
    const settings = (await this.steps.latest())?.config.training.privacy ?? this.config.training.privacy;
    const dp = settings.differentialPrivacy ?? null;
    // Spend recorded under earlier settings still counts: shown at today's δ (or the default δ).
    const spend = await this.summary(dp?.delta ?? 1e-5, dp?.budget ?? { segmenter: null, generator: null });
    return {
      differentialPrivacy: dp,
      secureAggregation: settings.secureAggregation ?? null,
      participationRate: PARTICIPATION_RATE,
      spend,
      noiseSplit: noiseSplit(settings),
      clipping: await this.clip.history(),
    };
  }

  private async releases(siteIds: readonly string[], kind: PrivateKind): Promise<Map<string, Release[]>> {
    const rows = await this.db.prisma.privacySpend.findMany({ where: { siteId: { in: [...siteIds] }, kind } });
    const out = new Map<string, Release[]>(siteIds.map((id) => [id, []]));
    for (const r of rows) out.get(r.siteId)?.push({ noiseMultiplier: r.noiseMultiplier, samplingRate: r.samplingRate });
    return out;
  }

  /**
   * Whether a `kind` round for these sites would cross the budget; if it would, the refusal is
   * recorded once (audit log, shown in the console) and true is returned: the caller does not open it.
   */
  async refuse(stepIndex: number, kind: PrivateKind, privacy: PrivacySettings | undefined, siteIds: readonly string[]): Promise<boolean> {
    const dp = privacy?.differentialPrivacy;
    const budget = dp?.budget[kind];
    if (!dp || budget == null) return false;
    const next: Release = { noiseMultiplier: dp.noiseMultiplier, samplingRate: PARTICIPATION_RATE };
    const over: string[] = [];
    for (const [siteId, rel] of await this.releases(siteIds, kind)) {
      const eps = epsilonOfReleases([...rel, next], dp.delta).epsilon;
      if (eps > budget) over.push(`${siteId} would reach ε ${eps.toFixed(3)} after ${rel.length + 1} ${kind} rounds`);
    }
    if (!over.length) return false;
    const target = skippedRoundTarget(stepIndex, kind);
    const reason = `privacy budget: a ${kind} round would cross the budget ε ${budget} (δ ${dp.delta}): ${over.join('; ')}; no further ${kind} round opens`;
    if (await this.audit.recordOnce('system', SKIPPED_ROUND_ACTIONS.refused, target, { reason, kind, budget, delta: dp.delta })) this.log.warn(reason);
    return true;
  }

  /** Charges one release to every invited site, in the transaction that opens the round. */
  async charge(tx: Prisma.TransactionClient, roundId: string, kind: PrivateKind, siteIds: readonly string[], privacy: PrivacySettings | undefined): Promise<void> {
    const dp = privacy?.differentialPrivacy;
    if (!dp) return;
    await tx.privacySpend.createMany({ data: siteIds.map((siteId) => ({ roundId, siteId, kind, noiseMultiplier: dp.noiseMultiplier, samplingRate: PARTICIPATION_RATE })) });
  }

  /** Every site's spend so far, per kind, at δ. */
  async summary(delta: number, budget: DifferentialPrivacySettings['budget']): Promise<SiteSpend[]> {
    const rows = await this.db.prisma.privacySpend.findMany({ orderBy: { createdAt: 'asc' } });
    const groups = new Map<string, { siteId: string; kind: PrivateKind; releases: Release[] }>();
    for (const r of rows) {
      const key = `${r.siteId}\u0000${r.kind}`;
      const g = groups.get(key) ?? { siteId: r.siteId, kind: r.kind as PrivateKind, releases: [] };
      g.releases.push({ noiseMultiplier: r.noiseMultiplier, samplingRate: r.samplingRate });
      groups.set(key, g);
    }
    return [...groups.values()].map((g) => ({
      siteId: g.siteId,
      kind: g.kind,
      rounds: g.releases.length,
      epsilon: epsilonOfReleases(g.releases, delta).epsilon,
      delta,
      budget: budget[g.kind],
    }));
  }
}
