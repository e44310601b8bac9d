import { Injectable } from '@nestjs/common';
import { invalid } from '../common/errors';
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

/** The noisy count of "within the bound" bits of a round's aggregated updates, and how many bits it sums. */
export interface UnclippedCount {
  readonly noisyCount: number;
  readonly sites: number;
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
 * The clip bound of each round under adaptive clipping, for the console and the report. The bound a
 * round opens with is part of its config (openingClipping), as is what moved it after aggregation
 * (aggregatedClipping), so what a site is told, what the coordinator checks and what the report
 * shows agree. The accountant needs nothing more: the noise multiplier it charges is the configured
 * total, of which the bits take their share (updateNoiseMultiplier).
 */
@Injectable()
export class AdaptiveClipService {
  constructor(private readonly db: DatabaseService) {}

  /** Every round's clip bound so far (oldest first), for the console and the report. */
  async history(): Promise<ClipRound[]> {
    const rounds = await this.db.prisma.round.findMany({ where: { kind: { in: ['segmenter', 'generator'] } }, orderBy: { openedAt: 'asc' } });
    return rounds.flatMap((r) => {
      const c = clippingOf(r);
      return c ? [{ roundId: r.id, step: r.stepIndex, kind: r.kind as PrivateKind, index: r.index, status: r.status, ...c }] : [];
    });
  }
}

/**
 * The clipping a new round of a model opens with (for its config; undefined without adaptive
 * clipping): the bound the last aggregated round of that model left, across steps, or the start.
 * `completed`: that model's completed rounds, oldest first.
 */
export function openingClipping(privacy: PrivacySettings, completed: ReadonlyArray<{ readonly config: unknown }>): { clipping: RoundClipping } | undefined {
  const dp = privacy.differentialPrivacy;
  if (!dp?.adaptiveClipping) return undefined;
  const last = completed.map(clippingOf).filter((c) => c?.nextClipNorm != null).at(-1);
  return { clipping: { clipNorm: last?.nextClipNorm ?? dp.clipNorm, sites: null, unclippedFraction: null, nextClipNorm: null } };
}

/**
 * After aggregation: the noisy count of the bits (the plain updates' bits summed, or the unmasked
 * sum's extra word) moves C. Undefined when the round has no adaptive clipping or no bit came in
 * (C then stays: the next round finds no nextClipNorm here and takes the one before).
 */
export function aggregatedClipping(round: { readonly config: unknown }, privacy: PrivacySettings | undefined, count: UnclippedCount | undefined): RoundClipping | undefined {
  const ac = privacy?.differentialPrivacy?.adaptiveClipping;
  const opened = clippingOf(round);
  if (!ac || !opened || !count || count.sites === 0) return undefined;
  const unclippedFraction = noisyUnclippedFraction(count.noisyCount, count.sites);
  return { clipNorm: opened.clipNorm, sites: count.sites, unclippedFraction, nextClipNorm: nextClipNorm(opened.clipNorm, unclippedFraction, ac) };
}

/**
 * What an upload's metrics keep of its header's noisy bit: under adaptive clipping without secure
 * aggregation the bit is required (a site that sends none is refused, naming the field); otherwise
 * nothing (a train metric of that name is dropped, so only the typed field can set it).
 */
export function indicatorMetric(metrics: Record<string, number>, round: { readonly id: string; readonly config: unknown; readonly state: { readonly secureAggregation?: unknown } }, indicator: number | undefined): Record<string, number> {
  const { [UNCLIPPED_INDICATOR_METRIC]: _dropped, ...rest } = metrics;
  if (!clippingOf(round) || round.state.secureAggregation) return rest;
  if (indicator === undefined || !Number.isFinite(indicator)) throw invalid(`round ${round.id} uses adaptive clipping: unclipped_indicator (the site's noisy "within the clip bound" bit) is missing or not finite`);
  return { ...rest, [UNCLIPPED_INDICATOR_METRIC]: indicator };
}

/** The noisy count of the bits of a plain round's aggregated updates (those that carry one). */
export function unclippedCount(updates: ReadonlyArray<{ readonly metrics: unknown }>): UnclippedCount {
  const bits = updates.map((u) => (u.metrics as Record<string, unknown> | null)?.[UNCLIPPED_INDICATOR_METRIC]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  return { noisyCount: bits.reduce((a, b) => a + b, 0), sites: bits.length };
}

/** How the configured noise multiplier is split (for the view): the updates' share, the bits' noise. */
export function noiseSplit(privacy: PrivacySettings): { updateNoiseMultiplier: number; countNoiseStddev: number } | null {
  const dp = privacy.differentialPrivacy;
  if (!dp?.adaptiveClipping) return null;
  return { updateNoiseMultiplier: updateNoiseMultiplier(dp.noiseMultiplier, dp.adaptiveClipping.countNoiseStddev), countNoiseStddev: dp.adaptiveClipping.countNoiseStddev };
}
