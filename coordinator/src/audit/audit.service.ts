import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';

/** Who did it: an admin's username, `site:<id>` for a site, or `system` for the coordinator itself. */
export type Actor = string;

type Tx = Pick<Prisma.TransactionClient, 'auditEntry'>;

export interface AuditFilter {
  actor?: string;
  action?: string;
  from?: Date;
  to?: Date;
  limit?: number;
}

/** The append-only audit log of every change to the roster, steps, sites and certificates. */
@Injectable()
export class AuditService {
  constructor(private readonly db: DatabaseService) {}

  /** Records an entry; pass the transaction client so the entry commits with the change it describes. */
  async record(actor: Actor, action: string, target: string, details: Record<string, unknown> = {}, tx: Tx = this.db.prisma): Promise<void> {
    await tx.auditEntry.create({ data: { actor, action, target, details: details as Prisma.InputJsonValue } });
  }

  /**
   * Records an entry unless one with the same action and target exists (a decision the clock meets
   * again at every tick, said once); true when it recorded.
   */
  async recordOnce(actor: Actor, action: string, target: string, details: Record<string, unknown> = {}): Promise<boolean> {
    if (await this.db.prisma.auditEntry.findFirst({ where: { action, target } })) return false;
    await this.record(actor, action, target, details);
    return true;
  }

  async recent(limit = 100) {
    return this.search({ limit });
  }

  /** Newest first: entries whose actor contains `actor` (any case), whose action is `action`, at or after `from` and before `to`. */
  async search(filter: AuditFilter) {
    const where: Prisma.AuditEntryWhereInput = {};
    if (filter.actor) where.actor = { contains: filter.actor, mode: 'insensitive' };
    if (filter.action) where.action = filter.action;
    if (filter.from || filter.to) where.at = { ...(filter.from ? { gte: filter.from } : {}), ...(filter.to ? { lt: filter.to } : {}) };
    const rows = await this.db.prisma.auditEntry.findMany({ where, orderBy: { id: 'desc' }, take: Math.min(Math.max(filter.limit ?? 100, 1), 1000) });
    return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details }));
  }

  /** Every action name that occurs in the log (for the console's filter). */
  async actions(): Promise<string[]> {
    const rows = await this.db.prisma.auditEntry.findMany({ distinct: ['action'], select: { action: true }, orderBy: { action: 'asc' } });
    return rows.map((r) => r.action);
  }
}
