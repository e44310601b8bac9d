import { Injectable } from '@nestjs/common';
import type { Prisma } from '../../generated/prisma/client';
import { DatabaseService } from '../../database/database.service';

type Tx = Pick<Prisma.TransactionClient, 'serverState'>;

/** The server_state table: small durable values by key (which model is global, where a strategy's state lies). */
@Injectable()
export class ServerStateRepository {
  constructor(private readonly db: DatabaseService) {}

  async get(key: string, tx: Tx = this.db.prisma): Promise<Prisma.JsonValue | null> {
    return (await tx.serverState.findUnique({ where: { key } }))?.value ?? null;
  }

  async put(tx: Tx, key: string, value: Prisma.InputJsonObject): Promise<void> {
    await tx.serverState.upsert({ where: { key }, create: { key, value }, update: { value, updatedAt: new Date() } });
  }
}
