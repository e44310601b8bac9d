// Verification of the certificates sites present: issued by the CA (signature checked by Node's
// crypto), for TLS client authentication, within validity, not revoked, naming a valid site id.
import { X509Certificate } from 'node:crypto';
import {
  CertificateExpiredError,
  CertificateNotYetValidError,
  CertificateRevokedError,
  InvalidCertificateError,
  NotASiteCertificateError,
  UnknownIssuerError,
} from './errors';
import { isValidSiteId, normalizeSerial, OID_CLIENT_AUTH, subjectCommonName } from './x509';

/** Anything that says whether a serial is revoked: a CA, a Set of serials, or the lead's own store. */
export type RevocationSource =
  | { isRevoked(serial: string): boolean }
  | ReadonlySet<string>
  | readonly string[];

/** The CA certificate (only the certificate is needed to verify); a CertificateAuthority is one. */
export type CaCertificateSource = { readonly certificate: X509Certificate } | { readonly certificatePem: string } | string | X509Certificate;

/** What verifySiteCertificate returns for an accepted certificate. */
export interface VerifiedSite {
  siteId: string;
  serial: string;
  notAfter: Date;
}

function caCertificateOf(source: CaCertificateSource): X509Certificate {
  if (source instanceof X509Certificate) return source;
  if (typeof source === 'string') return new X509Certificate(source);
  if ('certificate' in source) return source.certificate;
  return new X509Certificate(source.certificatePem);
}

function isRevokedIn(revocations: RevocationSource, serial: string): boolean {
  if (Array.isArray(revocations)) return (revocations as readonly string[]).some((s) => normalizeSerial(s) === serial);
  if (revocations instanceof Set) {
    for (const s of revocations as ReadonlySet<string>) if (normalizeSerial(s) === serial) return true;
    return false;
  }
  return (revocations as { isRevoked(serial: string): boolean }).isRevoked(serial);
}

/**
 * Verifies a certificate presented by a site: issued by `ca` (signature checked), an end-entity
 * certificate for client authentication, within its validity at `now`, not revoked, and naming a
 * valid site id as its subject CN. Returns the site id or throws a CertificateVerificationError
 * subclass (UnknownIssuerError, CertificateExpiredError, CertificateRevokedError, ...).
 * `pem` may also be DER (e.g. `tls.PeerCertificate.raw`).
 */
export function verifySiteCertificate(
  pem: string | Buffer,
  ca: CaCertificateSource,
  revocations: RevocationSource,
  now: Date = new Date(),
): VerifiedSite {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new InvalidCertificateError(`not an X.509 certificate: ${(err as Error).message}`);
  }
  const caCert = caCertificateOf(ca);
  let signedByCa = false;
  try {
    signedByCa = cert.checkIssued(caCert) && cert.verify(caCert.publicKey);
  } catch {
    signedByCa = false;
  }
  if (!signedByCa) throw new UnknownIssuerError();
  if (cert.ca) throw new NotASiteCertificateError('a CA certificate cannot identify a site');
  const eku = cert.keyUsage ?? [];
  if (!eku.includes(OID_CLIENT_AUTH)) throw new NotASiteCertificateError('certificate is not for TLS client authentication');
  const siteId = subjectCommonName(cert.subject);
  if (siteId === null || !isValidSiteId(siteId)) throw new NotASiteCertificateError('certificate subject CN is not a valid site id');
  const serial = normalizeSerial(cert.serialNumber);
  if (isRevokedIn(revocations, serial)) throw new CertificateRevokedError(serial);
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now.getTime() < notBefore.getTime()) throw new CertificateNotYetValidError(notBefore);
  if (now.getTime() > notAfter.getTime()) throw new CertificateExpiredError(notAfter);
  return { siteId, serial, notAfter };
}
