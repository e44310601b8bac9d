import { Injectable } from '@nestjs/common';
import type { Round, RoundKind, RoundStatus } from '../../generated/prisma/client';
import { DatabaseService, type Tx } from '../../database/database.service';
import { fieldsProblem, readJsonColumn, toJsonColumn } from '../../database/json-column';
import type { RoundState, StragglerPolicy } from '../../rounds';
import type { RoundClipping } from '../../privacy/adaptive-clip.service';

export type { RoundKind, RoundStatus };

/** What a round was opened with (the `config` column). */
export interface RoundSettings {
  stragglers: StragglerPolicy;
  sites: string[];
  /** Cross-site evaluation rounds only: site id → that site's local model version. */
  crossSite?: Record<string, string>;
  /** Training rounds under adaptive clipping: the round's clip bound, and after aggregation what moved it. */
  clipping?: RoundClipping;
  /**
   * Evaluation rounds of `evaluateEveryRound` only: the segmenter round whose aggregate (this
   * round's base version) it scores. Absent on a step's own evaluation round, the one that ends it.
   */
  evaluatesRound?: string;
  /** A step's last segmenter round at a step with a teacher, under the training setting
   * `endpointFusion`: the weight of the step's start in the fusion of the round's aggregate
   * (EndpointFusion). Absent: not fused. */
  endpointFusion?: number;
}

/** A round as the federation reads it: its state machine's state and its settings typed. */
export type RoundRecord = Omit<Round, 'config' | 'state'> & { config: RoundSettings; state: RoundState };

const ROUND_STATE = { roundId: 'string', phase: 'string', openedAt: 'number', config: 'object', sites: 'object', uploads: 'object', contributors: 'array' } as const;
const ROUND_SETTINGS = { stragglers: 'string', sites: 'array' } as const;

export function roundRecord(r: Round): RoundRecord {
  return {
    ...r,
    config: readJsonColumn<RoundSettings>(r.config, (v) => fieldsProblem(v, ROUND_SETTINGS), `round ${r.id}'s config`),
    state: readJsonColumn<RoundState>(r.state, (v) => fieldsProblem(v, ROUND_STATE), `round ${r.id}'s state`),
  };
}

const json = (state: RoundState) => toJsonColumn(state);

/** Site id → local model version of a cross-site evaluation round (empty for any other round). */
export function crossSiteModels(round: Pick<RoundRecord, 'config'>): Record<string, string> {
  return round.config.crossSite ?? {};
}

/** Whether an evaluation round scores one segmenter round's aggregate (and does not end the step). */
export function isRoundEvaluation(round: Pick<RoundRecord, 'config'>): boolean {
  return round.config.evaluatesRound !== undefined;
}

/** The rounds table: every read and write of a round and of its persisted state machine. */
@Injectable()
export class RoundsRepository {
  constructor(private readonly db: DatabaseService) {}

  async find(id: string): Promise<RoundRecord | null> {
    const r = await this.db.prisma.round.findUnique({ where: { id } });
    return r && roundRecord(r);
  }

  async get(id: string): Promise<RoundRecord> {
    return roundRecord(await this.db.prisma.round.findUniqueOrThrow({ where: { id } }));
  }

  /** The step's round still collecting or aggregating, if any (there is at most one). */
  async openOf(stepIndex: number): Promise<RoundRecord | null> {
    const r = await this.db.prisma.round.findFirst({ where: { stepIndex, status: { in: ['collecting', 'aggregating'] } }, orderBy: { openedAt: 'desc' } });
    return r && roundRecord(r);
  }

  /** The step's newest round, whatever its status. */
  async latestOf(stepIndex: number): Promise<RoundRecord | null> {
    const r = await this.db.prisma.round.findFirst({ where: { stepIndex }, orderBy: { openedAt: 'desc' } });
    return r && roundRecord(r);
  }

  async ofStep(stepIndex: number): Promise<RoundRecord[]> {
    return (await this.db.prisma.round.findMany({ where: { stepIndex } })).map(roundRecord);
  }

  async lastCompleted(tx: Tx, stepIndex: number, kind: RoundKind): Promise<RoundRecord | null> {
    const r = await tx.round.findFirst({ where: { stepIndex, kind, status: 'completed' }, orderBy: { openedAt: 'desc' } });
    return r && roundRecord(r);
  }

  /** Every completed round of a kind, oldest first. */
  async completed(kind: RoundKind): Promise<RoundRecord[]> {
    return (await this.db.prisma.round.findMany({ where: { kind, status: 'completed' }, orderBy: { openedAt: 'asc' } })).map(roundRecord);
  }

  /** Rounds of a step (or all), newest first, at most 200: for the API. */
  async list(step?: number): Promise<RoundRecord[]> {
    return (await this.db.prisma.round.findMany({ where: step === undefined ? {} : { stepIndex: step }, orderBy: { openedAt: 'desc' }, take: 200 })).map(roundRecord);
  }

  async create(
    tx: Tx,
    r: { id: string; stepIndex: number; kind: RoundKind; index: number; baseVersionId: string; quorum: number; deadlineAt: Date; config: RoundSettings; state: RoundState },
  ): Promise<void> {
    await tx.round.create({ data: { ...r, status: 'collecting', config: toJsonColumn(r.config), state: json(r.state) } });
  }

  /** The round's settings after aggregation (adaptive clipping records what moved the clip bound). */
  async saveConfig(tx: Tx, id: string, config: RoundSettings): Promise<void> {
    await tx.round.update({ where: { id }, data: { config: toJsonColumn(config) } });
  }

  /** A new state of a round that goes on (collecting, or now aggregating). */
  async saveState(id: string, state: RoundState, status?: RoundStatus, tx: Tx = this.db.prisma): Promise<void> {
    await tx.round.update({ where: { id }, data: { state: json(state), ...(status ? { status } : {}) } });
  }

  async fail(tx: Tx, id: string, state: RoundState, reason: string, closedAt: Date): Promise<void> {
    await tx.round.update({ where: { id }, data: { state: json(state), status: 'failed', reason, closedAt } });
  }

  async complete(tx: Tx, id: string, state: RoundState, reason: string, resultVersionId: string | null, closedAt: Date): Promise<void> {
    await tx.round.update({ where: { id }, data: { state: json(state), status: 'completed', reason, resultVersionId, closedAt } });
  }
}
