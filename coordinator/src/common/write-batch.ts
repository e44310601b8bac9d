/**
 * Many small writes of the same kind, coalesced: entries added while a batch waits for its turn
 * join that batch (the latest value of a key wins), and every caller's promise settles when the
 * batch holding its entry is written (or fails with it). Hundreds of sites' heartbeats then cost a
 * few writes a second instead of one each.
 */
export class WriteBatch<K, V> {
  private pending = new Map<K, V>();
  private next?: Promise<void>;

  /**
   * @param write writes one batch (never empty).
   * @param schedule runs a batch in its turn, e.g. a SerialQueue's run. It must not start the batch
   *   synchronously.
   */
  constructor(
    private readonly write: (entries: Array<[K, V]>) => Promise<void>,
    private readonly schedule: (run: () => Promise<void>) => Promise<void>,
  ) {}

  add(key: K, value: V): Promise<void> {
    this.pending.set(key, value);
    return (this.next ??= this.schedule(() => {
      // From here on, added entries go to the next batch.
      this.next = undefined;
      const entries = [...this.pending];
      this.pending = new Map();
      return this.write(entries);
    }));
  }
}
