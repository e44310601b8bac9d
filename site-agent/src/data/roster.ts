import { type RosterEntry } from '@fedciss/ml';
import { DSAD_STRUCTURES } from '@fedciss/ml/dsad';

/** Normalises a structure name for matching: lower case, spaces and hyphens become underscores. */
export function normaliseName(name: string): string {
  return name.trim().toLowerCase().replace(/[\s-]+/g, '_');
}

/** Name -> class id lookup for a roster (ids come from the roster, never from positions). */
export function rosterIndex(roster: readonly RosterEntry[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const e of roster) {
    if (e.id === 0 || e.id === 255) throw new Error(`roster class '${e.name}' uses reserved id ${e.id} (0 = background, 255 = unknown)`);
    if (!Number.isInteger(e.id) || e.id < 0 || e.id > 254) throw new Error(`roster class '${e.name}' has id ${e.id}, outside 1..254`);
    const key = normaliseName(e.name);
    if (map.has(key)) throw new Error(`roster names '${e.name}' twice`);
    map.set(key, e.id);
  }
  return map;
}

/** The default DSAD roster: background 0, then the 11 structures in DESIGN.md order with ids 1..11. */
export function defaultDsadRoster(): RosterEntry[] {
  return DSAD_STRUCTURES.map((name, i) => ({ id: i + 1, name }));
}
