// A site's TLS identity. The private key is generated and kept at the site (mode 0600, it never
// leaves); the site sends a certificate signing request to the coordinator, an admin approves it,
// and the certificate that comes back (subject CN = the site id the coordinator chose) is stored
// with the federation CA certificate. grpcChannelCredentials then gives mutual-TLS credentials.
//
// Directory layout (mode 0700):
//   site.key.pem   RSA private key, PKCS#8, 0600
//   site.csr.pem   the certificate request (public)
//   site.cert.pem  the certificate issued by the coordinator
//   ca.cert.pem    the federation CA certificate (trust anchor for the coordinator's server cert)
import { X509Certificate, createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { ChannelCredentials, credentials } from '@grpc/grpc-js';
import { sync as writeFileAtomicSync } from 'write-file-atomic';
import * as forge from 'node-forge';

export const SITE_KEY_FILE = 'site.key.pem';
export const SITE_CSR_FILE = 'site.csr.pem';
export const SITE_CERT_FILE = 'site.cert.pem';
export const CA_CERT_FILE = 'ca.cert.pem';

const OID_CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

export class SiteIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SiteIdentityError';
  }
}

export interface SiteIdentityPaths {
  dir: string;
  key: string;
  csr: string;
  certificate: string;
  caCertificate: string;
}

export function identityPaths(dir: string): SiteIdentityPaths {
  return {
    dir,
    key: join(dir, SITE_KEY_FILE),
    csr: join(dir, SITE_CSR_FILE),
    certificate: join(dir, SITE_CERT_FILE),
    caCertificate: join(dir, CA_CERT_FILE),
  };
}

/** Atomic write (write-file-atomic: temp file, fsync, rename) with the given mode, in a private folder. */
function writeFileAtomic(path: string, data: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(path, data, { mode });
}

function readKeyPem(paths: SiteIdentityPaths): string {
  if (!existsSync(paths.key)) throw new SiteIdentityError(`no site key in ${paths.dir} (run: site-agent identity init)`);
  if (process.platform !== 'win32') {
    const mode = statSync(paths.key).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new SiteIdentityError(`site key ${paths.key} has permissions ${mode.toString(8)}; it must be private (chmod 600 ${paths.key})`);
    }
  }
  return readFileSync(paths.key, 'utf8');
}

export interface InitSiteIdentityOptions {
  /** CN to put in the CSR, a hint for the admin; the coordinator decides the real site id. */
  requestedSiteId?: string;
  /** RSA modulus length (default 2048; at least 2048). */
  keyBits?: number;
  /** Replace an existing key (and drop the certificate issued for it). Default false. */
  force?: boolean;
}

/**
 * Generates the site's key pair (unless one exists: the existing key is reused, so a CSR can be
 * re-created; `force` makes a new key) and writes a CSR for it. Returns the CSR PEM to send to
 * the coordinator.
 */
export function initSiteIdentity(dir: string, options: InitSiteIdentityOptions = {}): { csrPem: string; createdKey: boolean } {
  const paths = identityPaths(dir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  let createdKey = false;
  if (options.force || !existsSync(paths.key)) {
    const bits = options.keyBits ?? 2048;
    if (!Number.isInteger(bits) || bits < 2048 || bits > 8192) throw new RangeError(`RSA key size must be 2048..8192 bits, got ${bits}`);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
    writeFileAtomic(paths.key, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
    // a certificate issued for the previous key is useless now
    rmSync(paths.certificate, { force: true });
    createdKey = true;
  }
  const csrPem = createSiteCsr(dir, options.requestedSiteId);
  return { csrPem, createdKey };
}

/** Builds (and writes to site.csr.pem) a CSR signed with the site key, SHA-256. */
export function createSiteCsr(dir: string, requestedSiteId?: string): string {
  const paths = identityPaths(dir);
  const keyPem = readKeyPem(paths);
  const cn = requestedSiteId ?? 'fedciss-site';
  if (!/^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/.test(cn)) throw new RangeError(`not a valid site id: ${JSON.stringify(cn)}`);
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.publicKeyFromPem(createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'pem' }).toString());
  csr.setSubject([{ name: 'commonName', value: cn }]);
  csr.sign(key, forge.md.sha256.create());
  const csrPem = forge.pki.certificationRequestToPem(csr);
  writeFileAtomic(paths.csr, csrPem, 0o644);
  return csrPem;
}

export interface SiteCertificateInfo {
  /** The site id the coordinator assigned (certificate subject CN). */
  siteId: string;
  serial: string;
  notBefore: Date;
  notAfter: Date;
  /** SHA-256 fingerprint of the CA certificate. */
  caFingerprint256: string;
}

function certificateInfo(cert: X509Certificate, ca: X509Certificate): SiteCertificateInfo {
  const cns = cert.subject.split('\n').filter((l) => l.startsWith('CN='));
  if (cns.length !== 1) throw new SiteIdentityError('certificate subject has no single CN');
  return {
    siteId: cns[0]!.slice(3),
    serial: cert.serialNumber.toUpperCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    caFingerprint256: ca.fingerprint256,
  };
}

function normFingerprint(f: string): string {
  return f.replace(/[:\s]/g, '').toUpperCase();
}

function parseCaCertificate(caCertificatePem: string, expectedCaFingerprint256?: string): X509Certificate {
  let ca: X509Certificate;
  try {
    ca = new X509Certificate(caCertificatePem);
  } catch (err) {
    throw new SiteIdentityError(`not a PEM certificate: ${(err as Error).message}`);
  }
  if (!ca.ca) throw new SiteIdentityError('the CA certificate is not a CA certificate');
  if (expectedCaFingerprint256 && normFingerprint(expectedCaFingerprint256) !== normFingerprint(ca.fingerprint256)) {
    throw new SiteIdentityError(`CA fingerprint ${ca.fingerprint256} does not match the expected one`);
  }
  return ca;
}

/**
 * Stores the federation CA certificate before enrolment (obtained out of band from the
 * coordinator's operator, ideally checked against its fingerprint), so that the Enroll call can
 * verify the coordinator. Refuses to replace a different CA certificate unless `replace`.
 */
export function trustCaCertificate(
  dir: string,
  caCertificatePem: string,
  options: { expectedCaFingerprint256?: string; replace?: boolean } = {},
): { caFingerprint256: string } {
  const paths = identityPaths(dir);
  const ca = parseCaCertificate(caCertificatePem, options.expectedCaFingerprint256);
  if (existsSync(paths.caCertificate) && !options.replace) {
    const current = new X509Certificate(readFileSync(paths.caCertificate, 'utf8'));
    if (current.fingerprint256 !== ca.fingerprint256) {
      throw new SiteIdentityError(`${paths.caCertificate} already trusts another CA (${current.fingerprint256}); pass replace to change it`);
    }
  }
  writeFileAtomic(paths.caCertificate, caCertificatePem, 0o644);
  return { caFingerprint256: ca.fingerprint256 };
}

/**
 * SHA-256 of the site's public key ("AB:CD:..."), the value the coordinator's inspectCsr shows:
 * the admin approving the request compares the two over the phone or e-mail.
 */
export function siteKeyFingerprint256(dir: string): string {
  const spki = createPublicKey(createPrivateKey(readKeyPem(identityPaths(dir)))).export({ type: 'spki', format: 'der' });
  return createHash('sha256')
    .update(spki)
    .digest('hex')
    .toUpperCase()
    .replace(/(..)(?!$)/g, '$1:');
}

/**
 * Credentials for the Enroll call, made before the site has a certificate: TLS that verifies the
 * coordinator against the trusted CA certificate (see trustCaCertificate), without a client
 * certificate. Needs the coordinator to accept certificate-less connections for Enroll.
 */
export function enrollmentChannelCredentials(identityDir: string): ChannelCredentials {
  const paths = identityPaths(identityDir);
  if (!existsSync(paths.caCertificate)) {
    throw new SiteIdentityError(`no trusted CA certificate in ${identityDir}: get ca.cert.pem from the coordinator's operator first`);
  }
  return credentials.createSsl(readFileSync(paths.caCertificate));
}

export interface StoreCertificateOptions {
  /** When given, the CA certificate's SHA-256 fingerprint ("AB:CD:..." or hex) must match (out-of-band pin). */
  expectedCaFingerprint256?: string;
  /** Accept a CA certificate different from an already trusted ca.cert.pem. Default false. */
  replaceCa?: boolean;
  now?: Date;
}

/**
 * Checks and stores the certificate returned by the coordinator and the federation CA certificate:
 * the certificate must be for this site's key, signed by the CA, for client authentication, and
 * currently valid; the CA certificate must be a CA (and match the pin, if given).
 */
export function storeSiteCertificate(
  dir: string,
  certificatePem: string,
  caCertificatePem: string,
  options: StoreCertificateOptions = {},
): SiteCertificateInfo {
  const paths = identityPaths(dir);
  const keyPem = readKeyPem(paths);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch (err) {
    throw new SiteIdentityError(`not a PEM certificate: ${(err as Error).message}`);
  }
  const ca = parseCaCertificate(caCertificatePem, options.expectedCaFingerprint256);
  if (existsSync(paths.caCertificate) && !options.replaceCa) {
    const trusted = new X509Certificate(readFileSync(paths.caCertificate, 'utf8'));
    if (trusted.fingerprint256 !== ca.fingerprint256) {
      throw new SiteIdentityError(`the returned CA certificate differs from the trusted one (${trusted.fingerprint256}); pass replaceCa to change it`);
    }
  }
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new SiteIdentityError('the certificate is not for this site key');
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) throw new SiteIdentityError('the certificate was not issued by the given CA');
  if (!(cert.keyUsage ?? []).includes(OID_CLIENT_AUTH)) throw new SiteIdentityError('the certificate is not for TLS client authentication');
  const info = certificateInfo(cert, ca);
  const now = (options.now ?? new Date()).getTime();
  if (now > info.notAfter.getTime()) throw new SiteIdentityError(`the certificate expired at ${info.notAfter.toISOString()}`);
  writeFileAtomic(paths.caCertificate, caCertificatePem, 0o644);
  writeFileAtomic(paths.certificate, certificatePem, 0o644);
  return info;
}

export interface SiteIdentity extends SiteCertificateInfo {
  keyPem: string;
  certificatePem: string;
  caCertificatePem: string;
}

/** Loads the complete identity (key, certificate, CA); throws SiteIdentityError when incomplete. */
export function loadSiteIdentity(dir: string): SiteIdentity {
  const paths = identityPaths(dir);
  const keyPem = readKeyPem(paths);
  if (!existsSync(paths.certificate) || !existsSync(paths.caCertificate)) {
    throw new SiteIdentityError(`site ${dir} is not enrolled yet: no certificate (send ${SITE_CSR_FILE} to the coordinator)`);
  }
  const certificatePem = readFileSync(paths.certificate, 'utf8');
  const caCertificatePem = readFileSync(paths.caCertificate, 'utf8');
  const cert = new X509Certificate(certificatePem);
  const ca = new X509Certificate(caCertificatePem);
  if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new SiteIdentityError(`${paths.certificate} does not match ${paths.key}`);
  return { ...certificateInfo(cert, ca), keyPem, certificatePem, caCertificatePem };
}

export type SiteIdentityState = 'none' | 'pending' | 'enrolled' | 'expired' | 'invalid';

/** Where enrolment stands: no key, key + CSR waiting for a certificate, enrolled, or expired. */
export function siteIdentityStatus(dir: string, now: Date = new Date()): { state: SiteIdentityState; detail?: string; notAfter?: Date; siteId?: string } {
  const paths = identityPaths(dir);
  if (!existsSync(paths.key)) return { state: 'none' };
  if (!existsSync(paths.certificate)) return { state: 'pending' };
  try {
    const id = loadSiteIdentity(dir);
    if (now.getTime() > id.notAfter.getTime()) return { state: 'expired', notAfter: id.notAfter, siteId: id.siteId };
    return { state: 'enrolled', notAfter: id.notAfter, siteId: id.siteId };
  } catch (err) {
    return { state: 'invalid', detail: (err as Error).message };
  }
}

/**
 * gRPC channel credentials for mutual TLS: trust only the federation CA for the coordinator's
 * server certificate, and present this site's key and certificate.
 */
export function grpcChannelCredentials(identityDir: string): ChannelCredentials {
  const id = loadSiteIdentity(identityDir);
  return credentials.createSsl(Buffer.from(id.caCertificatePem), Buffer.from(id.keyPem), Buffer.from(id.certificatePem));
}
