import assert from 'node:assert/strict';
import { X509Certificate, createHash, generateKeyPairSync } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';

import * as grpc from '@grpc/grpc-js';
import * as forge from 'node-forge';

import {
  SITE_CERT_FILE,
  SITE_KEY_FILE,
  SiteIdentityError,
  enrollmentChannelCredentials,
  grpcChannelCredentials,
  initSiteIdentity,
  loadSiteIdentity,
  siteIdentityStatus,
  siteKeyFingerprint256,
  storeSiteCertificate,
  trustCaCertificate,
} from './index';

// --- a minimal stand-in for the coordinator's CA (site-agent must not import the coordinator) ---
interface TestCa {
  certPem: string;
  cert: forge.pki.Certificate;
  key: forge.pki.rsa.PrivateKey;
}
function newKey(): { pem: string; forge: forge.pki.rsa.PrivateKey } {
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { pem, forge: forge.pki.privateKeyFromPem(pem) as forge.pki.rsa.PrivateKey };
}
let serial = 0x100;
function sign(ca: TestCa | null, publicKey: forge.pki.PublicKey, cn: string, exts: object[], signer: forge.pki.rsa.PrivateKey, days = 30): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = (serial++).toString(16);
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + days * 86400_000);
  cert.setSubject([{ name: 'commonName', value: cn }]);
  cert.setIssuer(ca ? ca.cert.subject.attributes : [{ name: 'commonName', value: cn }]);
  cert.setExtensions(exts);
  cert.sign(signer, forge.md.sha256.create());
  return cert;
}
function newCa(cn = 'Test CA'): TestCa {
  const k = newKey();
  const cert = sign(null, forge.pki.setRsaPublicKey(k.forge.n, k.forge.e), cn, [{ name: 'basicConstraints', cA: true, critical: true }, { name: 'keyUsage', keyCertSign: true, critical: true }], k.forge);
  return { certPem: forge.pki.certificateToPem(cert), cert, key: k.forge };
}
function signCsr(ca: TestCa, csrPem: string, siteId: string, days = 30): string {
  const csr = forge.pki.certificationRequestFromPem(csrPem);
  assert.ok(csr.verify(), 'CSR self-signature');
  return forge.pki.certificateToPem(sign(ca, csr.publicKey!, siteId, [{ name: 'basicConstraints', cA: false }, { name: 'extKeyUsage', clientAuth: true }], ca.key, days));
}
function serverCert(ca: TestCa): { keyPem: string; certPem: string } {
  const k = newKey();
  const cert = sign(ca, forge.pki.setRsaPublicKey(k.forge.n, k.forge.e), 'coordinator', [
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
  ], ca.key);
  return { keyPem: k.pem, certPem: forge.pki.certificateToPem(cert) };
}

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'fedciss-identity-'));
  dirs.push(d);
  return join(d, 'identity');
}

describe('site identity', () => {
  const ca = newCa();
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  test('init creates a private key (0600) and a valid CSR; re-init keeps the key unless forced', () => {
    const dir = tmp();
    const { csrPem, createdKey } = initSiteIdentity(dir, { requestedSiteId: 'hospital-a' });
    assert.ok(createdKey);
    assert.equal(statSync(join(dir, SITE_KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o077, 0);
    const csr = forge.pki.certificationRequestFromPem(csrPem);
    assert.ok(csr.verify());
    assert.equal(csr.subject.getField('CN').value, 'hospital-a');
    assert.ok(!csrPem.includes('PRIVATE KEY'));
    const key = readFileSync(join(dir, SITE_KEY_FILE), 'utf8');
    assert.equal(initSiteIdentity(dir).createdKey, false);
    assert.equal(readFileSync(join(dir, SITE_KEY_FILE), 'utf8'), key);
    assert.ok(initSiteIdentity(dir, { force: true }).createdKey);
    assert.notEqual(readFileSync(join(dir, SITE_KEY_FILE), 'utf8'), key);
    assert.throws(() => initSiteIdentity(tmp(), { requestedSiteId: 'bad id' }), RangeError);
  });

  test('stores the returned certificate only when it matches the key and the CA', () => {
    const dir = tmp();
    assert.equal(siteIdentityStatus(dir).state, 'none');
    const { csrPem } = initSiteIdentity(dir);
    assert.equal(siteIdentityStatus(dir).state, 'pending');
    assert.throws(() => loadSiteIdentity(dir), SiteIdentityError);

    // certificate for someone else's key
    const otherDir = tmp();
    const otherCert = signCsr(ca, initSiteIdentity(otherDir).csrPem, 'site-x');
    assert.throws(() => storeSiteCertificate(dir, otherCert, ca.certPem), /not for this site key/);
    // certificate from another CA
    const other = newCa('Test CA');
    assert.throws(() => storeSiteCertificate(dir, signCsr(other, csrPem, 'site-x'), ca.certPem), /not issued by the given CA/);
    // wrong pin
    const good = signCsr(ca, csrPem, 'hospital-7');
    assert.throws(() => storeSiteCertificate(dir, good, ca.certPem, { expectedCaFingerprint256: 'AA:BB' }), /fingerprint/);
    assert.throws(() => storeSiteCertificate(dir, 'junk', ca.certPem), SiteIdentityError);
    assert.ok(!existsSync(join(dir, SITE_CERT_FILE)));

    const info = storeSiteCertificate(dir, good, ca.certPem, { expectedCaFingerprint256: new X509Certificate(ca.certPem).fingerprint256 });
    assert.equal(info.siteId, 'hospital-7');
    const status = siteIdentityStatus(dir);
    assert.equal(status.state, 'enrolled');
    assert.equal(status.siteId, 'hospital-7');
    assert.equal(siteIdentityStatus(dir, new Date(Date.now() + 40 * 86400_000)).state, 'expired');
    assert.equal(loadSiteIdentity(dir).siteId, 'hospital-7');

    chmodSync(join(dir, SITE_KEY_FILE), 0o644);
    assert.throws(() => loadSiteIdentity(dir), /must be private/);
  });

  test('trusting the CA before enrolment; the CA cannot be switched silently; key fingerprint', () => {
    const dir = tmp();
    const { csrPem } = initSiteIdentity(dir);
    assert.throws(() => enrollmentChannelCredentials(dir), SiteIdentityError);
    const fp = new X509Certificate(ca.certPem).fingerprint256;
    assert.throws(() => trustCaCertificate(dir, ca.certPem, { expectedCaFingerprint256: 'AB:CD' }), /fingerprint/);
    assert.equal(trustCaCertificate(dir, ca.certPem, { expectedCaFingerprint256: fp.replace(/:/g, '').toLowerCase() }).caFingerprint256, fp);
    assert.ok(enrollmentChannelCredentials(dir));
    const other = newCa('Other CA');
    assert.throws(() => trustCaCertificate(dir, other.certPem), /another CA/);
    assert.throws(() => storeSiteCertificate(dir, signCsr(other, csrPem, 'site-x'), other.certPem), /differs from the trusted one/);
    assert.throws(() => trustCaCertificate(dir, signCsr(ca, csrPem, 'site-x')), /not a CA/);
    // the fingerprint an admin compares with the coordinator's inspectCsr
    const csr = forge.pki.certificationRequestFromPem(csrPem);
    const spki = Buffer.from(forge.asn1.toDer(forge.pki.publicKeyToAsn1(csr.publicKey!)).getBytes(), 'binary');
    const expected = createHash('sha256').update(spki).digest('hex').toUpperCase().match(/../g)!.join(':');
    assert.equal(siteKeyFingerprint256(dir), expected);
  });

  test('grpcChannelCredentials authenticates the site to a mutual-TLS server', async () => {
    const dir = tmp();
    const { csrPem } = initSiteIdentity(dir, { requestedSiteId: 'ignored' });
    storeSiteCertificate(dir, signCsr(ca, csrPem, 'hospital-9'), ca.certPem);

    const srv = serverCert(ca);
    const service: grpc.ServiceDefinition = {
      whoAmI: {
        path: '/t.T/WhoAmI',
        requestStream: false,
        responseStream: false,
        requestSerialize: (v: Buffer) => v,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (v: Buffer) => v,
        responseDeserialize: (b: Buffer) => b,
      },
    };
    const server = new grpc.Server();
    server.addService(service, {
      whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) =>
        cb(null, Buffer.from(String(call.getAuthContext()?.sslPeerCertificate?.subject?.CN))),
    });
    const creds = grpc.ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(srv.keyPem), cert_chain: Buffer.from(srv.certPem) }], true);
    const port = await new Promise<number>((ok, fail) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? fail(e) : ok(p))));
    const Client = grpc.makeGenericClientConstructor(service, 'T');
    const client = new Client(`127.0.0.1:${port}`, grpcChannelCredentials(dir), { 'grpc.use_local_subchannel_pool': 1 });
    try {
      const cn = await new Promise<string>((ok, fail) =>
        client.makeUnaryRequest('/t.T/WhoAmI', (v: Buffer) => v, (b: Buffer) => b, Buffer.alloc(0), { deadline: Date.now() + 5000 }, (err: grpc.ServiceError | null, v?: Buffer) =>
          err ? fail(err) : ok(v!.toString()),
        ),
      );
      assert.equal(cn, 'hospital-9');
    } finally {
      client.close();
      server.forceShutdown();
    }
    assert.throws(() => grpcChannelCredentials(tmp()), SiteIdentityError);
  });
});
