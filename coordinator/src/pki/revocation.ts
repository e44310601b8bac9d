// The revocation list (revoked.json), re-read when it changed on disk so that a revocation made by
// another process (the CLI) takes effect on the next check.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { REVOKED_FILE, readJsonFile, writeJsonFile } from './storage';
import { normalizeSerial } from './x509';

export interface RevocationEntry {
  serial: string;
  revokedAt: string;
  reason?: string;
  /** The subject of the certificate, when it is in the issued registry. */
  subject?: string;
}

export class RevocationList {
  private readonly path: string;
  private cache: { stamp: string; entries: RevocationEntry[]; serials: Set<string> } | null = null;

  constructor(dir: string) {
    this.path = join(dir, REVOKED_FILE);
  }

  /** An empty list (a new CA). */
  static create(dir: string): void {
    writeJsonFile(join(dir, REVOKED_FILE), { version: 1, revoked: [] });
  }

  private load(): { entries: RevocationEntry[]; serials: Set<string> } {
    let stamp = 'none';
    try {
      const st = statSync(this.path);
      stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    } catch {
      // no file: nothing revoked
    }
    if (this.cache?.stamp === stamp) return this.cache;
    const data = readJsonFile<{ revoked?: RevocationEntry[] }>(this.path, {});
    const entries = Array.isArray(data.revoked) ? data.revoked : [];
    const cache = { stamp, entries, serials: new Set(entries.map((e) => normalizeSerial(e.serial))) };
    this.cache = cache;
    return cache;
  }

  has(serial: string): boolean {
    return this.load().serials.has(normalizeSerial(serial));
  }

  entries(): RevocationEntry[] {
    return [...this.load().entries];
  }

  /** Adds a serial (idempotent: an entry already there is returned as it is) and persists the list. */
  add(serial: string, details: { reason?: string; subject?: string }, now: Date): RevocationEntry {
    const s = normalizeSerial(serial);
    const current = this.load();
    const existing = current.entries.find((e) => normalizeSerial(e.serial) === s);
    if (existing) return existing;
    const entry: RevocationEntry = { serial: s, revokedAt: now.toISOString(), ...(details.reason ? { reason: details.reason } : {}), ...(details.subject ? { subject: details.subject } : {}) };
    writeJsonFile(this.path, { version: 1, revoked: [...current.entries, entry] });
    this.cache = null;
    return entry;
  }
}
