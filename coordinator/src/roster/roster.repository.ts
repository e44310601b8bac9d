import { Injectable } from '@nestjs/common';
import type { RosterClass } from '../generated/prisma/client';
import { DatabaseService, type Tx } from '../database/database.service';

/** The roster_classes table: every read and write of a class. */
@Injectable()
export class RosterRepository {
  constructor(private readonly db: DatabaseService) {}

  list(includeArchived: boolean): Promise<RosterClass[]> {
    return this.db.prisma.rosterClass.findMany({ where: includeArchived ? {} : { archived: false }, orderBy: { id: 'asc' } });
  }

  /** The classes a model of step `stepIndex` knows, by id. */
  upToStep(stepIndex: number): Promise<RosterClass[]> {
    return this.db.prisma.rosterClass.findMany({ where: { stepAdded: { lte: stepIndex } }, orderBy: { id: 'asc' } });
  }

  byNames(names: readonly string[]): Promise<RosterClass[]> {
    return this.db.prisma.rosterClass.findMany({ where: { name: { in: [...names] } }, orderBy: { id: 'asc' } });
  }

  find(id: number): Promise<RosterClass | null> {
    return this.db.prisma.rosterClass.findUnique({ where: { id } });
  }

  /** The highest class id so far (0, background, when the roster is empty). */
  async maxId(): Promise<number> {
    return (await this.db.prisma.rosterClass.aggregate({ _max: { id: true } }))._max.id ?? 0;
  }

  async add(tx: Tx, c: { id: number; name: string; color: string; description: string; stepAdded: number }): Promise<void> {
    await tx.rosterClass.create({ data: c });
  }

  setArchived(tx: Tx, id: number, archived: boolean): Promise<RosterClass> {
    return tx.rosterClass.update({ where: { id }, data: { archived } });
  }
}
