// Building and signing certificates with the CA's key (node-forge builds the X.509 structures; it
// supports only RSA): a site's, the coordinator's TLS server certificate, and the CA's own.
import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import * as forge from 'node-forge';
import { CertificateAuthorityError } from './errors';
import { CLOCK_SKEW_MS, DAY_MS, randomSerial } from './x509';

export interface ServerCertificateOptions {
  /** Extra DNS names or IP addresses; localhost, 127.0.0.1 and ::1 are always included. */
  hostnames?: readonly string[];
  /** Validity in days (default 365). */
  validDays?: number;
  /** Subject CN (default "fedciss-coordinator"). */
  commonName?: string;
  /** RSA modulus length (default 2048). */
  keyBits?: number;
  now?: Date;
}

/** A TLS key and certificate (for the coordinator's server side). */
export interface ServerCertificate {
  keyPem: string;
  certificatePem: string;
  serial: string;
  notAfter: Date;
  /** DNS names and IP addresses in the subjectAltName. */
  hostnames: string[];
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** The CA's key and certificate as forge objects (parsed once). */
export interface SigningKey {
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}

/** `days` from `now` (back-dated by the clock skew), never past the CA's own expiry. */
export function validityWithin(caNotAfter: Date, days: number, now: Date): Validity {
  // X.509 times have one-second precision: round here so the returned dates match the certificate
  const notBefore = new Date(Math.floor((now.getTime() - CLOCK_SKEW_MS) / 1000) * 1000);
  const wanted = new Date(Math.floor((now.getTime() + days * DAY_MS) / 1000) * 1000);
  const notAfter = wanted.getTime() > caNotAfter.getTime() ? caNotAfter : wanted;
  if (notAfter.getTime() <= now.getTime()) throw new CertificateAuthorityError('the CA certificate has expired; initialise a new CA');
  return { notBefore, notAfter };
}

function signCertificate(ca: SigningKey, publicKey: forge.pki.PublicKey, serial: string, subjectCn: string, validity: Validity, extensions: object[]): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial;
  cert.validity.notBefore = validity.notBefore;
  cert.validity.notAfter = validity.notAfter;
  cert.setSubject([{ name: 'commonName', value: subjectCn }]);
  cert.setIssuer(ca.cert.subject.attributes);
  cert.setExtensions([
    ...extensions,
    { name: 'subjectKeyIdentifier' },
    { name: 'authorityKeyIdentifier', keyIdentifier: ca.cert.generateSubjectKeyIdentifier().getBytes() },
  ]);
  cert.sign(ca.key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** A site certificate: CN=<siteId>, for TLS client authentication only. */
export function siteCertificate(ca: SigningKey, publicKey: forge.pki.PublicKey, serial: string, siteId: string, validity: Validity): string {
  return signCertificate(ca, publicKey, serial, siteId, validity, [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
}

/** A TLS server certificate for `keyPem`'s public key, valid for `hostnames` (DNS names and IPs). */
export function serverCertificate(ca: SigningKey, keyPem: string, serial: string, commonName: string, hostnames: readonly string[], validity: Validity): string {
  const publicKey = forge.pki.publicKeyFromPem(createPublicKey(keyPem).export({ type: 'spki', format: 'pem' }).toString());
  const altNames = hostnames.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h }));
  return signCertificate(ca, publicKey, serial, commonName, validity, [
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', critical: true, digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
}

/** A self-signed CA certificate (CA:true, pathLen 0, keyCertSign + cRLSign) for `keyPem`. */
export function selfSignedCaCertificate(keyPem: string, commonName: string, days: number, now: Date): string {
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = randomSerial();
  cert.validity.notBefore = new Date(now.getTime() - CLOCK_SKEW_MS);
  cert.validity.notAfter = new Date(now.getTime() + days * DAY_MS);
  const attrs = [{ name: 'commonName', value: commonName }];
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
    { name: 'keyUsage', critical: true, keyCertSign: true, cRLSign: true, digitalSignature: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(key, forge.md.sha256.create());
  return forge.pki.certificateToPem(cert);
}

/** localhost, 127.0.0.1 and ::1, then each valid extra hostname or IP address once (lower case). */
export function serverHostnames(extra: readonly string[] | undefined): string[] {
  const names = ['localhost', '127.0.0.1', '::1'];
  for (const raw of extra ?? []) {
    const h = raw.trim().toLowerCase();
    if (!isIP(h) && !/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/.test(h)) {
      throw new RangeError(`not a valid hostname or IP address: ${JSON.stringify(raw)}`);
    }
    if (!names.includes(h)) names.push(h);
  }
  return names;
}
