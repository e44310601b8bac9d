import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CLOCK, CONFIG, type Clock } from '../common/tokens';
import type { CoordinatorConfig } from '../config/coordinator-config';
import { advance, advanceSecAgg, coordinatorRestarted } from '../rounds';
import { RoundDecisions } from './round-decisions.service';
import { RoundOpener } from './round-opener.service';
import { SerialQueue } from '../common/serial-queue';
import { RoundsRepository } from './repositories/rounds.repository';
import { Leadership } from '../leadership';
import { StepsRepository } from './repositories/steps.repository';
import { transientDatabaseError } from '../database/database-errors';

/**
 * The federation's clock: every `tickMs` (through the SerialQueue, never two ticks queued) it opens
 * the active step's next round when none is open, lets the open round's deadlines pass (stragglers,
 * heartbeat timeouts, secure-aggregation stages), and on its first tick as leader (after a start,
 * or after a spell as a standby) resumes what was interrupted. It ticks only while this
 * coordinator holds the leader lease (leadership/).
 */
@Injectable()
export class RoundClock implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Rounds');
  private timer?: NodeJS.Timeout;
  /**
   * True until the first tick that went through since this process started or last led: see
   * coordinatorRestarted. While it does not lead it answers no site, so their silence then counts
   * against none when it leads again.
   */
  private resuming = true;
  private tickQueued = false;

  constructor(
    private readonly queue: SerialQueue,
    private readonly steps: StepsRepository,
    private readonly rounds: RoundsRepository,
    private readonly decisions: RoundDecisions,
    private readonly opener: RoundOpener,
    @Inject(CONFIG) private readonly config: CoordinatorConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly leadership: Leadership,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => this.schedule(), this.config.tickMs);
    this.schedule();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.queue.idle();
  }

  private schedule(): void {
    if (this.tickQueued) return;
    this.tickQueued = true;
    void this.queue.run(async () => {
      this.tickQueued = false;
      await this.tick();
    }).catch((e) => {
      // A database out of reach for a moment is the operator's to watch, not a bug's stack to read.
      const passing = transientDatabaseError(e);
      if (passing) this.log.warn(`round tick skipped, the next one tries again: ${passing.message}`);
      else this.log.error(`round tick failed: ${(e as Error).stack ?? e}`);
    });
  }

  private async tick(): Promise<void> {
    // Only the leader runs the rounds; a standby's first tick as leader resumes what the old one left.
    if (!this.leadership.isLeader()) {
      this.resuming = true;
      return;
    }
    await this.advanceOpenRound(this.resuming);
    // Only once a tick went through: one that met the database out of reach (likely just after a
    // restart) must not use up the restart's fresh heartbeat windows, or the next tick would count
    // the downtime against every site and close the round without them.
    this.resuming = false;
  }

  private async advanceOpenRound(resuming: boolean): Promise<void> {
    const step = await this.steps.active();
    if (!step) return;
    const round = await this.rounds.openOf(step.index);
    if (!round) {
      await this.opener.openNext(step.index);
      return;
    }
    const persisted = round.state;
    const state = resuming ? coordinatorRestarted(persisted, this.clock.now()) : persisted;
    if (state.phase === 'aggregating') {
      // A restart during aggregation: the decision was persisted, the work was not; do it again.
      await this.decisions.carryOut({ ...round, state }, { action: 'aggregate', contributors: state.contributors, dropped: [], reason: state.reason ?? 'resumed after restart' });
      return;
    }
    const t = advance(advanceSecAgg(state, this.clock.now()), this.clock.now());
    if (t.state !== persisted) await this.decisions.persist(round, t.state, t.decision);
  }
}
