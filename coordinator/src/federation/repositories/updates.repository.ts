import { Injectable } from '@nestjs/common';
import type { Prisma, SiteUpdate, UpdateStatus } from '../../generated/prisma/client';
import { DatabaseService, type Tx } from '../../database/database.service';

/** What a site contributed over all rounds: the sites page's columns. */
export interface SiteContribution {
  acceptedUpdates: number;
  realImagesContributed: number;
  replayImagesContributed: number;
  rejectedUpdates: number;
}

/** The site_updates table: every read and write of a site's upload. */
@Injectable()
export class UpdatesRepository {
  constructor(private readonly db: DatabaseService) {}

  byKey(idempotencyKey: string): Promise<SiteUpdate | null> {
    return this.db.prisma.siteUpdate.findUnique({ where: { idempotencyKey } });
  }

  /** The site's accepted update in the round, if any (one counts per site and round). */
  acceptedOf(roundId: string, siteId: string): Promise<SiteUpdate | null> {
    return this.db.prisma.siteUpdate.findFirst({ where: { roundId, siteId, status: 'accepted' } });
  }

  /**
   * The round's accepted updates, from `siteIds` only when given, by site: the order
   * RoundAggregator adds them in. A running mean rounds at every step, so its result depends on
   * the order of its terms (three sites' FedAvg in two orders differs in about a quarter of the
   * values); in arrival order the same updates gave a model that depended on which upload
   * finished first, and a rerun of a federation did not repeat.
   */
  accepted(roundId: string, siteIds?: readonly string[], tx: Tx = this.db.prisma): Promise<SiteUpdate[]> {
    return tx.siteUpdate.findMany({
      where: { roundId, status: 'accepted', ...(siteIds ? { siteId: { in: [...siteIds] } } : {}) },
      orderBy: { siteId: 'asc' },
    });
  }

  /** A site's updates, newest first, at most 200. */
  ofSite(siteId: string): Promise<SiteUpdate[]> {
    return this.db.prisma.siteUpdate.findMany({ where: { siteId }, orderBy: { createdAt: 'desc' }, take: 200 });
  }

  async contributions(): Promise<Map<string, SiteContribution>> {
    const accepted = await this.db.prisma.siteUpdate.groupBy({ by: ['siteId'], where: { status: 'accepted' }, _sum: { realImages: true, replayImages: true }, _count: true });
    const rejected = await this.db.prisma.siteUpdate.groupBy({ by: ['siteId'], where: { status: 'rejected' }, _count: true });
    const out = new Map<string, SiteContribution>();
    const of = (siteId: string) => out.get(siteId) ?? out.set(siteId, { acceptedUpdates: 0, realImagesContributed: 0, replayImagesContributed: 0, rejectedUpdates: 0 }).get(siteId)!;
    for (const a of accepted) Object.assign(of(a.siteId), { acceptedUpdates: a._count, realImagesContributed: a._sum.realImages ?? 0, replayImagesContributed: a._sum.replayImages ?? 0 });
    for (const r of rejected) of(r.siteId).rejectedUpdates = r._count;
    return out;
  }

  create(data: {
    id: string; roundId: string; siteId: string; idempotencyKey: string; status: UpdateStatus; rejectionReason: string | null; sha256: string;
    totalBytes: bigint; realImages: number; replayImages: number; metrics: Record<string, number>;
  }): Promise<SiteUpdate> {
    return this.db.prisma.siteUpdate.create({ data: { ...data, metrics: data.metrics as Prisma.InputJsonValue } });
  }

  async setReceived(id: string, receivedBytes: bigint): Promise<void> {
    await this.db.prisma.siteUpdate.update({ where: { id }, data: { receivedBytes, updatedAt: new Date() } });
  }

  /** The update's verdict, written in the transaction that records it in its round. */
  settle(tx: Tx, id: string, verdict: { status: 'accepted' | 'rejected'; rejectionReason: string | null; storageUri: string | null; receivedBytes: bigint }): Promise<SiteUpdate> {
    return tx.siteUpdate.update({ where: { id }, data: { ...verdict, updatedAt: new Date() } });
  }
}
