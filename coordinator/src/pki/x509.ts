// Small X.509 facts every part of the CA shares: site ids, serial numbers, validity periods, key
// sizes, fingerprints. No state, no files.
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';

/** Site ids: 1-64 characters, letters, digits, '.', '_' and '-', starting and ending alphanumeric. */
export const SITE_ID_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;
export function isValidSiteId(id: unknown): id is string {
  return typeof id === 'string' && SITE_ID_PATTERN.test(id);
}

/** Smallest RSA modulus accepted in a CSR or generated for a key. */
export const MIN_RSA_BITS = 2048;
/** notBefore is set this far before `now` to tolerate clock skew between coordinator and sites. */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
export const DAY_MS = 24 * 60 * 60 * 1000;
export const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
export const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/** Upper-case hex without separators or leading zeros, the form Node's X509Certificate and TLS use. */
export function normalizeSerial(serial: string): string {
  const s = serial.replace(/[:\s]/g, '').toUpperCase().replace(/^0+(?=.)/, '');
  if (!/^[0-9A-F]+$/.test(s)) throw new TypeError(`not a hexadecimal serial number: ${JSON.stringify(serial)}`);
  return s;
}

/** ~127 random bits, first byte 0x10..0x7f: positive, 32 hex digits without a leading zero. */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = 0x10 + (b[0]! % 0x70);
  return b.toString('hex').toUpperCase();
}

export function checkDays(value: number | undefined, fallback: number, what: string, max: number): number {
  const days = value ?? fallback;
  if (!Number.isFinite(days) || days <= 0 || days > max) {
    throw new RangeError(`${what} must be a positive number of days (at most ${max}), got ${days}`);
  }
  return days;
}

export function checkKeyBits(bits: number | undefined, fallback: number): number {
  const b = bits ?? fallback;
  if (!Number.isInteger(b) || b < MIN_RSA_BITS || b > 8192) throw new RangeError(`RSA key size must be 2048..8192 bits, got ${b}`);
  return b;
}

export function generateRsaKeyPem(bits: number): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** The single CN of a certificate subject as Node prints it ("CN=x\nO=y"); null if none or several. */
export function subjectCommonName(subject: string): string | null {
  const cns = subject
    .split('\n')
    .filter((line) => line.startsWith('CN='))
    .map((line) => line.slice(3));
  return cns.length === 1 ? cns[0]! : null;
}

/** "AB:CD:..." SHA-256 of a DER SubjectPublicKeyInfo. */
export function publicKeyFingerprint256(spkiDer: Buffer): string {
  return createHash('sha256')
    .update(spkiDer)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}
