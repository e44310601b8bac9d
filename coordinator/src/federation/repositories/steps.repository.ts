import { Injectable } from '@nestjs/common';
import type { Prisma, Step } from '../../generated/prisma/client';
import { DatabaseService, type Tx } from '../../database/database.service';
import type { StepConfig } from '../step-config';
import { roundRecord, type RoundRecord } from './rounds.repository';

export type StepStatus = 'open' | 'training' | 'evaluating' | 'completed';

/** A step as the federation reads it: its frozen settings typed. */
export type StepRecord = Omit<Step, 'config' | 'status'> & { status: StepStatus; config: StepConfig };

function record(s: Step): StepRecord {
  return { ...s, status: s.status as StepStatus, config: s.config as unknown as StepConfig };
}

/** The steps table: every read and write of an incremental step. */
@Injectable()
export class StepsRepository {
  constructor(private readonly db: DatabaseService) {}

  /** The step whose rounds run now (training or evaluating), if any. */
  async active(): Promise<StepRecord | null> {
    const s = await this.db.prisma.step.findFirst({ where: { status: { in: ['training', 'evaluating'] } }, orderBy: { index: 'desc' } });
    return s && record(s);
  }

  /** The newest step, whatever its status. */
  async latest(): Promise<StepRecord | null> {
    const s = await this.db.prisma.step.findFirst({ orderBy: { index: 'desc' } });
    return s && record(s);
  }

  async byIndex(index: number, tx: Tx = this.db.prisma): Promise<StepRecord> {
    return record(await tx.step.findUniqueOrThrow({ where: { index } }));
  }

  async find(index: number): Promise<StepRecord | null> {
    const s = await this.db.prisma.step.findUnique({ where: { index } });
    return s && record(s);
  }

  /** Every step, oldest first, with its rounds (oldest first): the console's history. */
  async withRounds(): Promise<Array<StepRecord & { rounds: RoundRecord[] }>> {
    const steps = await this.db.prisma.step.findMany({ orderBy: { index: 'asc' }, include: { rounds: { orderBy: { openedAt: 'asc' } } } });
    return steps.map((s) => ({ ...record(s), rounds: s.rounds.map(roundRecord) }));
  }

  async create(tx: Tx, step: { index: number; status: StepStatus; teacherVersionId: string | null; config: StepConfig }): Promise<void> {
    await tx.step.create({ data: { ...step, config: step.config as unknown as Prisma.InputJsonValue } });
  }

  async setStatus(tx: Tx, index: number, status: StepStatus, completedAt?: Date): Promise<void> {
    await tx.step.update({ where: { index }, data: { status, ...(completedAt ? { completedAt } : {}) } });
  }
}
