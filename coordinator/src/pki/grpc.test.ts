// Real grpc-js server and clients on 127.0.0.1 over mutual TLS with certificates from the CA.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import * as grpc from '@grpc/grpc-js';

import {
  type CertificateAuthority,
  InsecureBindError,
  type SiteCallLike,
  SiteAuthenticationError,
  assertLoopbackBindAddress,
  createSiteIdResolver,
  grpcServerCredentials,
  initCertificateAuthority,
  insecureLoopbackServerCredentials,
  isLoopbackHost,
  siteIdFromCall,
} from './index';
import { makeSiteKeyAndCsr, tempDir } from './testing';

const DAY = 24 * 3600 * 1000;

const identityService: grpc.ServiceDefinition = {
  whoAmI: {
    path: '/fedciss.test.Identity/WhoAmI',
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Buffer) => v,
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: (v: Buffer) => v,
    responseDeserialize: (b: Buffer) => b,
  },
};
const IdentityClient = grpc.makeGenericClientConstructor(identityService, 'Identity');

interface Started {
  server: grpc.Server;
  port: number;
  handled: () => number;
}

function startServer(credentials: grpc.ServerCredentials, bind: string, resolve: (call: SiteCallLike) => string): Promise<Started> {
  const server = new grpc.Server();
  let handled = 0;
  server.addService(identityService, {
    whoAmI: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      handled++;
      try {
        callback(null, Buffer.from(resolve(call)));
      } catch (err) {
        callback(err as grpc.ServiceError);
      }
    },
  });
  return new Promise((ok, fail) =>
    server.bindAsync(bind, credentials, (err, port) => (err ? fail(err) : ok({ server, port, handled: () => handled }))),
  );
}

function whoAmI(target: string, credentials: grpc.ChannelCredentials, metadata = new grpc.Metadata()): Promise<string> {
  const client = new IdentityClient(target, credentials, { 'grpc.use_local_subchannel_pool': 1 });
  return new Promise<string>((ok, fail) => {
    client.makeUnaryRequest(
      '/fedciss.test.Identity/WhoAmI',
      (v: Buffer) => v,
      (b: Buffer) => b,
      Buffer.alloc(0),
      metadata,
      { deadline: Date.now() + 5000 },
      (err: grpc.ServiceError | null, value?: Buffer) => (err ? fail(err) : ok(value!.toString())),
    );
  }).finally(() => client.close());
}

function clientCredentials(ca: CertificateAuthority, keyPem?: string, certificatePem?: string): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(
    Buffer.from(ca.certificatePem),
    keyPem ? Buffer.from(keyPem) : null,
    certificatePem ? Buffer.from(certificatePem) : null,
  );
}

async function rejectsWith(p: Promise<unknown>, code: grpc.status): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (err) {
    const e = err as grpc.ServiceError;
    assert.equal(e.code, code, `expected ${grpc.status[code]}, got ${grpc.status[e.code]}: ${e.details}`);
    return e;
  }
  assert.fail(`expected the call to fail with ${grpc.status[code]}`);
}

describe('gRPC over mutual TLS with certificates from the federation CA', () => {
  const tmp = tempDir();
  let ca: CertificateAuthority;
  let otherCa: CertificateAuthority;
  let started: Started;
  let clock = () => new Date();
  let target: string;

  before(async () => {
    ca = initCertificateAuthority(`${tmp.dir}/ca`, { commonName: 'Federation CA', validDays: 30, keyBits: 2048 });
    otherCa = initCertificateAuthority(`${tmp.dir}/other`, { commonName: 'Federation CA', validDays: 30, keyBits: 2048 });
    const serverCert = ca.ensureServerCertificate();
    const resolve = createSiteIdResolver({ mode: 'mtls', ca, revocations: ca, now: () => clock() });
    started = await startServer(grpcServerCredentials(ca, serverCert), '127.0.0.1:0', resolve);
    target = `127.0.0.1:${started.port}`;
  });
  after(() => {
    started?.server.forceShutdown();
    tmp.cleanup();
  });

  test('a site calls with its certificate and the handler sees its id (never the metadata claim)', async () => {
    const site = makeSiteKeyAndCsr('hospital-b');
    const issued = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-a' });
    const md = new grpc.Metadata();
    md.set('x-site-id', 'hospital-b');
    assert.equal(await whoAmI(target, clientCredentials(ca, site.keyPem, issued.certificatePem), md), 'hospital-a');
    assert.equal(await whoAmI(`localhost:${started.port}`, clientCredentials(ca, site.keyPem, issued.certificatePem)), 'hospital-a');
  });

  test('a certificate from another CA is refused at the handshake', async () => {
    const site = makeSiteKeyAndCsr();
    const foreign = otherCa.signSiteCsr(site.csrPem, { siteId: 'hospital-a' });
    const before = started.handled();
    await rejectsWith(whoAmI(target, clientCredentials(ca, site.keyPem, foreign.certificatePem)), grpc.status.UNAVAILABLE);
    assert.equal(started.handled(), before, 'the handler never ran');
  });

  test('a client without a certificate is refused at the handshake', async () => {
    const before = started.handled();
    await rejectsWith(whoAmI(target, clientCredentials(ca)), grpc.status.UNAVAILABLE);
    await rejectsWith(whoAmI(target, grpc.credentials.createInsecure()), grpc.status.UNAVAILABLE);
    assert.equal(started.handled(), before, 'the handler never ran');
  });

  test('a revoked certificate is refused by siteIdFromCall', async () => {
    const site = makeSiteKeyAndCsr();
    const issued = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-c' });
    const creds = clientCredentials(ca, site.keyPem, issued.certificatePem);
    assert.equal(await whoAmI(target, creds), 'hospital-c');
    ca.revoke(issued.serial, 'test');
    const err = await rejectsWith(whoAmI(target, clientCredentials(ca, site.keyPem, issued.certificatePem)), grpc.status.UNAUTHENTICATED);
    assert.match(err.details, /revoked/);
  });

  test('an expired certificate is refused (at the handshake, and by siteIdFromCall with an injected clock)', async () => {
    const site = makeSiteKeyAndCsr();
    const past = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-d', validDays: 1, now: new Date(Date.now() - 5 * DAY) });
    await rejectsWith(whoAmI(target, clientCredentials(ca, site.keyPem, past.certificatePem)), grpc.status.UNAVAILABLE);

    const current = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-d', validDays: 1 });
    clock = () => new Date(Date.now() + 2 * DAY);
    try {
      const err = await rejectsWith(whoAmI(target, clientCredentials(ca, site.keyPem, current.certificatePem)), grpc.status.UNAUTHENTICATED);
      assert.match(err.details, /expired/);
    } finally {
      clock = () => new Date();
    }
    assert.equal(await whoAmI(target, clientCredentials(ca, site.keyPem, current.certificatePem)), 'hospital-d');
  });

  test('siteIdFromCall refuses a call without a TLS peer certificate', () => {
    const call: SiteCallLike = { getAuthContext: () => ({}), getPeer: () => '127.0.0.1:1', metadata: new grpc.Metadata() };
    assert.throws(() => siteIdFromCall(call, { ca, revocations: ca }), (e: unknown) => e instanceof SiteAuthenticationError && e.code === grpc.status.UNAUTHENTICATED);
  });
});

describe("client certificate 'optional' (Enroll on the same port)", () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());

  test('certificate-less clients reach the server but siteIdFromCall refuses them; certified sites are identified', async () => {
    const ca = initCertificateAuthority(`${tmp.dir}/ca`, { commonName: 'Federation CA', keyBits: 2048 });
    const other = initCertificateAuthority(`${tmp.dir}/other`, { commonName: 'Federation CA', keyBits: 2048 });
    const resolve = createSiteIdResolver({ mode: 'mtls', ca, revocations: ca });
    const started = await startServer(grpcServerCredentials(ca, ca.ensureServerCertificate(), { clientCertificate: 'optional' }), '127.0.0.1:0', resolve);
    try {
      const target = `127.0.0.1:${started.port}`;
      const site = makeSiteKeyAndCsr();
      // no certificate: the handshake succeeds (Enroll would work), identity does not
      const err = await rejectsWith(whoAmI(target, clientCredentials(ca)), grpc.status.UNAUTHENTICATED);
      assert.match(err.details, /no verified client certificate/);
      assert.equal(started.handled(), 1);
      // a certificate from another CA: accepted by TLS as "unauthorized", refused by siteIdFromCall
      const foreign = other.signSiteCsr(site.csrPem, { siteId: 'hospital-a' });
      await rejectsWith(whoAmI(target, clientCredentials(ca, site.keyPem, foreign.certificatePem)), grpc.status.UNAUTHENTICATED);
      const issued = ca.signSiteCsr(site.csrPem, { siteId: 'hospital-a' });
      assert.equal(await whoAmI(target, clientCredentials(ca, site.keyPem, issued.certificatePem)), 'hospital-a');
      assert.throws(() => grpcServerCredentials(ca, ca.ensureServerCertificate(), { clientCertificate: 'maybe' as 'optional' }), TypeError);
    } finally {
      started.server.forceShutdown();
    }
  });
});

describe('insecure mode (loopback only)', () => {
  test('refuses a non-loopback bind address', () => {
    for (const addr of ['0.0.0.0:50051', '[::]:50051', '10.1.2.3:50051', 'coordinator.example.org:50051', ':50051', '192.168.0.1']) {
      assert.throws(() => insecureLoopbackServerCredentials(addr), InsecureBindError, addr);
      assert.throws(() => createSiteIdResolver({ mode: 'insecure-loopback', bindAddress: addr }), InsecureBindError, addr);
    }
    for (const addr of ['127.0.0.1:50051', '[::1]:50051', 'localhost:50051', '127.0.0.2:1', 'localhost']) {
      assert.doesNotThrow(() => assertLoopbackBindAddress(addr), addr);
    }
    assert.ok(isLoopbackHost('::ffff:127.0.0.1') && !isLoopbackHost('::ffff:10.0.0.1') && !isLoopbackHost('127.0.0.1.evil.com'));
  });

  test('on loopback, the site id comes from x-site-id metadata', async () => {
    const bind = '127.0.0.1:0';
    const started = await startServer(insecureLoopbackServerCredentials(bind), bind, createSiteIdResolver({ mode: 'insecure-loopback', bindAddress: bind }));
    try {
      const target = `127.0.0.1:${started.port}`;
      const md = new grpc.Metadata();
      md.set('x-site-id', 'demo-site-1');
      assert.equal(await whoAmI(target, grpc.credentials.createInsecure(), md), 'demo-site-1');
      await rejectsWith(whoAmI(target, grpc.credentials.createInsecure()), grpc.status.UNAUTHENTICATED);
      const bad = new grpc.Metadata();
      bad.set('x-site-id', '../../etc');
      await rejectsWith(whoAmI(target, grpc.credentials.createInsecure(), bad), grpc.status.UNAUTHENTICATED);
    } finally {
      started.server.forceShutdown();
    }
  });
});
