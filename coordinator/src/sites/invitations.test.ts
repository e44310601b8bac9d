// Invitations over the real enrolment port (server-side TLS) of a coordinator with a CA: only an
// invited site can enrol, the token is single-use, expires, is stored hashed, names the site, and
// every use and refusal is audited. The admin's approval still decides.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { status } from '@grpc/grpc-js';
import { enrolmentCredentials, startHarness, VIEWER_PASSWORD, type Harness } from '../testing/security-harness';
import { TestSiteClient } from '../testing/site-client';
import { makeSiteKeyAndCsr } from '../pki/testing';
import { DatabaseService } from '../database/database.service';
import { AdminAuthService } from '../auth/admin-auth.service';
import { InvitationsService, type InvitationBundle } from './invitations.service';

describe('invitations: only invited sites enrol', { timeout: 120_000 }, () => {
  let h: Harness;
  let enrol: TestSiteClient;
  const prisma = () => h.coordinator.app.get(DatabaseService).prisma;
  const invite = (name: string, hours = 1) => h.coordinator.app.get(InvitationsService).create('test-operator', { siteName: name, expiresHours: hours, federationAddress: 'coord.example:50051', enrollAddress: 'coord.example:50052' });
  const refusal = async (p: Promise<unknown>) => {
    const e = (await p.then(() => assert.fail('enrolment should be refused'), (err: unknown) => err)) as { code: number; details: string };
    assert.equal(e.code, status.PERMISSION_DENIED, e.details);
    return e.details;
  };

  before(async () => {
    h = await startHarness({ tls: true, autoApprove: false, invitations: true });
    enrol = new TestSiteClient(h.enrollAddress!, enrolmentCredentials(h.ca!.certificatePem));
  });
  after(async () => {
    enrol?.close();
    await h?.close();
  });

  test('a request without a token, or with a malformed or forged one, is refused, audited, and creates no site', async () => {
    const { csrPem } = makeSiteKeyAndCsr('uninvited', { fresh: true });
    assert.match(await refusal(enrol.enroll('Uninvited Hospital', csrPem)), /invited sites only/);
    assert.match(await refusal(enrol.enroll('Uninvited Hospital', csrPem, { invitationToken: 'not-a-token' })), /malformed/);
    const real = await invite('Hospital Forged');
    const forged = real.token.slice(0, -4) + (real.token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.match(await refusal(enrol.enroll('Hospital Forged', csrPem, { invitationToken: forged })), /not valid/);
    assert.equal(await prisma().site.count(), 0);
    const refusals = await prisma().auditEntry.findMany({ where: { action: 'invitation.refuse' } });
    assert.equal(refusals.length, 3);
    for (const r of refusals) assert.doesNotMatch(JSON.stringify(r.details) + r.target, /fedinv1\./, 'no token in the audit log');
  });

  test('the bundle carries the CA, its fingerprint, the endpoints and a token stored only as a hash', async () => {
    const bundle: InvitationBundle = await invite('Hospital A', 48);
    assert.equal(bundle.format, 'fedciss-invitation/1');
    assert.equal(bundle.caCertificatePem, h.ca!.certificatePem);
    assert.equal(bundle.caFingerprint256, h.ca!.fingerprint256);
    assert.deepEqual([bundle.federationAddress, bundle.enrollAddress], ['coord.example:50051', 'coord.example:50052']);
    const hours = (Date.parse(bundle.expiresAt) - Date.now()) / 3600_000;
    assert.ok(hours > 47.9 && hours <= 48, `expires in ${hours} h`);
    const row = await prisma().invitation.findUniqueOrThrow({ where: { id: bundle.invitationId } });
    assert.match(row.tokenHash, /^[0-9a-f]{64}$/);
    const everything = JSON.stringify(await prisma().invitation.findMany()) + JSON.stringify(await prisma().auditEntry.findMany({ select: { details: true, target: true } }));
    assert.ok(!everything.includes(bundle.token.split('.')[2]!), 'the secret is nowhere in the database');
  });

  test('an invited site enrols once, under the invited name; the token cannot be used again; the admin approves', async () => {
    const bundle = await invite('Hospital B');
    const site = makeSiteKeyAndCsr('b', { fresh: true });
    const first = await enrol.enroll('Some Other Name', site.csrPem, { invitationToken: bundle.token });
    assert.equal(first.certificatePem, '', 'pending until an admin approves');
    const row = await prisma().site.findUniqueOrThrow({ where: { id: first.siteId } });
    assert.equal(row.displayName, 'Hospital B', 'the invitation names the site');
    assert.equal(row.status, 'pending');
    const used = await prisma().invitation.findUniqueOrThrow({ where: { id: bundle.invitationId } });
    assert.equal(used.siteId, first.siteId);
    assert.ok(used.usedAt);
    assert.equal(await prisma().auditEntry.count({ where: { action: 'invitation.use', target: bundle.invitationId } }), 1);

    // a second key with the same token: refused, nothing created
    const other = makeSiteKeyAndCsr('b2', { fresh: true });
    assert.match(await refusal(enrol.enroll('Hospital B', other.csrPem, { invitationToken: bundle.token })), /already used/);
    // the same key polls without the token and gets its certificate once approved
    const approved = await h.api('POST', `/api/sites/${first.siteId}/approve`);
    assert.equal(approved.status, 201, JSON.stringify(approved.body));
    const again = await enrol.enroll('Some Other Name', site.csrPem);
    assert.equal(again.siteId, first.siteId);
    assert.match(again.certificatePem, /BEGIN CERTIFICATE/);
  });

  test('an expired invitation is refused', async () => {
    const bundle = await invite('Hospital C');
    await prisma().invitation.update({ where: { id: bundle.invitationId }, data: { expiresAt: new Date(Date.now() - 1000) } });
    assert.match(await refusal(enrol.enroll('Hospital C', makeSiteKeyAndCsr('c', { fresh: true }).csrPem, { invitationToken: bundle.token })), /expired/);
    const listed = (await h.api('GET', '/api/sites/invitations')).body as Array<{ id: string; state: string }>;
    assert.equal(listed.find((i) => i.id === bundle.invitationId)?.state, 'expired');
  });

  test('REST: an admin invites (the answer is the bundle), a viewer may not, bad input is a 400', async () => {
    const made = await h.api('POST', '/api/sites/invitations', { name: 'Hospital D', expiresHours: 24, federationAddress: 'fl.example.org:443' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    assert.equal((made.body as InvitationBundle).siteName, 'Hospital D');
    assert.match((made.body as InvitationBundle).token, /^fedinv1\./);
    assert.equal((made.body as InvitationBundle).enrollAddress, 'fl.example.org:444', 'the enrolment port defaults to the federation port + 1, as the agent assumes');
    const bad = await h.api('POST', '/api/sites/invitations', { name: 'Hospital E', expiresHours: 100000 });
    assert.equal(bad.status, 400);
    await h.coordinator.app.get(AdminAuthService).createUser('test', 'viewer', VIEWER_PASSWORD, 'viewer');
    const viewer = await h.signIn('viewer', VIEWER_PASSWORD);
    assert.equal((await h.api('POST', '/api/sites/invitations', { name: 'Hospital F' }, viewer)).status, 403);
    assert.equal((await h.api('GET', '/api/sites/invitations', undefined, viewer)).status, 403);
  });
});
