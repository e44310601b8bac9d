// Admin password hashing with scrypt (RFC 7914, Node's crypto.scrypt). The stored string carries
// the algorithm, its parameters and the per-password salt, in the PHC string style:
//   $scrypt$ln=15,r=8,p=1$<salt, base64 unpadded>$<derived key, base64 unpadded>
// so parameters can be raised later (needsRehash) without invalidating existing hashes.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  /** log2 of the CPU/memory cost N. */
  ln: number;
  /** Block size. */
  r: number;
  /** Parallelisation. */
  p: number;
}

/** N = 2^15, r = 8, p = 1: 32 MiB and ~50-100 ms per hash on a server core. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ ln: 15, r: 8, p: 1 });
/** Bounds accepted when hashing or reading a stored hash (a hostile stored string cannot ask for GiBs). */
const LIMITS = { ln: [10, 20], r: [1, 32], p: [1, 16] } as const;
const SALT_BYTES = 16;
const KEY_BYTES = 32;
/** Longest password accepted (characters); longer input is refused, not truncated. */
export const MAX_PASSWORD_LENGTH = 1024;
/** Shortest password checkPasswordPolicy accepts. */
export const MIN_PASSWORD_LENGTH = 10;

const PREFIX = '$scrypt$';

function checkParams(params: ScryptParams): void {
  for (const k of ['ln', 'r', 'p'] as const) {
    const v = params[k];
    const [lo, hi] = LIMITS[k];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`scrypt ${k} must be an integer in ${lo}..${hi}, got ${v}`);
  }
}

function derive(password: string, salt: Buffer, params: ScryptParams, keylen: number): Promise<Buffer> {
  const N = 2 ** params.ln;
  const maxmem = 128 * N * params.r * params.p + 128 * params.r * params.p + 4 * 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(password.normalize('NFC'), salt, keylen, { N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function checkPasswordInput(password: unknown): asserts password is string {
  if (typeof password !== 'string') throw new TypeError('password must be a string');
  if (password.length === 0) throw new RangeError('password must not be empty');
  if (password.length > MAX_PASSWORD_LENGTH) throw new RangeError(`password is longer than ${MAX_PASSWORD_LENGTH} characters`);
}

const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');

/** Hashes a password with a fresh random salt; returns the self-describing hash string. */
export async function hashPassword(password: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<string> {
  checkPasswordInput(password);
  checkParams(params);
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `${PREFIX}ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** Parses a stored hash string; null when it is not a well-formed scrypt hash within the limits. */
export function parsePasswordHash(stored: string): ParsedHash | null {
  if (typeof stored !== 'string' || stored.length > 512) return null;
  const m = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,88})\$([A-Za-z0-9+/]{16,172})$/.exec(stored);
  if (!m) return null;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  try {
    checkParams(params);
  } catch {
    return null;
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const key = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || key.length < 16 || key.length > 128) return null;
  return { params, salt, key };
}

/**
 * True when `password` matches `stored` (constant-time comparison of the derived keys). A
 * malformed stored hash, a non-string or an over-long password give false, never an exception.
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed || typeof password !== 'string' || password.length === 0 || password.length > MAX_PASSWORD_LENGTH) {
    // spend comparable time so the response does not reveal which check failed
    await derive('dummy-password', Buffer.alloc(SALT_BYTES), DEFAULT_SCRYPT_PARAMS, KEY_BYTES);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.params, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

/** True when `stored` is malformed or was made with parameters other than `params` (rehash on next login). */
export function needsRehash(stored: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): boolean {
  const parsed = parsePasswordHash(stored);
  if (!parsed) return true;
  return parsed.params.ln !== params.ln || parsed.params.r !== params.r || parsed.params.p !== params.p || parsed.key.length !== KEY_BYTES;
}

/** Problems with a new password (empty list: acceptable). Length-based, per NIST SP 800-63B. */
export function checkPasswordPolicy(password: string, context: { username?: string } = {}): string[] {
  const problems: string[] = [];
  if (typeof password !== 'string') return ['password must be a string'];
  if ([...password].length < MIN_PASSWORD_LENGTH) problems.push(`password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) problems.push(`password must have at most ${MAX_PASSWORD_LENGTH} characters`);
  if (context.username && password.toLowerCase().includes(context.username.toLowerCase())) problems.push('password must not contain the user name');
  if (/^(.)\1*$/u.test(password)) problems.push('password must not be one repeated character');
  return problems;
}
