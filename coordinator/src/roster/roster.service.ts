import { Injectable } from '@nestjs/common';
import { DSAD_COLORS, isDsadStructure } from '@fedciss/ml/dsad';
import type { RosterClass } from '../generated/prisma/client';
import { DatabaseService } from '../database/database.service';
import { RosterRepository } from './roster.repository';
import { AuditService, type Actor } from '../audit/audit.service';
import { conflict, invalid, notFound } from '../common/errors';
import { StepsService } from '../federation/steps.service';

export interface NewClass {
  name: string;
  color?: string;
  description?: string;
}

export interface RosterClassView {
  id: number;
  name: string;
  color: string;
  description: string;
  stepAdded: number;
  archived: boolean;
}

export const CLASS_NAME = /^[a-z][a-z0-9_]{0,63}$/;
const COLOR = /^#[0-9a-fA-F]{6}$/;
export const BACKGROUND = { id: 0, name: 'background', color: '#000000' } as const;

export function rosterView(c: RosterClass): RosterClassView {
  return { id: c.id, name: c.name, color: c.color, description: c.description, stepAdded: c.stepAdded, archived: c.archived };
}

/**
 * The class roster. Ids are output channels: 0 is background, then classes in the order they were
 * added, never reused. Adding classes opens the next incremental step; classes that models know are
 * archived (hidden from new annotation work), never deleted.
 */
@Injectable()
export class RosterService {
  constructor(
    private readonly db: DatabaseService,
    private readonly classes: RosterRepository,
    private readonly audit: AuditService,
    private readonly steps: StepsService,
  ) {}

  async list(includeArchived = true): Promise<RosterClassView[]> {
    return (await this.classes.list(includeArchived)).map(rosterView);
  }

  /** Validates the new classes, then opens the step that adds them. Returns the step index. */
  async addClasses(actor: Actor, classes: NewClass[]): Promise<{ step: number; classes: RosterClassView[] }> {
    if (!classes.length) throw invalid('at least one class is needed to open a step');
    const seen = new Set<string>();
    for (const [i, c] of classes.entries()) {
      if (!CLASS_NAME.test(c.name)) throw invalid(`classes[${i}].name '${c.name}' must be lower-case letters, digits and _ (at most 64, starting with a letter)`);
      if (c.name === BACKGROUND.name) throw invalid(`classes[${i}].name 'background' is reserved (class 0)`);
      if (seen.has(c.name)) throw invalid(`classes[${i}].name '${c.name}' appears twice`);
      seen.add(c.name);
      if (c.color !== undefined && !COLOR.test(c.color)) throw invalid(`classes[${i}].color '${c.color}' must look like #rrggbb`);
      if ((c.description ?? '').length > 500) throw invalid(`classes[${i}].description is longer than 500 characters`);
    }
    const existing = await this.classes.byNames([...seen]);
    if (existing.length) throw conflict(`class '${existing[0].name}' is already in the roster (id ${existing[0].id}${existing[0].archived ? ', archived' : ''})`);
    const resolved = classes.map((c) => ({
      name: c.name,
      color: c.color ?? (isDsadStructure(c.name) ? DSAD_COLORS[c.name] : classColor(c.name)),
      description: c.description ?? '',
    }));
    const step = await this.steps.openStep(actor, resolved);
    const added = await this.classes.byNames(resolved.map((c) => c.name));
    return { step, classes: added.map(rosterView) };
  }

  async setArchived(actor: Actor, id: number, archived: boolean): Promise<RosterClassView> {
    if (id === BACKGROUND.id) throw invalid('the background class cannot be archived');
    const row = await this.classes.find(id);
    if (!row) throw notFound(`class ${id} does not exist`);
    const updated = await this.db.transaction(async (tx) => {
      await this.audit.record(actor, archived ? 'roster.archive' : 'roster.unarchive', row.name, { id }, tx);
      return this.classes.setArchived(tx, id, archived);
    });
    return rosterView(updated);
  }
}

/** A stable, mid-brightness colour (#rrggbb) for a class without one. */
export function classColor(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  const hue = h % 360;
  const f = (n: number) => {
    const k = (n + hue / 30) % 12;
    const v = 0.55 - 0.35 * Math.max(-1, Math.min(k - 3, 9 - k, 1));
    return Math.round(v * 255).toString(16).padStart(2, '0');
  };
  return '#' + f(0) + f(8) + f(4);
}
