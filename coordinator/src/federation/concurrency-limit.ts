import { setTimeout as delay } from 'node:timers/promises';

/**
 * At most `limit` tasks run at once; the others wait, in the order they arrived. For work that
 * holds memory while it runs (checking uploaded updates, chunks being sent or received): running
 * more of it at once finishes none sooner and holds more at the same time.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a concurrency limit must be a positive integer, got ${limit}`);
  }

  /**
   * Runs `task` once a place is free. The place is given up when the task settles or, with
   * `holdAtMostMs`, after that long, the task running on outside the limit: a task slowed down by
   * something else (a site on a slow link) cannot stall all the others.
   */
  async run<T>(task: () => Promise<T>, holdAtMostMs?: number): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((start) => this.waiting.push(start)); // the leaving task hands its place over
    const result = (async () => task())();
    const timer = new AbortController();
    try {
      if (holdAtMostMs === undefined) return await result;
      const settled = result.then(() => undefined, () => undefined);
      await Promise.race([settled, delay(holdAtMostMs, undefined, { signal: timer.signal })]);
    } finally {
      timer.abort(); // the timer ends with the hold (the race has subscribed to it: its AbortError is handled)
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
    return result;
  }
}
