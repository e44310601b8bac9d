/**
 * At most `limit` tasks run at once; the others wait, in the order they arrived. For work that is
 * CPU-bound and holds memory while it runs (checking uploaded updates): running more of it at once
 * finishes none sooner and holds more at the same time.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a concurrency limit must be a positive integer, got ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running < this.limit) this.running++;
    else await new Promise<void>((start) => this.waiting.push(start)); // the finishing task hands its place over
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
