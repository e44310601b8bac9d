/**
 * The one-time enrolment token of an invitation: `fedinv1.<invitation id>.<secret>`, 256 random
 * bits of secret. The id lets the coordinator find the invitation without scanning; only the
 * SHA-256 of the whole token is stored, and it is compared in constant time. The token travels in
 * the Enroll call's `x-fedciss-invitation` metadata (over server-side TLS on the enrolment port).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const INVITATION_METADATA_KEY = 'x-fedciss-invitation';
const PREFIX = 'fedinv1';
const TOKEN = /^fedinv1\.(inv-[0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

export interface MintedToken {
  invitationId: string;
  token: string;
  hash: string;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function mintToken(): MintedToken {
  const invitationId = `inv-${randomBytes(8).toString('hex')}`;
  const token = `${PREFIX}.${invitationId}.${randomBytes(32).toString('base64url')}`;
  return { invitationId, token, hash: hashToken(token) };
}

/** The invitation id a well-formed token names, or null for anything else. */
export function invitationIdOf(token: string): string | null {
  return TOKEN.exec(token)?.[1] ?? null;
}

/** Whether `token` hashes to `storedHash` (constant time). */
export function tokenMatches(token: string, storedHash: string): boolean {
  const a = Buffer.from(hashToken(token), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
