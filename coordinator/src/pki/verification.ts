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
  const caCert = caCertificateOf(ca);
  const facts = issuedFactsOf(pem, caCert);
  // Checked on every call (never remembered): a revocation or the clock can change the answer.
  if (isRevokedIn(revocations, facts.serial)) throw new CertificateRevokedError(facts.serial);
  if (now.getTime() < facts.notBefore.getTime()) throw new CertificateNotYetValidError(facts.notBefore);
  if (now.getTime() > facts.notAfter.getTime()) throw new CertificateExpiredError(facts.notAfter);
  return { siteId: facts.siteId, serial: facts.serial, notAfter: facts.notAfter };
}

/** What a certificate says that cannot change: checked once per certificate and CA, then remembered. */
interface IssuedFacts {
  siteId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Certificates that passed the fixed checks (signature by this CA, end-entity, client usage, site
 * id as CN), per CA certificate object, by their bytes; the most recently used MEMO_LIMIT are kept.
 * Every call of every site presents its certificate again: parsing it and verifying its signature
 * cost ~0.5 ms a call, the largest per-site cost of the coordinator at 100 sites (bench:scale).
 * Refusals are not remembered, so an error is always the full check's.
 */
const accepted = new WeakMap<X509Certificate, Map<string, IssuedFacts>>();
const MEMO_LIMIT = 4096;

function issuedFactsOf(pem: string | Buffer, caCert: X509Certificate): IssuedFacts {
  let memo = accepted.get(caCert);
  if (!memo) accepted.set(caCert, (memo = new Map()));
  const key = typeof pem === 'string' ? pem : pem.toString('base64');
  const known = memo.get(key);
  if (known) {
    memo.delete(key); // most recently used last
    memo.set(key, known);
    return known;
  }
  const facts = checkIssued(pem, caCert);
  memo.set(key, facts);
  if (memo.size > MEMO_LIMIT) memo.delete(memo.keys().next().value!);
  return facts;
}

function checkIssued(pem: string | Buffer, caCert: X509Certificate): IssuedFacts {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(pem);
  } catch (err) {
    throw new InvalidCertificateError(`not an X.509 certificate: ${(err as Error).message}`);
  }
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
  return { siteId, serial: normalizeSerial(cert.serialNumber), notBefore: new Date(cert.validFrom), notAfter: new Date(cert.validTo) };
}
