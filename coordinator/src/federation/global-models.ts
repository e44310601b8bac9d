import { Injectable } from '@nestjs/common';
import type { Prisma } from '../generated/prisma/client';
import type { ModelKind } from '../models/model-versions.service';
import { ServerStateRepository } from './repositories/server-state.repository';

type Tx = Pick<Prisma.TransactionClient, 'serverState'>;

const key = (kind: ModelKind) => `global.${kind}`;

/**
 * Which model version is the federation's current global segmenter and generator. Moved forward
 * in the same transaction that completes a round or opens a step, so it never points at a version
 * whose round did not commit.
 */
@Injectable()
export class GlobalModels {
  constructor(private readonly states: ServerStateRepository) {}

  async current(kind: ModelKind, tx?: Tx): Promise<string | null> {
    const value = (await this.states.get(key(kind), tx)) as { versionId?: string } | null;
    return value?.versionId ?? null;
  }

  async set(kind: ModelKind, versionId: string, tx: Tx): Promise<void> {
    await this.states.put(tx, key(kind), { versionId });
  }
}
