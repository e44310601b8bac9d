import { hostname } from 'node:os';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { CONFIG } from '../common/tokens';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { DomainError } from '../common/errors';
import { DatabaseService } from '../database/database.service';
import { LeaderLease } from './leader-lease';

/**
 * Whether this coordinator leads the federation. Coordinators sharing one database (and one model
 * store) hold a lease in it (leader-lease.ts): the holder renews it every `renewSeconds`; a standby
 * tries as often and takes it once `leaseSeconds` have passed unrenewed, so it takes over within
 * leaseSeconds + renewSeconds of the leader's death. Only the leader runs the round clock and
 * answers the federation's calls; a standby refuses them as UNAVAILABLE, and sites move on to
 * their next coordinator address.
 *
 * A leader that cannot renew (database away, or its event loop held up) stops leading when its
 * lease may have expired by its own clock, a moment before the database would hand it to another:
 * two leaders never overlap while the clocks run at about the same rate. On the embedded database
 * (PGlite: one process only) there is nobody to share with, and the coordinator always leads. The holder's name is its host, federation address
 * and data folder: a coordinator restarted in place takes its lease back at once instead of
 * waiting for it to expire.
 */
@Injectable()
export class Leadership implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly log = new Logger('Leadership');
  private readonly lease: LeaderLease;
  readonly holder: string;
  private timer?: NodeJS.Timeout;
  /** Local time (performance.now) until which this process may act as the leader. */
  private leadingUntil = 0;
  private renewing?: Promise<void>;
  private stopped = false;
  private standbyAnnounced = false;

  constructor(private readonly db: DatabaseService, @Inject(CONFIG) private readonly config: CoordinatorConfig) {
    this.lease = new LeaderLease(db);
    this.holder = `${hostname()}|${config.grpcAddress}|${config.dataDir}`.slice(0, 500);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.db.kind === 'pglite') {
      // The embedded database opens in one process only: no other coordinator can share it.
      this.leadingUntil = Number.POSITIVE_INFINITY;
      return;
    }
    await this.renew();
    this.timer = setInterval(() => void this.renew(), this.config.leadership.renewSeconds * 1000);
    this.timer.unref();
  }

  /** Before the database closes (its own shutdown hook): a clean stop hands the lease over at once. */
  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.renewing;
    if (this.isLeader()) {
      this.leadingUntil = 0;
      await this.lease.release(this.holder).catch((e) => this.log.warn(`could not release the leader lease: ${(e as Error).message}`));
    }
  }

  isLeader(): boolean {
    return performance.now() < this.leadingUntil;
  }

  /** Throws UNAVAILABLE (sites try their next coordinator) unless this coordinator leads. */
  requireLeader(): void {
    if (!this.isLeader()) throw new DomainError('unavailable', 'this coordinator is a standby: another one leads the federation (try the next coordinator address)');
  }

  /** One attempt to take or keep the lease; never two at once. */
  renew(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.renewing ??= this.attempt().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async attempt(): Promise<void> {
    const { leaseSeconds, renewSeconds } = this.config.leadership;
    const asked = performance.now();
    const wasLeader = this.isLeader();
    let held: boolean;
    try {
      held = await this.lease.tryAcquire(this.holder, leaseSeconds * 1000);
    } catch (e) {
      if (wasLeader) this.log.warn(`could not renew the leader lease: ${(e as Error).message}`);
      return; // keeps leading until leadingUntil, then stops by itself
    }
    // Counted from before the request, the database's expiry is at least that late; one second
    // (or half a renewal period) earlier covers clocks that run at slightly different rates.
    this.leadingUntil = held ? asked + leaseSeconds * 1000 - Math.min(1000, (renewSeconds * 1000) / 2) : 0;
    if (held && !wasLeader) this.log.log(`leader: this coordinator now runs the federation (lease ${leaseSeconds} s, renewed every ${renewSeconds} s)`);
    if (!held && wasLeader) this.log.warn('standby: another coordinator took the leader lease');
    if (!held && !wasLeader && !this.standbyAnnounced) {
      this.standbyAnnounced = true;
      this.log.log('standby: another coordinator holds the leader lease; this one takes over when it lapses');
    }
  }
}
