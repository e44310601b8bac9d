import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, generateKeyPairSync, createPublicKey } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as forge from 'node-forge';

import {
  CA_KEY_FILE,
  CertificateAuthority,
  CertificateAuthorityError,
  CertificateExpiredError,
  CertificateNotYetValidError,
  CertificateRevokedError,
  CsrRejectedError,
  NotASiteCertificateError,
  REVOKED_FILE,
  UnknownIssuerError,
  initCertificateAuthority,
  inspectCsr,
  loadCertificateAuthority,
  publicKeyFingerprint256,
  normalizeSerial,
  signSiteCsr,
  verifySiteCertificate,
} from './index';
import { makeSiteKeyAndCsr, tempDir } from './testing';

const DAY = 24 * 3600 * 1000;

describe('certificate authority', () => {
  const tmp = tempDir();
  const otherTmp = tempDir();
  let ca: CertificateAuthority;
  let other: CertificateAuthority;

  before(() => {
    ca = initCertificateAuthority(join(tmp.dir, 'ca'), { commonName: 'Test federation CA', validDays: 30, keyBits: 2048 });
    // same CN on purpose: only the signature tells them apart
    other = initCertificateAuthority(otherTmp.dir, { commonName: 'Test federation CA', validDays: 30, keyBits: 2048 });
  });
  after(() => {
    tmp.cleanup();
    otherTmp.cleanup();
  });

  test('init writes a CA with a 0600 key and a self-signed CA certificate, and refuses to overwrite', () => {
    const dir = join(tmp.dir, 'ca');
    assert.equal(statSync(join(dir, CA_KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o077, 0);
    const cert = new X509Certificate(ca.certificatePem);
    assert.equal(cert.ca, true);
    assert.ok(cert.verify(cert.publicKey));
    assert.equal(ca.commonName, 'Test federation CA');
    assert.throws(() => initCertificateAuthority(dir, { commonName: 'again' }), CertificateAuthorityError);
    const loaded = loadCertificateAuthority(dir);
    assert.equal(loaded.certificatePem, ca.certificatePem);
  });

  test('force replaces a CA; load refuses a group-readable key and a missing CA', () => {
    const { dir, cleanup } = tempDir();
    try {
      const first = initCertificateAuthority(dir, { commonName: 'one', keyBits: 2048 });
      const second = initCertificateAuthority(dir, { commonName: 'two', keyBits: 2048, force: true });
      assert.notEqual(first.certificatePem, second.certificatePem);
      chmodSync(join(dir, CA_KEY_FILE), 0o640);
      assert.throws(() => loadCertificateAuthority(dir), /must not be accessible/);
      assert.throws(() => loadCertificateAuthority(join(dir, 'nope')), CertificateAuthorityError);
    } finally {
      cleanup();
    }
  });

  test('signs a CSR with the coordinator-chosen site id as CN, ignoring the CSR subject', () => {
    const site = makeSiteKeyAndCsr('hospital-b-pretending');
    const issued = signSiteCsr(ca, site.csrPem, { siteId: 'hospital-a', validDays: 10 });
    const cert = new X509Certificate(issued.certificatePem);
    assert.equal(cert.subject, 'CN=hospital-a');
    assert.equal(issued.siteId, 'hospital-a');
    assert.ok(cert.checkPrivateKey(createPrivateKey(site.keyPem)), 'certificate is for the key in the CSR');
    assert.ok(cert.checkIssued(ca.certificate) && cert.verify(ca.certificate.publicKey));
    assert.equal(cert.ca, false);
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    assert.equal(normalizeSerial(cert.serialNumber), issued.serial);
    const days = (issued.notAfter.getTime() - Date.now()) / DAY;
    assert.ok(days > 9.9 && days <= 10.01, `validity ${days} days`);
    assert.deepEqual(verifySiteCertificate(issued.certificatePem, ca, ca), {
      siteId: 'hospital-a',
      serial: issued.serial,
      notAfter: issued.notAfter,
    });
  });

  test('inspectCsr shows the requested CN, key size and public key fingerprint', () => {
    const site = makeSiteKeyAndCsr('St-Mary-Hospital');
    const summary = inspectCsr(site.csrPem);
    assert.equal(summary.requestedCommonName, 'St-Mary-Hospital');
    assert.equal(summary.keyBits, 2048);
    const spki = createPublicKey(createPrivateKey(site.keyPem)).export({ type: 'spki', format: 'der' });
    assert.equal(summary.publicKeyFingerprint256, publicKeyFingerprint256(spki));
    assert.match(summary.publicKeyFingerprint256, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    assert.throws(() => inspectCsr('junk'), CsrRejectedError);
  });

  test('serial numbers are unique and recorded', () => {
    const site = makeSiteKeyAndCsr();
    const serials = new Set<string>();
    for (let i = 0; i < 5; i++) serials.add(ca.signSiteCsr(site.csrPem, { siteId: 'hospital-c' }).serial);
    assert.equal(serials.size, 5);
    const recorded = ca.issued().filter((r) => r.subject === 'hospital-c');
    assert.deepEqual(new Set(recorded.map((r) => r.serial)), serials);
  });

  test('validity is clamped to the CA certificate expiry', () => {
    const issued = ca.signSiteCsr(makeSiteKeyAndCsr().csrPem, { siteId: 'long-lived', validDays: 3000 });
    assert.ok(issued.notAfter.getTime() <= ca.notAfter.getTime());
  });

  test('a CSR with a forged signature is rejected', () => {
    // signed by key A but carrying key B: the request was not signed by the key it contains
    const a = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const b = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(b.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    csr.setSubject([{ name: 'commonName', value: 'x' }]);
    csr.sign(forge.pki.privateKeyFromPem(a.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
    const forged = forge.pki.certificationRequestToPem(csr);
    assert.throws(() => ca.signSiteCsr(forged, { siteId: 'mallory' }), (e: unknown) => e instanceof CsrRejectedError && /signature is invalid/.test(e.message));

    // a genuine CSR with one flipped bit in the signature
    const good = makeSiteKeyAndCsr().csrPem;
    const der = Buffer.from(good.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
    der[der.length - 5] ^= 0x01;
    const flipped = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => ca.signSiteCsr(flipped, { siteId: 'mallory' }), CsrRejectedError);

    // tampered subject (signature no longer covers it)
    const tampered = Buffer.from(der);
    tampered[der.length - 5] ^= 0x01; // restore signature
    const idx = tampered.indexOf(Buffer.from('whatever'));
    assert.ok(idx > 0);
    tampered[idx] = 'W'.charCodeAt(0);
    const tamperedPem = `-----BEGIN CERTIFICATE REQUEST-----\n${tampered.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    assert.throws(() => ca.signSiteCsr(tamperedPem, { siteId: 'mallory' }), CsrRejectedError);
  });

  test('garbage, oversize, weak-key CSRs and bad site ids are rejected', () => {
    const good = makeSiteKeyAndCsr().csrPem;
    for (const junk of ['', 'hello', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', 'x'.repeat(20000), ca.certificatePem]) {
      assert.throws(() => ca.signSiteCsr(junk, { siteId: 'ok' }), CsrRejectedError);
    }
    for (const siteId of ['', 'a b', '../etc', 'x'.repeat(65), 'CN=evil', '-lead']) {
      assert.throws(() => ca.signSiteCsr(good, { siteId }), CsrRejectedError, siteId);
    }
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const csr = forge.pki.createCertificationRequest();
    csr.publicKey = forge.pki.publicKeyFromPem(createPublicKey(weak.privateKey).export({ type: 'spki', format: 'pem' }).toString());
    csr.setSubject([{ name: 'commonName', value: 'weak' }]);
    csr.sign(forge.pki.privateKeyFromPem(weak.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()) as forge.pki.rsa.PrivateKey, forge.md.sha256.create());
    assert.throws(() => ca.signSiteCsr(forge.pki.certificationRequestToPem(csr), { siteId: 'weak' }), /at least 2048/);
  });

  test('verification: unknown issuer, expired, not yet valid, revoked, CA cert, server cert', () => {
    const site = makeSiteKeyAndCsr();
    const fromOther = other.signSiteCsr(site.csrPem, { siteId: 'hospital-a' });
    assert.throws(() => verifySiteCertificate(fromOther.certificatePem, ca, ca), UnknownIssuerError);
    assert.throws(() => verifySiteCertificate('not a cert', ca, ca), (e: unknown) => (e as { code?: string }).code === 'INVALID_CERTIFICATE');

    const issued = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-d', validDays: 1 });
    assert.throws(() => verifySiteCertificate(issued.certificatePem, ca, ca, new Date(Date.now() + 2 * DAY)), CertificateExpiredError);
    assert.throws(() => verifySiteCertificate(issued.certificatePem, ca, ca, new Date(Date.now() - DAY)), CertificateNotYetValidError);
    const past = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-d', validDays: 1, now: new Date(Date.now() - 10 * DAY) });
    assert.throws(() => ca.verifySiteCertificate(past.certificatePem), (e: unknown) => e instanceof CertificateExpiredError && e.code === 'EXPIRED');

    assert.equal(ca.verifySiteCertificate(issued.certificatePem).siteId, 'hospital-d');
    assert.throws(() => verifySiteCertificate(issued.certificatePem, ca, new Set([issued.serial.toLowerCase()])), CertificateRevokedError);
    assert.throws(() => verifySiteCertificate(issued.certificatePem, ca, [issued.serial]), CertificateRevokedError);
    assert.equal(verifySiteCertificate(issued.certificatePem, ca.certificatePem, []).siteId, 'hospital-d');

    assert.throws(() => ca.verifySiteCertificate(ca.certificatePem), NotASiteCertificateError);
    const server = ca.issueServerCertificate({ hostnames: ['coordinator.example.org', '10.0.0.5'] });
    assert.throws(() => ca.verifySiteCertificate(server.certificatePem), NotASiteCertificateError);
    const sx = new X509Certificate(server.certificatePem);
    assert.ok(sx.checkHost('localhost') && sx.checkHost('coordinator.example.org') && sx.checkIP('127.0.0.1') && sx.checkIP('10.0.0.5'));
    assert.throws(() => ca.issueServerCertificate({ hostnames: ['bad host'] }), RangeError);
  });

  test('verification takes the CA in every form it accepts, and refuses another CA in each', () => {
    const site = makeSiteKeyAndCsr();
    const issued = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-h' });
    for (const form of [ca, ca.certificatePem, { certificatePem: ca.certificatePem }, new X509Certificate(ca.certificatePem)]) {
      assert.equal(verifySiteCertificate(issued.certificatePem, form, []).siteId, 'hospital-h');
    }
    for (const form of [other, other.certificatePem, { certificatePem: other.certificatePem }, new X509Certificate(other.certificatePem)]) {
      assert.throws(() => verifySiteCertificate(issued.certificatePem, form, []), UnknownIssuerError);
    }
  });

  test('a certificate accepted before (its checks remembered) is still refused once revoked, expired, not yet valid, or under another CA', () => {
    const site = makeSiteKeyAndCsr();
    const issued = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-m', validDays: 1 });
    const der = new X509Certificate(issued.certificatePem).raw;
    for (let i = 0; i < 2; i++) {
      assert.equal(ca.verifySiteCertificate(issued.certificatePem).siteId, 'hospital-m');
      assert.equal(ca.verifySiteCertificate(der).siteId, 'hospital-m');
    }
    assert.throws(() => verifySiteCertificate(der, ca, ca, new Date(Date.now() + 2 * DAY)), CertificateExpiredError);
    assert.throws(() => verifySiteCertificate(der, ca, ca, new Date(Date.now() - DAY)), CertificateNotYetValidError);
    assert.throws(() => verifySiteCertificate(der, other, []), UnknownIssuerError);
    assert.throws(() => verifySiteCertificate(der, other.certificatePem, []), UnknownIssuerError);
    assert.equal(verifySiteCertificate(der, ca, []).siteId, 'hospital-m');
    ca.revoke(issued.serial, 'key lost');
    assert.throws(() => ca.verifySiteCertificate(der), CertificateRevokedError);
    assert.throws(() => ca.verifySiteCertificate(issued.certificatePem), CertificateRevokedError);
    // A refusal is not remembered either: a certificate of another CA stays refused after being tried.
    const foreign = other.signSiteCsr(site.csrPem, { siteId: 'hospital-n' });
    for (let i = 0; i < 2; i++) assert.throws(() => ca.verifySiteCertificate(foreign.certificatePem), UnknownIssuerError);
  });

  test('a revocation by a serial written with colons and leading zeros names the certificate\'s subject', () => {
    const site = makeSiteKeyAndCsr();
    const issued = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-i' });
    const written = '00' + issued.serial.toLowerCase().replace(/(..)(?!$)/g, '$1:');
    assert.equal(ca.revoke(written, 'typed by hand').subject, 'hospital-i');
    assert.throws(() => ca.verifySiteCertificate(issued.certificatePem), CertificateRevokedError);
  });

  test('revocation is persisted, idempotent, and seen by another instance of the CA', () => {
    const site = makeSiteKeyAndCsr();
    const issued = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-e' });
    const sameDirCa = loadCertificateAuthority(ca.dir);
    assert.equal(sameDirCa.verifySiteCertificate(issued.certificatePem).siteId, 'hospital-e'); // caches the list
    const entry = ca.revoke(issued.serial, 'key compromise');
    assert.equal(entry.subject, 'hospital-e');
    assert.deepEqual(ca.revoke(issued.serial.toLowerCase()), entry, 'idempotent');
    assert.ok(ca.isRevoked(issued.serial));
    assert.throws(() => ca.verifySiteCertificate(issued.certificatePem), CertificateRevokedError);
    assert.throws(() => sameDirCa.verifySiteCertificate(issued.certificatePem), CertificateRevokedError);
    const persisted = JSON.parse(readFileSync(join(ca.dir, REVOKED_FILE), 'utf8')) as { revoked: { serial: string }[] };
    assert.ok(persisted.revoked.some((r) => r.serial === issued.serial));

    const two = [ca.signSiteCsr(site.csrPem, { siteId: 'hospital-f' }), ca.signSiteCsr(site.csrPem, { siteId: 'hospital-f' })];
    const keep = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-g' });
    assert.equal(ca.revokeSite('hospital-f', 'site removed').length, 2);
    for (const c of two) assert.throws(() => ca.verifySiteCertificate(c.certificatePem), CertificateRevokedError);
    assert.equal(ca.verifySiteCertificate(keep.certificatePem).siteId, 'hospital-g');
    assert.throws(() => ca.revoke('not-hex'), TypeError);
  });

  test('ensureServerCertificate stores and reuses the coordinator certificate, reissuing when needed', () => {
    const first = ca.ensureServerCertificate({ hostnames: ['coord.local'] });
    assert.equal(statSync(join(ca.dir, 'server.key.pem')).mode & 0o777, 0o600);
    const again = ca.ensureServerCertificate({ hostnames: ['coord.local'] });
    assert.equal(again.serial, first.serial);
    const more = ca.ensureServerCertificate({ hostnames: ['coord.local', 'other.local'] });
    assert.notEqual(more.serial, first.serial);
    ca.revoke(more.serial);
    const renewed = ca.ensureServerCertificate({ hostnames: ['coord.local', 'other.local'] });
    assert.notEqual(renewed.serial, more.serial);
    writeFileSync(join(ca.dir, 'server.cert.pem'), 'garbage');
    assert.notEqual(ca.ensureServerCertificate().serial, renewed.serial);
  });
});
