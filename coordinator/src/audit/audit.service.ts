import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';

/** Who did it: an admin's username, `site:<id>` for a site, or `system` for the coordinator itself. */
export type Actor = string;

type Tx = Pick<Prisma.TransactionClient, 'auditEntry'>;

/** The append-only audit log of every change to the roster, steps, sites and certificates. */
@Injectable()
export class AuditService {
  constructor(private readonly db: DatabaseService) {}

  /** Records an entry; pass the transaction client so the entry commits with the change it describes. */
  async record(actor: Actor, action: string, target: string, details: Record<string, unknown> = {}, tx: Tx = this.db.prisma): Promise<void> {
    await tx.auditEntry.create({ data: { actor, action, target, details: details as Prisma.InputJsonValue } });
  }

  async recent(limit = 100) {
    const rows = await this.db.prisma.auditEntry.findMany({ orderBy: { id: 'desc' }, take: Math.min(Math.max(limit, 1), 1000) });
    return rows.map((r) => ({ id: Number(r.id), at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, details: r.details }));
  }
}
