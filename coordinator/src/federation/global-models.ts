import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import type { ModelKind } from '../models/model-versions.service';

type Tx = Pick<Prisma.TransactionClient, 'serverState'>;

const key = (kind: ModelKind) => `global.${kind}`;

/**
 * Which model version is the federation's current global segmenter and generator. Moved forward
 * in the same transaction that completes a round or opens a step, so it never points at a version
 * whose round did not commit.
 */
@Injectable()
export class GlobalModels {
  constructor(private readonly db: DatabaseService) {}

  async current(kind: ModelKind, tx: Tx = this.db.prisma): Promise<string | null> {
    const row = await tx.serverState.findUnique({ where: { key: key(kind) } });
    return row ? ((row.value as { versionId: string }).versionId ?? null) : null;
  }

  async set(kind: ModelKind, versionId: string, tx: Tx): Promise<void> {
    const value = { versionId };
    await tx.serverState.upsert({ where: { key: key(kind) }, create: { key: key(kind), value }, update: { value, updatedAt: new Date() } });
  }
}
