// The coordinator's own TLS server certificate kept in the CA directory, renewed when it would no
// longer serve: not this CA's, about to expire, revoked, or missing a requested hostname.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, assertPrivateFileMode, writeFileAtomic } from './files';
import { serverHostnames, type ServerCertificate, type ServerCertificateOptions, type Validity } from './issuing';
import { SERVER_CERT_FILE, SERVER_KEY_FILE } from './storage';
import { checkDays, DAY_MS, normalizeSerial, OID_SERVER_AUTH } from './x509';

/** What renewal needs of the CA. */
export interface ServerCertificateIssuer {
  readonly dir: string;
  readonly certificate: X509Certificate;
  isRevoked(serial: string): boolean;
  validityFor(days: number, now: Date): Validity;
  issueServerCertificate(options: ServerCertificateOptions): ServerCertificate;
}

export interface EnsureServerCertificateOptions extends ServerCertificateOptions {
  /** Renew when the stored certificate expires within this many days (default 30). */
  renewWithinDays?: number;
}

/**
 * Returns the coordinator's server certificate stored in the CA directory (server.key.pem 0600,
 * server.cert.pem), issuing and storing a new one when there is none, it was not issued by this
 * CA, it expires within `renewWithinDays` (default 30), is revoked, or does not cover every
 * requested hostname.
 */
export function ensureServerCertificate(ca: ServerCertificateIssuer, options: EnsureServerCertificateOptions = {}): ServerCertificate {
  const keyPath = join(ca.dir, SERVER_KEY_FILE);
  const certPath = join(ca.dir, SERVER_CERT_FILE);
  const hostnames = serverHostnames(options.hostnames);
  const now = options.now ?? new Date();
  if (existsSync(keyPath) && existsSync(certPath)) {
    try {
      assertPrivateFileMode(keyPath);
      const keyPem = readFileSync(keyPath, 'utf8');
      const certificatePem = readFileSync(certPath, 'utf8');
      const cert = new X509Certificate(certificatePem);
      const serial = normalizeSerial(cert.serialNumber);
      const notAfter = new Date(cert.validTo);
      const renewMs = (options.renewWithinDays ?? 30) * DAY_MS;
      const ok =
        cert.checkIssued(ca.certificate) &&
        cert.verify(ca.certificate.publicKey) &&
        cert.checkPrivateKey(createPrivateKey(keyPem)) &&
        (cert.keyUsage ?? []).includes(OID_SERVER_AUTH) &&
        // renew inside the window, unless a new certificate would not last longer (CA expiry)
        (notAfter.getTime() - now.getTime() > renewMs ||
          ca.validityFor(checkDays(options.validDays, 365, 'server certificate validity', 3650), now).notAfter.getTime() - notAfter.getTime() < DAY_MS) &&
        new Date(cert.validFrom).getTime() <= now.getTime() &&
        !ca.isRevoked(serial) &&
        hostnames.every((h) => (isIP(h) ? cert.checkIP(h) !== undefined : cert.checkHost(h) !== undefined));
      if (ok) return { keyPem, certificatePem, serial, notAfter, hostnames: certificateHostnames(cert) };
    } catch {
      // unreadable or inconsistent: issue a new one
    }
  }
  const issued = ca.issueServerCertificate({ ...options, hostnames });
  writeFileAtomic(keyPath, issued.keyPem, PRIVATE_FILE_MODE);
  writeFileAtomic(certPath, issued.certificatePem, PUBLIC_FILE_MODE);
  return issued;
}

function certificateHostnames(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(', ')
    .map((entry) => entry.replace(/^(DNS:|IP Address:)/, ''))
    .filter((x) => x.length > 0);
}
