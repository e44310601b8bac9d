// Session tokens for the REST API and console: 32 random bytes (base64url, 43 characters) handed
// to the client once; the server stores only their SHA-256 (a stolen database does not yield
// usable tokens) together with the user, role and expiry.
import { createHash, randomBytes } from 'node:crypto';

import { type Role, isRole } from './roles';

const TOKEN_BYTES = 32;
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Default session lifetime: 8 hours. */
export const DEFAULT_SESSION_TTL_MS = 8 * 60 * 60 * 1000;
/** Longest lifetime accepted: 30 days. */
export const MAX_SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** What to persist for a session (never the token itself). */
export interface SessionRecord {
  /** SHA-256 of the token, hex (64 characters): the lookup key. */
  tokenHash: string;
  userId: string;
  role: Role;
  createdAt: Date;
  expiresAt: Date;
}

export interface NewSession {
  /** Give this to the client (cookie or bearer token); do not store it. */
  token: string;
  /** Store this. */
  record: SessionRecord;
}

/** True when `token` has the shape of a token from createSession (cheap pre-check before a lookup). */
export function isWellFormedToken(token: unknown): token is string {
  return typeof token === 'string' && TOKEN_PATTERN.test(token);
}

/** SHA-256 of a token, hex; throws TypeError for something that is not a well-formed token. */
export function hashSessionToken(token: string): string {
  if (!isWellFormedToken(token)) throw new TypeError('malformed session token');
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** A new random session for `userId` with `role`, valid for `ttlMs` from `now`. */
export function createSession(userId: string, role: Role, options: { ttlMs?: number; now?: Date } = {}): NewSession {
  if (typeof userId !== 'string' || userId.length === 0 || userId.length > 256) throw new TypeError('userId must be a non-empty string');
  if (!isRole(role)) throw new TypeError(`unknown role ${JSON.stringify(role)}`);
  const ttl = options.ttlMs ?? DEFAULT_SESSION_TTL_MS;
  if (!Number.isFinite(ttl) || ttl <= 0 || ttl > MAX_SESSION_TTL_MS) throw new RangeError(`session ttl must be in (0, ${MAX_SESSION_TTL_MS}] ms`);
  const now = options.now ?? new Date();
  const token = randomBytes(TOKEN_BYTES).toString('base64url');
  return {
    token,
    record: { tokenHash: hashSessionToken(token), userId, role, createdAt: now, expiresAt: new Date(now.getTime() + ttl) },
  };
}

export function isSessionExpired(record: Pick<SessionRecord, 'expiresAt'>, now: Date = new Date()): boolean {
  return now.getTime() >= record.expiresAt.getTime();
}

/**
 * Resolves a presented token to its live session: null when the token is malformed, unknown
 * (`lookup(hash)` returns nothing) or expired. `lookup` is the lead's database query by hash.
 */
export function resolveSession(
  token: unknown,
  lookup: (tokenHash: string) => SessionRecord | null | undefined,
  now: Date = new Date(),
): SessionRecord | null {
  if (!isWellFormedToken(token)) return null;
  const record = lookup(hashSessionToken(token));
  if (!record || isSessionExpired(record, now)) return null;
  return record;
}

/** Async variant of resolveSession for a database lookup. */
export async function resolveSessionAsync(
  token: unknown,
  lookup: (tokenHash: string) => Promise<SessionRecord | null | undefined>,
  now: Date = new Date(),
): Promise<SessionRecord | null> {
  if (!isWellFormedToken(token)) return null;
  const record = await lookup(hashSessionToken(token));
  if (!record || isSessionExpired(record, now)) return null;
  return record;
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function parseBearerToken(header: string | string[] | null | undefined): string | null {
  if (typeof header !== 'string') return null;
  const m = /^Bearer ([A-Za-z0-9_-]{43})$/i.exec(header.trim());
  return m ? m[1]! : null;
}

/** An in-memory session table (tests, single-process demo); the same contract as a DB table. */
export class InMemorySessionStore {
  private readonly byHash = new Map<string, SessionRecord>();

  create(userId: string, role: Role, options: { ttlMs?: number; now?: Date } = {}): string {
    const { token, record } = createSession(userId, role, options);
    this.byHash.set(record.tokenHash, record);
    return token;
  }

  /** The live session for a token, or null (expired sessions are dropped). */
  validate(token: unknown, now: Date = new Date()): SessionRecord | null {
    if (!isWellFormedToken(token)) return null;
    const hash = hashSessionToken(token);
    const record = this.byHash.get(hash);
    if (record && isSessionExpired(record, now)) this.byHash.delete(hash);
    return resolveSession(token, (h) => this.byHash.get(h), now);
  }

  /** Logs a token out; true when it existed. */
  revoke(token: string): boolean {
    return isWellFormedToken(token) && this.byHash.delete(hashSessionToken(token));
  }

  /** Ends every session of a user (password change, role change, account removal). */
  revokeUser(userId: string): number {
    let n = 0;
    for (const [hash, record] of this.byHash) if (record.userId === userId && this.byHash.delete(hash)) n++;
    return n;
  }

  purgeExpired(now: Date = new Date()): number {
    let n = 0;
    for (const [hash, record] of this.byHash) if (isSessionExpired(record, now) && this.byHash.delete(hash)) n++;
    return n;
  }

  get size(): number {
    return this.byHash.size;
  }
}
