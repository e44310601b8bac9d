// Enrolment is the one call that needs no certificate, so everything about it is bounded: its
// fields, the pending requests from one address and in total, their lifetime; and a revoked key
// cannot come back under another name.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { EnrollmentStatus } from '@fedciss/proto';
import { TestSiteClient } from '../testing/site-client';
import { DatabaseService } from '../database/database.service';
import { makeSiteKeyAndCsr } from '../pki/testing';
import { assertSameSnapshot, enrolmentCredentials, enrolTlsSite, snapshot, startHarness, type Harness } from '../testing/security-harness';

const code = (expected: grpc.status, details?: RegExp) => (e: grpc.ServiceError) => {
  assert.equal(e.code, expected, `expected ${grpc.status[expected]}, got ${grpc.status[e.code]}: ${e.details}`);
  if (details) assert.match(e.details, details);
  return true;
};

describe('enrolment bounds (pending requests, capabilities)', () => {
  let h: Harness;
  let client: TestSiteClient;
  before(async () => {
    h = await startHarness({ tls: false, autoApprove: false });
    client = new TestSiteClient(h.address);
  });
  after(async () => {
    client?.close();
    await h?.close();
  });

  test('capabilities are bounded and only their known fields are stored', async () => {
    const before = await snapshot(h);
    await assert.rejects(client.enroll('Hospital Big', '', { capabilities: { executionProviders: ['cpu'], agentVersion: 'v'.repeat(3 * 1024 * 1024) } }), code(grpc.status.INVALID_ARGUMENT, /^enroll: capabilities\.agentVersion is longer than 64 characters/));
    await assert.rejects(client.enroll('Hospital Many', '', { capabilities: { executionProviders: Array.from({ length: 9 }, (_, i) => `ep${i}`), agentVersion: '1' } }), code(grpc.status.INVALID_ARGUMENT, /execution_providers has 9 entries \(at most 8\)/));
    await assert.rejects(client.enroll('Hospital \u0000', ''), code(grpc.status.INVALID_ARGUMENT, /displayName contains a NUL character/));
    await assert.rejects(client.enroll('Hospital', '', { capabilities: { executionProviders: ['c'.repeat(33)], agentVersion: '1' } }), code(grpc.status.INVALID_ARGUMENT, /capabilities\.executionProviders\[0\] is 33 characters long \(at most 32\)/));
    assertSameSnapshot(await snapshot(h), before);
  });

  test('pending requests are capped per address and in total; a pending site asking again is not counted twice', async () => {
    h.config.enrollment.maxPendingPerAddress = 3;
    h.config.enrollment.maxPending = 100;
    for (const n of [1, 2, 3]) assert.equal((await client.enroll(`Flood ${n}`)).status, EnrollmentStatus.ENROLLMENT_STATUS_PENDING);
    assert.equal((await client.enroll('Flood 1')).status, EnrollmentStatus.ENROLLMENT_STATUS_PENDING, 'the same site polling again');
    const before = await snapshot(h);
    await assert.rejects(client.enroll('Flood 4'), code(grpc.status.RESOURCE_EXHAUSTED, /3 enrolment requests from this address are already waiting/));
    h.config.enrollment.maxPendingPerAddress = 10;
    h.config.enrollment.maxPending = 3;
    await assert.rejects(client.enroll('Flood 5'), code(grpc.status.RESOURCE_EXHAUSTED, /at most 3\); try again later/));
    assertSameSnapshot(await snapshot(h), before);
    // An admin rejecting one frees its place.
    const pending = await h.api('GET', '/api/sites');
    const first = (pending.body as Array<{ id: string; displayName: string; capabilities: unknown }>).find((s) => s.displayName === 'Flood 1')!;
    assert.deepEqual(first.capabilities, { executionProviders: ['cpu'], agentVersion: 'test' });
    assert.equal((await h.api('POST', `/api/sites/${first.id}/reject`)).status, 201);
    assert.equal((await client.enroll('Flood 5')).status, EnrollmentStatus.ENROLLMENT_STATUS_PENDING);
  });

  test('pending requests expire: they are removed and audited, and their places are free again', async () => {
    h.config.enrollment.maxPending = 3;
    h.config.enrollment.pendingExpirySeconds = 1;
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal((await client.enroll('Late 1')).status, EnrollmentStatus.ENROLLMENT_STATUS_PENDING);
    const prisma = h.coordinator.app.get(DatabaseService).prisma;
    const names = (await prisma.site.findMany({ where: { status: 'pending' } })).map((s) => s.displayName);
    assert.deepEqual(names, ['Late 1']);
    assert.equal(await prisma.auditEntry.count({ where: { action: 'site.enroll-expired' } }), 3);
    assert.equal(await prisma.site.count({ where: { status: 'rejected' } }), 1, 'decided requests do not expire');
  });
});

describe('revocation covers the key', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ tls: true, autoApprove: false });
  });
  after(async () => {
    await h?.close();
  });

  test('a revoked site\'s key cannot enrol again under another name', async () => {
    const approve = async (id: string) => assert.equal((await h.api('POST', `/api/sites/${id}/approve`)).status, 201);
    const site = await enrolTlsSite(h, 'Hospital K', approve);
    site.client.close();
    assert.equal((await h.api('POST', `/api/sites/${site.siteId}/revoke`)).status, 201);
    const before = await snapshot(h);
    const enrol = new TestSiteClient(h.enrollAddress!, enrolmentCredentials(h.ca!.certificatePem));
    try {
      await assert.rejects(enrol.enroll('Hospital K Renamed', site.csrPem), code(grpc.status.PERMISSION_DENIED, /revoked/));
      // The same name and key: the revoked site's own answer.
      assert.equal((await enrol.enroll('Hospital K', site.csrPem)).status, EnrollmentStatus.ENROLLMENT_STATUS_REJECTED);
      assertSameSnapshot(await snapshot(h), before);
      // A new key pair is a new request.
      const fresh = makeSiteKeyAndCsr('Hospital K', { fresh: true });
      assert.equal((await enrol.enroll('Hospital K Renamed', fresh.csrPem)).status, EnrollmentStatus.ENROLLMENT_STATUS_PENDING);
    } finally {
      enrol.close();
    }
  });
});
