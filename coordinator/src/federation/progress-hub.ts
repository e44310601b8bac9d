import { Injectable } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import type { ProgressReport } from '@fedciss/proto';
import { truncateCodePoints } from '../common/text';

export interface SiteProgress {
  siteId: string;
  roundId: string;
  phase: string;
  fraction: number;
  metrics: Record<string, number>;
  message: string;
  at: string;
}

/** Federation events the console shows live (server-sent events). */
export type FederationEvent =
  | { type: 'progress'; progress: SiteProgress }
  | { type: 'round'; roundId: string; status: string; reason: string | null }
  | { type: 'step'; step: number; status: string }
  | { type: 'withheld'; siteId: string; roundId: string; kind: string; reason: string };

/**
 * Live progress of every site and federation events, kept in memory for the console: progress is
 * ephemeral (the durable record is in the database), so it needs no table.
 */
@Injectable()
export class ProgressHub {
  private readonly latest = new Map<string, SiteProgress>();
  private readonly events = new Subject<FederationEvent>();

  report(siteId: string, r: ProgressReport): void {
    const fraction = Number.isFinite(r.fraction) ? Math.min(1, Math.max(0, r.fraction)) : 0;
    const metrics: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.metrics ?? {}).slice(0, 16)) if (Number.isFinite(v)) metrics[truncateCodePoints(k, 32)] = v;
    const progress: SiteProgress = {
      siteId,
      roundId: truncateCodePoints(r.roundId, 64),
      phase: truncateCodePoints(r.phase, 32),
      fraction,
      metrics,
      message: truncateCodePoints(r.message, 200),
      at: new Date().toISOString(),
    };
    this.latest.set(siteId, progress);
    this.events.next({ type: 'progress', progress });
  }

  publish(event: FederationEvent): void {
    this.events.next(event);
  }

  snapshot(): SiteProgress[] {
    return [...this.latest.values()];
  }

  stream(): Observable<FederationEvent> {
    return this.events.asObservable();
  }
}
