import { Injectable } from '@nestjs/common';

/** What the queue is doing now: tasks queued or running, and since when the running one runs. */
export interface SerialQueueLoad {
  length: number;
  /** Date.now() when the running task started; null when none runs. */
  runningSince: number | null;
}

/**
 * The federation's changes of state, one at a time: a site event, a clock tick, opening a step. Each
 * reads the database, decides, and writes; run one after another they never decide on a state
 * another is about to change (this process is the only coordinator of its database). That one is
 * the Nest provider; other work that must run one at a time makes its own (SitesService's
 * heartbeat writes).
 */
@Injectable()
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private length = 0;
  private runningSince: number | null = null;

  /** Runs `fn` after everything queued before it; its result (or failure) is the caller's alone. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    this.length++;
    const timed = async () => {
      this.runningSince = Date.now();
      try {
        return await fn();
      } finally {
        this.runningSince = null;
        this.length--;
      }
    };
    const run = this.tail.then(timed, timed);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Tasks queued or running, and the running one's start: a task that never settles shows as an ever-growing age. */
  load(): SerialQueueLoad {
    return { length: this.length, runningSince: this.runningSince };
  }

  /** Settles once everything queued so far has run. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
