import { Injectable } from '@nestjs/common';
import { parseDiffusionConfig, parseSegmenterConfig } from '@fedciss/ml';
import type { Step, StepStatus } from '../../generated/prisma/client';
import { DatabaseService, type Tx } from '../../database/database.service';
import { fieldsProblem, readJsonColumn, toJsonColumn } from '../../database/json-column';
import type { StepConfig } from '../step-config';
import { frozenTrainingSettings, type StoredTrainingSettings } from '../frozen-training';
import { roundRecord, type RoundRecord } from './rounds.repository';


/** A step as the federation reads it: its frozen settings typed. */
export type StepRecord = Omit<Step, 'config'> & { config: StepConfig };

const STEP_CONFIG = { training: 'object', segmenter: 'object', generator: 'object', numClasses: 'number', newClassIds: 'array', segmenterRounds: 'number', generatorRounds: 'number' } as const;

/** The stored config before its model configs are parsed and the settings added since it was frozen filled in. */
type StoredStepConfig = Omit<StepConfig, 'training' | 'segmenter' | 'generator'> & { training: StoredTrainingSettings; segmenter: unknown; generator: unknown };

function record(s: Step): StepRecord {
  const where = `step ${s.index}'s config`;
  const stored = readJsonColumn<StoredStepConfig>(s.config, (v) => fieldsProblem(v, STEP_CONFIG), where);
  // The model configs are ml's, parsed by ml's parsers: a malformed one is an error naming its field here, not a wrong model later.
  return { ...s, config: { ...stored, training: frozenTrainingSettings(stored.training), segmenter: parseSegmenterConfig(stored.segmenter, `${where}.segmenter`), generator: parseDiffusionConfig(stored.generator, `${where}.generator`) } };
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

  /** Every step, oldest first. */
  async all(): Promise<StepRecord[]> {
    return (await this.db.prisma.step.findMany({ orderBy: { index: 'asc' } })).map(record);
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
    await tx.step.create({ data: { ...step, config: toJsonColumn(step.config) } });
  }

  async setConfig(tx: Tx, index: number, config: StepConfig): Promise<void> {
    await tx.step.update({ where: { index }, data: { config: toJsonColumn(config) } });
  }

  async setStatus(tx: Tx, index: number, status: StepStatus, completedAt?: Date): Promise<void> {
    await tx.step.update({ where: { index }, data: { status, ...(completedAt ? { completedAt } : {}) } });
  }
}
