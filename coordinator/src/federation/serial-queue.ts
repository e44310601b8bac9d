import { Injectable } from '@nestjs/common';

/**
 * The federation's changes of state, one at a time: a site event, a clock tick, opening a step. Each
 * reads the database, decides, and writes; run one after another they never decide on a state
 * another is about to change (this process is the only coordinator of its database).
 */
@Injectable()
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `fn` after everything queued before it; its result (or failure) is the caller's alone. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Settles once everything queued so far has run. */
  async idle(): Promise<void> {
    await this.tail;
  }
}
