/**
 * Database failures that are not bugs. A busy or briefly unreachable database (a transaction that
 * could not start or finish in time on a loaded machine, a write conflict, a lost connection)
 * is worth retrying: it becomes an `unavailable` domain error (HTTP 503 with Retry-After, gRPC
 * UNAVAILABLE) instead of a 500 / INTERNAL. A unique-key violation is a race between two callers
 * that only the service that made the write can name; `isUniqueViolation` lets it say so.
 */
import { Prisma } from '../generated/prisma/client';
import { DomainError } from '../common/errors';

/** Prisma's codes for failures that pass by themselves (https://www.prisma.io/docs/orm/reference/error-reference). */
const TRANSIENT: Readonly<Record<string, string>> = {
  P1001: 'the database server cannot be reached',
  P1002: 'the database server did not answer in time',
  P1008: 'a database operation timed out',
  P1017: 'the database server closed the connection',
  P2024: 'no database connection was free in time',
  // Only its timeouts (TIMED_OUT below): P2028 also names a transaction used after it closed, a bug.
  P2028: 'the database transaction did not complete in time (the coordinator or its database is overloaded); it was rolled back',
  P2034: 'the database transaction met a concurrent write (write conflict or deadlock); it was rolled back',
};

/**
 * The operating system's codes for a network failure that passes, which Prisma's PostgreSQL adapter
 * hands on as the error's code instead of a P-code (a container network's DNS answering late gives
 * EAI_AGAIN). These, or node-postgres's plain Errors below, gave a clean-clone CI run's deployment
 * test a 500 where the PostgreSQL container was out of reach for a moment (thirty-eighth session).
 */
const NETWORK: Readonly<Record<string, string>> = {
  EAI_AGAIN: "the database server's name could not be resolved just now",
  EHOSTUNREACH: 'the database server cannot be reached',
  ENETUNREACH: 'the database server cannot be reached',
};

/** node-postgres's words for a connection lost or not made in time, which reach the caller as a plain Error (no code). */
const CONNECTION_LOST = /^(Connection terminated unexpectedly|Connection terminated due to connection timeout|timeout exceeded when trying to connect)$/;

/** Prisma's P2028 messages for a transaction that could not start within maxWait or ran past its timeout. */
const TIMED_OUT = /Unable to start a transaction in the given time|executed on an expired transaction/;

/** An `unavailable` domain error for a transient database failure, or undefined for anything else. */
export function transientDatabaseError(e: unknown): DomainError | undefined {
  if (!(e instanceof Prisma.PrismaClientKnownRequestError)) {
    return e instanceof Error && CONNECTION_LOST.test(e.message) ? new DomainError('unavailable', `the connection to the database server was lost (${e.message}); try again`) : undefined;
  }
  if (e.code === 'P2028' && !TIMED_OUT.test(e.message)) return undefined;
  const what = TRANSIENT[e.code] ?? NETWORK[e.code];
  return what ? new DomainError('unavailable', `${what}; try again (${e.code in NETWORK ? '' : 'Prisma '}${e.code})`) : undefined;
}

/**
 * Whether `e` is a transient failure after which the transaction surely did not commit: it could
 * not start in time (P2028, P2024), ran past its timeout (P2028: Prisma rolls it back), or met a
 * concurrent write (P2034: the database rolled it back). Running it again cannot apply it twice.
 * (A lost connection, P1017, may come after the commit: not among them.)
 */
export function isTransientRollback(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && ['P2024', 'P2028', 'P2034'].includes(e.code) && transientDatabaseError(e) !== undefined;
}

/** Prisma's own words for a failure, for the log: its message ends with the driver's reason, after the call site. */
export function databaseFailureSummary(e: unknown): string {
  const code = (e as { code?: unknown })?.code;
  return `${typeof code === 'string' ? `${code}: ` : ''}${String((e as Error)?.message ?? e).trim().split('\n').at(-1)}`;
}

/** Whether `e` is a unique-key violation (Prisma P2002): another caller wrote the same key first. */
export function isUniqueViolation(e: unknown): boolean {
  return e instanceof Prisma.PrismaClientKnownRequestError && e.code === 'P2002';
}
