/**
 * The site's own record of everything it sends to the coordinator: one JSON line per outbound
 * message with its type, size and time (never its content). A hospital's privacy officer can read
 * it; a test checks that no image bytes ever leave.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface OutboundRecord {
  at: string;
  type: string;
  bytes: number;
  /** What the payload was, in words a privacy officer can check: "weights", "confusion counts", ... */
  content: string;
  detail?: Record<string, string | number>;
}

export class OutboundAudit {
  constructor(readonly path: string) {
    mkdirSync(dirname(path), { recursive: true });
  }

  record(type: string, bytes: number, content: string, detail?: Record<string, string | number>): void {
    const entry: OutboundRecord = { at: new Date().toISOString(), type, bytes, content, ...(detail ? { detail } : {}) };
    appendFileSync(this.path, JSON.stringify(entry) + '\n');
  }
}
