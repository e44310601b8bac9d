import { Inject, Injectable } from '@nestjs/common';
import type { Tx } from '../database/database.service';
import { BLOB_STORE } from '../common/tokens';
import type { BlobStore } from '../model-store/blob-store';
import type { ModelKind } from '../models/model-versions.service';
import { decodeServerState, encodeServerState, type ServerState } from '../aggregation';
import { ServerStateRepository } from './repositories/server-state.repository';

const key = (step: number, kind: ModelKind) => `aggregation.${kind}.step${step}`;

/**
 * A strategy's state between rounds (a server optimizer's moments, SCAFFOLD's control variate), per
 * step and model kind: its bytes in the blob store, their hash in server_state.
 */
@Injectable()
export class AggregationStates {
  constructor(
    private readonly states: ServerStateRepository,
    @Inject(BLOB_STORE) private readonly store: BlobStore,
  ) {}

  async load(step: number, kind: ModelKind): Promise<ServerState> {
    const value = (await this.states.get(key(step, kind))) as { sha256: string } | null;
    if (!value) return null;
    return decodeServerState(await this.store.get(value.sha256));
  }

  async save(tx: Tx, step: number, kind: ModelKind, state: NonNullable<ServerState>): Promise<void> {
    const blob = await this.store.put(encodeServerState(state));
    await this.states.put(tx, key(step, kind), { sha256: blob.sha256 });
  }
}
