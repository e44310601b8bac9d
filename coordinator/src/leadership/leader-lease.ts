/**
 * The leader lease row (table leader_lease): taken or renewed in one statement on the database's
 * clock, so coordinators on different machines never compare their own clocks. A holder renews
 * its own row at any time; anyone takes a row whose expiry has passed. Its statements run on the
 * database's lease connection, never queued behind the federation's queries (SqlDriver.leaseQuery).
 */
import type { DatabaseService } from '../database/database.service';

export const FEDERATION_LEASE = 'federation';

export interface LeaseState {
  holder: string;
  /** Milliseconds the lease has left, by the database's clock. */
  remainingMs: number;
}

export class LeaderLease {
  constructor(private readonly db: DatabaseService, readonly name = FEDERATION_LEASE) {}

  /** Takes or renews the lease for `holder` for `leaseMs`; true when `holder` holds it now. */
  async tryAcquire(holder: string, leaseMs: number): Promise<boolean> {
    const rows = await this.db.leaseQuery<{ holder: string }>(
      `INSERT INTO leader_lease (name, holder, expires_at, acquired_at)
      VALUES ($1, $2, now() + $3::float8 * interval '1 millisecond', now())
      ON CONFLICT (name) DO UPDATE
        SET holder = EXCLUDED.holder,
            expires_at = EXCLUDED.expires_at,
            acquired_at = CASE WHEN leader_lease.holder = EXCLUDED.holder THEN leader_lease.acquired_at ELSE now() END
        WHERE leader_lease.holder = EXCLUDED.holder OR leader_lease.expires_at < now()
      RETURNING holder`,
      [this.name, holder, leaseMs],
    );
    return rows.length === 1 && rows[0].holder === holder;
  }

  /** Gives the lease up (a clean shutdown), so a standby need not wait for it to expire. */
  async release(holder: string): Promise<void> {
    await this.db.leaseQuery('DELETE FROM leader_lease WHERE name = $1 AND holder = $2', [this.name, holder]);
  }

  /** Who holds the lease now, or null when nobody holds an unexpired one. */
  async current(): Promise<LeaseState | null> {
    const rows = await this.db.leaseQuery<{ holder: string; remaining_ms: number }>(
      `SELECT holder, (extract(epoch FROM (expires_at - now())) * 1000)::float8 AS remaining_ms
      FROM leader_lease WHERE name = $1 AND expires_at >= now()`,
      [this.name],
    );
    return rows.length ? { holder: rows[0].holder, remainingMs: Number(rows[0].remaining_ms) } : null;
  }
}
