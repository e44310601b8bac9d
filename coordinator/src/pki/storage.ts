// The CA directory (mode 0700) and its files:
//   ca.key.pem       CA private key, PKCS#8, mode 0600
//   ca.cert.pem      self-signed CA certificate
//   issued.json      every certificate issued: serial, kind, subject, validity
//   revoked.json     the revocation list
//   server.key.pem   coordinator TLS key (0600) and certificate, see renewal.ts
//   server.cert.pem
import { existsSync, readFileSync } from 'node:fs';
import { CertificateAuthorityError } from './errors';
import { PUBLIC_FILE_MODE, writeFileAtomic } from './files';

export const CA_KEY_FILE = 'ca.key.pem';
export const CA_CERT_FILE = 'ca.cert.pem';
export const ISSUED_FILE = 'issued.json';
export const REVOKED_FILE = 'revoked.json';
export const SERVER_KEY_FILE = 'server.key.pem';
export const SERVER_CERT_FILE = 'server.cert.pem';

/** A JSON file of the CA directory; `fallback` when it does not exist, an error naming it when it is not JSON. */
export function readJsonFile<T>(path: string, fallback: T): T {
  if (!existsSync(path)) return fallback;
  const text = readFileSync(path, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new CertificateAuthorityError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** Writes a public JSON file of the CA directory atomically (a reader never sees half of it). */
export function writeJsonFile(path: string, value: unknown): void {
  writeFileAtomic(path, JSON.stringify(value, null, 2) + '\n', PUBLIC_FILE_MODE);
}
