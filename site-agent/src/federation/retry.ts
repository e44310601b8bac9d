import { status, type ServiceError } from '@grpc/grpc-js';

/** Codes that mean "the network or the coordinator is away for now": worth trying again. */
const TRANSIENT = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED, status.INTERNAL, status.CANCELLED]);

export function isTransient(e: unknown): boolean {
  return typeof (e as ServiceError)?.code === 'number' && TRANSIENT.has((e as ServiceError).code);
}

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  /** Give up after this long in total (default: never, for a long-running agent). */
  giveUpAfterMs?: number;
  onRetry?: (attempt: number, delayMs: number, error: unknown) => void;
  signal?: AbortSignal;
  /** Also retry these errors (e.g. a chunk refused as corrupted: sending it again is the cure). */
  retryIf?: (error: unknown) => boolean;
  /** Stop retrying errors matched by retryIf after this many attempts. */
  maxAttempts?: number;
}

export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });

/** Runs `fn` until it succeeds or fails with a non-transient error; waits with exponential backoff and jitter. */
export async function withBackoff<T>(fn: () => Promise<T>, o: BackoffOptions = {}): Promise<T> {
  const start = Date.now();
  let delay = o.initialMs ?? 500;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const retryable = isTransient(e) || (o.retryIf?.(e) && attempt < (o.maxAttempts ?? 5));
      if (!retryable || o.signal?.aborted) throw e;
      if (o.giveUpAfterMs !== undefined && Date.now() - start + delay > o.giveUpAfterMs) throw e;
      const wait = Math.round(delay * (0.5 + Math.random() / 2));
      o.onRetry?.(attempt, wait, e);
      await sleep(wait, o.signal);
      delay = Math.min(delay * 2, o.maxMs ?? 15_000);
    }
  }
}
