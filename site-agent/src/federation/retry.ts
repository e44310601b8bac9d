import { status, type ServiceError } from '@grpc/grpc-js';

/** Codes that mean "the network or the coordinator is away for now": worth trying again. */
const TRANSIENT = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED, status.ABORTED, status.CANCELLED]);

/** grpc-js reports a stream reset or a broken HTTP/2 frame as INTERNAL too: that is the connection, not the coordinator. */
const TRANSPORT_INTERNAL = /^(Received RST_STREAM|Stream refused|Protocol error)/;

export function isTransient(e: unknown): boolean {
  const code = (e as ServiceError)?.code;
  if (code === status.INTERNAL) return TRANSPORT_INTERNAL.test((e as ServiceError).details ?? '');
  return typeof code === 'number' && TRANSIENT.has(code);
}

/**
 * INTERNAL: the coordinator failed inside (a bug on its side), not a network blip. Sending the same
 * call again at once fails the same way, so it is retried rarely (the operator may fix and restart
 * the coordinator meanwhile), a bounded number of times, and reported each time.
 */
export function isCoordinatorFault(e: unknown): boolean {
  return (e as ServiceError)?.code === status.INTERNAL && !isTransient(e);
}

/** What the operator of this site should do about a coordinator fault. */
export const COORDINATOR_FAULT_ADVICE =
  'the coordinator failed internally (status INTERNAL: a bug on its side, not this site\'s); send its operator the time and this message (the coordinator\'s log has the details)';

/** Raised when a coordinator fault persisted through every retry. */
export class CoordinatorFaultError extends Error {
  override readonly name = 'CoordinatorFaultError';
  constructor(readonly attempts: number, readonly last: unknown) {
    super(`${COORDINATOR_FAULT_ADVICE}; gave up after ${attempts} attempts (last: ${(last as ServiceError)?.details ?? (last as Error)?.message})`);
  }
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
  /** Coordinator faults (INTERNAL): at most this many attempts (default 8) ... */
  faultAttempts?: number;
  /** ... waiting from this long (default 30 s), doubling up to faultMaxMs (default 10 min). */
  faultInitialMs?: number;
  faultMaxMs?: number;
  /** Called before waiting after a coordinator fault (default: onRetry). */
  onCoordinatorFault?: (attempt: number, delayMs: number, error: unknown) => void;
}

/** Waits `ms`, or less when `signal` aborts. Leaves no listener on `signal` behind: an agent's stop
 * signal outlives thousands of these waits (it gathered one listener per poll). */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Runs `fn` until it succeeds or fails with an error not worth repeating; waits with exponential
 * backoff and jitter. Coordinator faults (INTERNAL) have their own slower, bounded schedule.
 */
export async function withBackoff<T>(fn: () => Promise<T>, o: BackoffOptions = {}): Promise<T> {
  const start = Date.now();
  let delay = o.initialMs ?? 500;
  let faultDelay = o.faultInitialMs ?? 30_000;
  let faults = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (o.signal?.aborted) throw e;
      if (isCoordinatorFault(e)) {
        faults++;
        if (faults >= (o.faultAttempts ?? 8)) throw new CoordinatorFaultError(faults, e);
        const wait = Math.round(faultDelay * (0.5 + Math.random() / 2));
        (o.onCoordinatorFault ?? o.onRetry)?.(attempt, wait, e);
        await sleep(wait, o.signal);
        faultDelay = Math.min(faultDelay * 2, o.faultMaxMs ?? 600_000);
        continue;
      }
      const retryable = isTransient(e) || (o.retryIf?.(e) && attempt < (o.maxAttempts ?? 5));
      if (!retryable) throw e;
      if (o.giveUpAfterMs !== undefined && Date.now() - start + delay > o.giveUpAfterMs) throw e;
      const wait = Math.round(delay * (0.5 + Math.random() / 2));
      o.onRetry?.(attempt, wait, e);
      await sleep(wait, o.signal);
      delay = Math.min(delay * 2, o.maxMs ?? 15_000);
    }
  }
}
