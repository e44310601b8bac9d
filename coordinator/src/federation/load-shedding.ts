import type { PoolCounts } from '../database/sql-driver';

/** Calls a site repeats on its own anyway (heartbeat, task poll): the ones refused when the coordinator is behind. */
const SHEDDABLE = new Set(['heartbeat', 'getTask']);

/** Queries waiting for a database connection beyond which sheddable calls are refused. */
export const MAX_WAITING_QUERIES = 64;

/**
 * Why a call is refused before it touches the database, or null to serve it. Measured with
 * bench:scale at 500 sites on a coordinator short of CPU: every heartbeat and poll queued its
 * queries for the pool (10 connections) whatever the backlog, 1,600 queries waited, calls expired at
 * the sites while their queries still ran, and round 0 took no upload for minutes. Refusing the
 * calls a site repeats anyway (the agent retries RESOURCE_EXHAUSTED with back-off) keeps the
 * connections for uploads and the round's own work. PGlite (no pool counts) never refuses.
 */
export function overloadRefusal(method: string, counts: PoolCounts | null): string | null {
  if (!counts || !SHEDDABLE.has(method) || counts.waiting <= MAX_WAITING_QUERIES) return null;
  return `the coordinator is behind (${counts.waiting} database queries waiting for a connection); ${method} refused, retry later`;
}
