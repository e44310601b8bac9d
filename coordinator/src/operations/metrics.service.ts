import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { UploadRejectionCode } from '../rounds/round-state';
import { DatabaseService } from '../database/database.service';
import { SitesService } from '../sites/sites.service';
import { SerialQueue } from '../common/serial-queue';

/**
 * The coordinator's Prometheus metrics (served at /metrics). Counters and the aggregation histogram
 * are fed by the services as things happen; rounds by state and sites alive are read from the
 * database at scrape time, so they are right after a restart too. One registry per coordinator
 * (not prom-client's global one), so several coordinators in one process (tests) do not mix.
 */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  private readonly updates = new Counter({
    name: 'fedciss_updates_total',
    help: 'Site updates settled since start, by outcome (accepted | rejected) and rejection reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [this.registry],
  });

  private readonly aggregation = new Histogram({
    name: 'fedciss_aggregation_seconds',
    help: 'Time to aggregate one round (decode, strategy, server-side distillation), by model kind',
    labelNames: ['kind'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
    registers: [this.registry],
  });

  private readonly bytes = new Counter({
    name: 'fedciss_transfer_bytes_total',
    help: 'Model bytes moved over the federation endpoint: in = site uploads, out = model downloads',
    labelNames: ['direction'] as const,
    registers: [this.registry],
  });

  constructor(db: DatabaseService, sites: SitesService, queue: SerialQueue) {
    collectDefaultMetrics({ register: this.registry });
    // Read without touching the database, so they still answer when every connection is held.
    new Gauge({
      name: 'fedciss_db_pool_connections',
      help: 'PostgreSQL connection pool: total open, idle in the pool, and queries waiting for a connection (absent on PGlite)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        const c = db.poolCounts();
        if (c) for (const state of ['total', 'idle', 'waiting'] as const) this.set({ state }, c[state]);
      },
    });
    new Gauge({
      name: 'fedciss_serial_queue_tasks',
      help: 'Changes of the federation state queued or running (one runs at a time)',
      registers: [this.registry],
      collect() {
        this.set(queue.load().length);
      },
    });
    new Gauge({
      name: 'fedciss_serial_queue_task_age_seconds',
      help: 'How long the running change of the federation state has run (0 when none runs)',
      registers: [this.registry],
      collect() {
        const since = queue.load().runningSince;
        this.set(since === null ? 0 : (Date.now() - since) / 1000);
      },
    });
    new Gauge({
      name: 'fedciss_rounds',
      help: 'Rounds in the database, by kind (segmenter | generator | evaluate) and status (collecting | aggregating | completed | failed)',
      labelNames: ['kind', 'status'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const groups = await db.prisma.round.groupBy({ by: ['kind', 'status'], _count: { _all: true } });
        for (const g of groups) this.set({ kind: g.kind, status: g.status }, g._count._all);
      },
    });
    new Gauge({
      name: 'fedciss_sites',
      help: 'Sites by enrolment status (pending | approved | rejected | revoked)',
      labelNames: ['status'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        const groups = await db.prisma.site.groupBy({ by: ['status'], _count: { _all: true } });
        for (const g of groups) this.set({ status: g.status }, g._count._all);
      },
    });
    new Gauge({
      name: 'fedciss_sites_alive',
      help: 'Approved sites whose last heartbeat is within the heartbeat timeout',
      registers: [this.registry],
      async collect() {
        this.set((await sites.aliveSiteIds()).length);
      },
    });
    // Zero-valued series from the start, so a dashboard's rate() has a baseline before the first event.
    this.updates.inc({ outcome: 'accepted', reason: '' }, 0);
    for (const direction of ['in', 'out']) this.bytes.inc({ direction }, 0);
  }

  updateAccepted(): void {
    this.updates.inc({ outcome: 'accepted', reason: '' });
  }

  updateRejected(code: UploadRejectionCode): void {
    this.updates.inc({ outcome: 'rejected', reason: code });
  }

  /** Starts timing one aggregation; call the returned function when it is done. */
  aggregationTimer(kind: string): () => void {
    return this.aggregation.startTimer({ kind });
  }

  bytesIn(n: number): void {
    this.bytes.inc({ direction: 'in' }, n);
  }

  bytesOut(n: number): void {
    this.bytes.inc({ direction: 'out' }, n);
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
