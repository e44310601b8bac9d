import { Injectable, Logger } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { nextClipNorm, noisyUnclippedFraction, updateNoiseMultiplier } from './adaptive-clipping';
import type { PrivacySettings } from './privacy-settings';
import type { PrivateKind } from './privacy-ledger.service';

/** What a round of a federation with adaptive clipping records in its config (key `clipping`). */
export interface RoundClipping {
  /** C the round's sites clipped to. */
  readonly clipNorm: number;
  /** Sites whose noisy bit is in the count (null until the round is aggregated). */
  readonly sites: number | null;
  /** b̃: the noisy fraction of those sites whose update was within C. */
  readonly unclippedFraction: number | null;
  /** C of the next round of this model. */
  readonly nextClipNorm: number | null;
}

/** One row of the console's and the report's clip-bound table. */
export interface ClipRound extends RoundClipping {
  readonly roundId: string;
  readonly step: number;
  readonly kind: PrivateKind;
  readonly index: number;
  readonly status: string;
}

/** The key of SiteUpdate.metrics where a plain (unmasked) update's noisy bit is kept (from UploadHeader.unclipped_indicator). */
export const UNCLIPPED_INDICATOR_METRIC = 'unclippedIndicator';

const clippingOf = (round: { readonly config: unknown }): RoundClipping | undefined => (round.config as { clipping?: RoundClipping } | null)?.clipping;

/** The clip bound a round was opened with under adaptive clipping (undefined: the settings' fixed clipNorm). */
export const roundClipNorm = (round: { readonly config: unknown }): number | undefined => clippingOf(round)?.clipNorm;

/**
 * The clip bound of each round: fixed (the settings' clipNorm) or, under adaptive clipping, moved
 * after every aggregated round from the sites' noisy "within C" bits (adaptive-clipping.ts). The
 * bound a round was opened with is part of its config, so what a site is told, what the coordinator
 * checks and what the report shows agree. The accountant needs nothing more: the noise multiplier
 * it charges is the configured total, of which the bits take their share (updateNoiseMultiplier).
 */
@Injectable()
export class AdaptiveClipService {
  private readonly log = new Logger('Privacy');

  constructor(private readonly db: DatabaseService) {}

  /**
   * C for a new `kind` round, to be put in its config as `{ clipping }` (undefined without adaptive
   * clipping): the last aggregated round's next bound, across steps, or the configured start.
   */
  async openingClipping(kind: PrivateKind, privacy: PrivacySettings | undefined): Promise<{ clipping: RoundClipping } | undefined> {
    const dp = privacy?.differentialPrivacy;
    if (!dp?.adaptiveClipping) return undefined;
    const rounds = await this.db.prisma.round.findMany({ where: { kind, status: 'completed' }, orderBy: { closedAt: 'desc' }, take: 50 });
    const last = rounds.map(clippingOf).find((c) => c?.nextClipNorm != null);
    return { clipping: { clipNorm: last?.nextClipNorm ?? dp.clipNorm, sites: null, unclippedFraction: null, nextClipNorm: null } };
  }

  /**
   * After aggregation: the noisy count of the bits (the sum of the plain updates' bits, or the
   * unmasked sum's extra word) moves C; recorded in the round's config. `sites`: bits in the count.
   */
  async recordCount(tx: Prisma.TransactionClient, round: { readonly id: string; readonly config: unknown }, privacy: PrivacySettings | undefined, noisyCount: number, sites: number): Promise<RoundClipping | undefined> {
    const ac = privacy?.differentialPrivacy?.adaptiveClipping;
    const opened = clippingOf(round);
    if (!ac || !opened) return undefined;
    if (sites === 0) return opened; // no bit came in: C stays
    const unclippedFraction = noisyUnclippedFraction(noisyCount, sites);
    const clipping: RoundClipping = { clipNorm: opened.clipNorm, sites, unclippedFraction, nextClipNorm: nextClipNorm(opened.clipNorm, unclippedFraction, ac) };
    await tx.round.update({ where: { id: round.id }, data: { config: { ...(round.config as object), clipping } as unknown as Prisma.InputJsonValue } });
    this.log.log(`round ${round.id}: noisy fraction of updates within C ${opened.clipNorm.toPrecision(4)}: ${unclippedFraction.toFixed(3)} of ${sites} sites; next C ${clipping.nextClipNorm!.toPrecision(4)}`);
    return clipping;
  }

  /** The noisy bits of a plain round's accepted updates (the sites that sent one). */
  async plainCount(roundId: string, contributors: readonly string[]): Promise<{ noisyCount: number; sites: number }> {
    const updates = await this.db.prisma.siteUpdate.findMany({ where: { roundId, status: 'accepted', siteId: { in: [...contributors] } } });
    const bits = updates.map((u) => (u.metrics as Record<string, unknown>)[UNCLIPPED_INDICATOR_METRIC]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    return { noisyCount: bits.reduce((a, b) => a + b, 0), sites: bits.length };
  }

  /** Every round's clip bound so far (oldest first), for the console and the report. */
  async history(): Promise<ClipRound[]> {
    const rounds = await this.db.prisma.round.findMany({ where: { kind: { in: ['segmenter', 'generator'] } }, orderBy: { openedAt: 'asc' } });
    return rounds.flatMap((r) => {
      const c = clippingOf(r);
      return c ? [{ roundId: r.id, step: r.stepIndex, kind: r.kind as PrivateKind, index: r.index, status: r.status, ...c }] : [];
    });
  }
}

/** How the configured noise multiplier is split (for the view): the updates' share, the bits' noise. */
export function noiseSplit(privacy: PrivacySettings | undefined): { updateNoiseMultiplier: number; countNoiseStddev: number } | null {
  const dp = privacy?.differentialPrivacy;
  if (!dp?.adaptiveClipping) return null;
  return { updateNoiseMultiplier: updateNoiseMultiplier(dp.noiseMultiplier, dp.adaptiveClipping.countNoiseStddev), countNoiseStddev: dp.adaptiveClipping.countNoiseStddev };
}
