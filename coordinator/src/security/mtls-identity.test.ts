// Identity over real mutual TLS: a coordinator started by startCoordinator with a CA made by
// initCertificateAuthority. Sites enrol on the enrolment port (server TLS, CSR), get a certificate
// once an admin approves them (through the REST API or SitesService), and from then on every call
// acts as the site the certificate names. The tests try to act as another site in every way a
// site can: metadata, another site's idempotency key, a certificate from a foreign CA, a revoked
// certificate, no certificate at all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { decodeSafetensors, encodeSafetensors } from '@fedciss/ml';
import { EnrollmentStatus, UploadState, type Task } from '@fedciss/proto';
import { TestSiteClient } from '../testing/site-client';
import { openStepTasks } from '../testing/test-federation';
import { SitesService } from '../sites/sites.service';
import { DatabaseService } from '../database/database.service';
import { initCertificateAuthority } from '../pki';
import { makeSiteKeyAndCsr, tempDir } from '../pki/testing';
import { assertSameSnapshot, enrolmentCredentials, enrolTlsSite, siteCredentials, snapshot, startHarness, type Harness, type TlsSite } from '../testing/security-harness';

const code = (expected: grpc.status) => (e: grpc.ServiceError) => {
  assert.equal(e.code, expected, `expected ${grpc.status[expected]}, got ${grpc.status[e.code]}: ${e.details}`);
  return true;
};

describe('site identity over mutual TLS', () => {
  let h: Harness;
  let a: TlsSite;
  let b: TlsSite;
  let task: Task;

  before(async () => {
    h = await startHarness({ tls: true, autoApprove: false, quorum: 2 });
    // A is approved through the REST API, B through SitesService.
    a = await enrolTlsSite(h, 'Hospital A', async (id) => {
      const r = await h.api('POST', `/api/sites/${id}/approve`);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    });
    b = await enrolTlsSite(h, 'Hospital B', async (id) => {
      await h.coordinator.app.get(SitesService).approve('admin', id);
    });
  });

  after(async () => {
    a?.client.close();
    b?.client.close();
    await h?.close();
  });

  const siteRow = (id: string) => h.coordinator.app.get(DatabaseService).prisma.site.findUniqueOrThrow({ where: { id } });

  test('the issued certificate names the site the coordinator chose, not what the CSR asked for', () => {
    assert.notEqual(a.siteId, b.siteId);
    assert.match(a.siteId, /^hospital-a-[0-9a-f]{8}$/);
    const cert = new (require('node:crypto').X509Certificate)(a.certificatePem);
    assert.match(cert.subject, new RegExp(`CN=${a.siteId}`));
    assert.ok(cert.checkIssued(new (require('node:crypto').X509Certificate)(h.ca!.certificatePem)));
  });

  test('a pending site gets no certificate, and the enrolment port serves nothing but Enroll', async () => {
    const { csrPem } = makeSiteKeyAndCsr('pending', { fresh: true });
    const enrol = new TestSiteClient(h.enrollAddress!, enrolmentCredentials(h.ca!.certificatePem));
    try {
      const r = await enrol.enroll('Hospital Pending', csrPem);
      assert.equal(r.status, EnrollmentStatus.ENROLLMENT_STATUS_PENDING);
      assert.equal(r.certificatePem, '');
      // Without a client certificate every other call on the enrolment port is refused, even naming an approved site.
      enrol.siteId = a.siteId;
      await assert.rejects(enrol.heartbeat(), code(grpc.status.UNAUTHENTICATED));
      await assert.rejects(enrol.getTask(), code(grpc.status.UNAUTHENTICATED));
      await assert.rejects(enrol.uploadStatus('key-a-000001'), code(grpc.status.UNAUTHENTICATED));
      await assert.rejects(enrol.download('anything'), code(grpc.status.UNAUTHENTICATED));
      await assert.rejects(
        enrol.upload({ idempotencyKey: 'key-pending-1', roundId: 'r', baseVersionId: 'v', kind: 'segmenter', samples: { realImages: 1, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} }, Buffer.from('x')),
        code(grpc.status.UNAUTHENTICATED),
      );
    } finally {
      enrol.close();
    }
    // A CSR that is not one is refused cleanly.
    const bad = new TestSiteClient(h.enrollAddress!, enrolmentCredentials(h.ca!.certificatePem));
    await assert.rejects(bad.enroll('Hospital Garbage', '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----'), code(grpc.status.INVALID_ARGUMENT));
    bad.close();
  });

  test('the federation port refuses a client without a certificate at the handshake', async () => {
    for (const creds of [enrolmentCredentials(h.ca!.certificatePem), grpc.credentials.createInsecure()]) {
      const c = new TestSiteClient(h.address, creds);
      c.siteId = a.siteId;
      await assert.rejects(c.heartbeat(), code(grpc.status.UNAVAILABLE));
      c.close();
    }
  });

  test('x-site-id metadata over TLS is ignored: a call acts as its certificate\'s site', async () => {
    assert.equal((await siteRow(b.siteId)).lastHeartbeatAt, null);
    a.client.siteId = b.siteId; // A claims to be B in the metadata
    await a.client.heartbeat('claiming-b');
    a.client.siteId = a.siteId;
    assert.equal((await siteRow(b.siteId)).lastHeartbeatAt, null, 'B\'s row was not touched');
    const rowA = await siteRow(a.siteId);
    assert.ok(rowA.lastHeartbeatAt);
    assert.equal(rowA.agentState, 'claiming-b');
    await b.client.heartbeat();
  });

  test('a site cannot read, resume or take over another site\'s upload, nor report as another', { timeout: 30_000 }, async () => {
    [task] = await openStepTasks(h.api, [a.client], ['liver']);
    const base = decodeSafetensors(await a.client.download(task.globalModel!.versionId)).tensors;
    const blob = encodeSafetensors(base);
    const header = { idempotencyKey: 'key-a-secret-0001', roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: 3, replayImages: 0, labelledPixels: 0 }, trainMetrics: {} };
    const partial = await a.client.upload(header, blob, { chunkBytes: 64, onlyChunks: 1 });
    assert.equal(partial.state, UploadState.UPLOAD_STATE_PARTIAL);
    assert.equal(partial.receivedBytes, 64);
    const before = await snapshot(h);

    // B asks for A's upload status: refused, also when its metadata names A.
    await assert.rejects(b.client.uploadStatus(header.idempotencyKey), code(grpc.status.PERMISSION_DENIED));
    b.client.siteId = a.siteId;
    await assert.rejects(b.client.uploadStatus(header.idempotencyKey), code(grpc.status.PERMISSION_DENIED));
    // B resumes A's upload with A's key (whole blob or from where A stopped): refused.
    await assert.rejects(b.client.upload(header, blob, { chunkBytes: 64 }), code(grpc.status.PERMISSION_DENIED));
    await assert.rejects(b.client.upload(header, blob, { chunkBytes: 64, offset: 64 }), code(grpc.status.PERMISSION_DENIED));
    b.client.siteId = b.siteId;
    assertSameSnapshot(await snapshot(h), before);

    // B's evaluation report is recorded as B's, whatever its metadata says.
    b.client.siteId = a.siteId;
    await b.client.reportEvaluation({ modelVersionId: task.globalModel!.versionId, roundId: task.roundId, images: 1, split: 'validation', evaluatedSiteModel: '', classes: [{ classId: 1, truePositive: 1, falsePositive: 0, falseNegative: 0 }] });
    b.client.siteId = b.siteId;
    const evals = await h.coordinator.app.get(DatabaseService).prisma.evaluation.findMany();
    assert.deepEqual(evals.map((e) => e.siteId), [b.siteId]);

    // So is its progress report.
    b.client.siteId = a.siteId;
    await new Promise<void>((resolve, reject) =>
      b.client.client.reportProgress({ roundId: task.roundId, phase: 'train', fraction: 0.5, metrics: {}, message: 'b pretending' }, (() => { const m = new grpc.Metadata(); m.set('x-site-id', a.siteId); return m; })(), (e) => (e ? reject(e) : resolve())),
    );
    b.client.siteId = b.siteId;
    const progress = ((await h.api('GET', '/api/overview')).body as { progress: Array<{ siteId: string; message: string }> }).progress;
    assert.deepEqual(progress.map((p) => [p.siteId, p.message]), [[b.siteId, 'b pretending']]);

    // A itself can still finish its upload, and B's own upload counts as B's.
    const done = await a.client.upload(header, blob, { chunkBytes: 64, offset: 64 });
    assert.equal(done.state, UploadState.UPLOAD_STATE_ACCEPTED, done.reason);
    assert.equal((await a.client.uploadStatus(header.idempotencyKey)).state, UploadState.UPLOAD_STATE_ACCEPTED);
    b.client.siteId = a.siteId;
    const own = await b.client.upload({ ...header, idempotencyKey: 'key-b-own-0001' }, blob);
    b.client.siteId = b.siteId;
    assert.equal(own.state, UploadState.UPLOAD_STATE_ACCEPTED, own.reason);
    const updates = await h.coordinator.app.get(DatabaseService).prisma.siteUpdate.findMany({ orderBy: { idempotencyKey: 'asc' } });
    assert.deepEqual(updates.map((u) => [u.idempotencyKey, u.siteId]), [['key-a-secret-0001', a.siteId], ['key-b-own-0001', b.siteId]]);
  });

  test('a certificate from a foreign CA with a real site\'s id is refused at the handshake', async () => {
    const dir = tempDir('foreign-ca-');
    try {
      const foreign = initCertificateAuthority(dir.dir, { commonName: 'security test CA', keyBits: 2048 });
      const { keyPem, csrPem } = makeSiteKeyAndCsr(a.siteId, { fresh: true });
      const forged = foreign.signSiteCsr(csrPem, { siteId: a.siteId });
      const c = new TestSiteClient(h.address, siteCredentials(h.ca!.certificatePem, keyPem, forged.certificatePem));
      c.siteId = a.siteId;
      const before = await snapshot(h);
      await assert.rejects(c.heartbeat(), code(grpc.status.UNAVAILABLE));
      await assert.rejects(c.uploadStatus('key-a-secret-0001'), code(grpc.status.UNAVAILABLE));
      c.close();
      // A's real certificate with another key cannot even be loaded: TLS needs the matching private key.
      assert.throws(() => siteCredentials(h.ca!.certificatePem, keyPem, a.certificatePem), /key values mismatch/);
      assertSameSnapshot(await snapshot(h), before);
    } finally {
      dir.cleanup();
    }
  });

  test('a revoked site is refused on every call and cannot enrol its key again', async () => {
    await a.client.heartbeat();
    const r = await h.api('POST', `/api/sites/${a.siteId}/revoke`);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.status, 'revoked');
    await assert.rejects(a.client.heartbeat(), code(grpc.status.UNAUTHENTICATED));
    await assert.rejects(a.client.getTask(), code(grpc.status.UNAUTHENTICATED));
    await assert.rejects(a.client.uploadStatus('key-a-secret-0001'), code(grpc.status.UNAUTHENTICATED));
    await assert.rejects(a.client.download(task.globalModel!.versionId), code(grpc.status.UNAUTHENTICATED));
    // Re-enrolling with the same key gives the same (revoked) site and no certificate.
    const enrol = new TestSiteClient(h.enrollAddress!, enrolmentCredentials(h.ca!.certificatePem));
    const again = await enrol.enroll('Hospital A', a.csrPem);
    assert.equal(again.siteId, a.siteId);
    assert.equal(again.status, EnrollmentStatus.ENROLLMENT_STATUS_REJECTED);
    assert.equal(again.certificatePem, '');
    enrol.close();
    const certs = await h.coordinator.app.get(DatabaseService).prisma.certificate.findMany({ where: { siteId: a.siteId } });
    assert.ok(certs.length >= 1 && certs.every((c) => c.revokedAt !== null));
    // B is unaffected.
    await b.client.heartbeat();
  });
});
