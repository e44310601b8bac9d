// The audit log: every admin action of the REST API (user creation, sign-in and sign-out, roster
// changes that open a step, site approval with its certificate, rejection, revocation) leaves an
// entry with who, when and what; failed sign-ins are recorded; refused actions leave none; only an
// admin may read the log.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EnrollmentStatus } from '@fedciss/proto';
import { TestSiteClient } from '../testing/site-client';
import { makeSiteKeyAndCsr } from '../pki/testing';
import { enrolmentCredentials, enrolTlsSite, startHarness, VIEWER_PASSWORD, type Harness } from '../testing/security-harness';

interface Entry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown>;
}

describe('audit log', () => {
  let h: Harness;
  let startedAt = 0;

  before(async () => {
    startedAt = Date.now();
    h = await startHarness({ tls: true, autoApprove: false, quorum: 1 });
  });

  after(async () => {
    await h?.close();
  });

  /** Entries newer than `sinceId`, oldest first. */
  const entriesSince = async (sinceId: number): Promise<Entry[]> => {
    const r = await h.api('GET', '/api/audit?limit=1000');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return (r.body as Entry[]).filter((e) => e.id > sinceId).reverse();
  };
  const lastId = async () => ((await h.api('GET', '/api/audit?limit=1')).body as Entry[])[0]?.id ?? 0;
  /** Performs `action` and returns exactly the audit entries it added. */
  const audited = async (action: () => Promise<unknown>): Promise<Entry[]> => {
    const since = await lastId();
    const t0 = Date.now();
    await action();
    const entries = await entriesSince(since);
    for (const e of entries) {
      const at = Date.parse(e.at);
      assert.ok(at >= t0 - 1000 && at <= Date.now() + 1000, `entry ${e.id} is dated ${e.at}, outside the action's time`);
    }
    return entries;
  };
  const ok = async (method: string, path: string, body?: unknown, token?: string) => {
    const r = await h.api(method, path, body, token);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const shape = (entries: Entry[]) => entries.map((e) => [e.actor, e.action, e.target]);

  test('the admin\'s own creation and sign-in are on record', async () => {
    const all = await entriesSince(0);
    assert.deepEqual(shape(all).slice(0, 2), [['test', 'user.create', 'admin'], ['admin', 'auth.sign-in', 'admin']]);
    assert.equal(all[0]!.details.role, 'admin');
    assert.ok(Date.parse(all[0]!.at) >= startedAt - 1000);
  });

  test('user creation, sign-in, failed sign-in and sign-out are audited', async () => {
    const created = await audited(() => ok('POST', '/api/auth/users', { username: 'viewer', password: VIEWER_PASSWORD, role: 'viewer' }));
    assert.deepEqual(shape(created), [['admin', 'user.create', 'viewer']]);
    assert.deepEqual(created[0]!.details, { role: 'viewer' });
    assert.ok(!JSON.stringify(created).includes(VIEWER_PASSWORD), 'the password is not in the log');

    let token = '';
    const signedIn = await audited(async () => (token = await h.signIn('viewer', VIEWER_PASSWORD)));
    assert.deepEqual(shape(signedIn), [['viewer', 'auth.sign-in', 'viewer']]);
    assert.ok(!JSON.stringify(signedIn).includes(token), 'the session token is not in the log');

    const failed = await audited(async () => assert.equal((await h.api('POST', '/api/auth/sign-in', { username: 'viewer', password: 'wrong password here' }, '')).status, 401));
    assert.deepEqual(shape(failed), [['anonymous', 'auth.sign-in-failed', 'viewer']]);
    assert.ok(!JSON.stringify(failed).includes('wrong password here'), 'the tried password is not in the log');

    const signedOut = await audited(() => ok('POST', '/api/auth/sign-out', undefined, token));
    assert.deepEqual(shape(signedOut), [['viewer', 'auth.sign-out', 'viewer']]);
    assert.equal((await h.api('GET', '/api/auth/me', undefined, token)).status, 401, 'the session is gone');
  });

  test('only an admin reads the audit log; refused actions leave no entry', async () => {
    const since = await lastId();
    const viewer = await h.signIn('viewer', VIEWER_PASSWORD);
    assert.equal((await h.api('GET', '/api/audit', undefined, viewer)).status, 403);
    assert.equal((await h.api('GET', '/api/audit', undefined, '')).status, 401);
    assert.equal((await h.api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] }, viewer)).status, 403);
    assert.equal((await h.api('POST', '/api/auth/users', { username: 'mallory', password: 'mallory password 123', role: 'admin' }, viewer)).status, 403);
    assert.equal((await h.api('POST', '/api/sites/anything/approve', undefined, viewer)).status, 403);
    assert.equal((await h.api('POST', '/api/roster/classes', { classes: [{ name: 'Bad Name' }] })).status, 400);
    const after = await entriesSince(since);
    // Only the viewer's sign-in above.
    assert.deepEqual(shape(after), [['viewer', 'auth.sign-in', 'viewer']]);
  });

  test('roster changes and the steps they open are audited', async () => {
    const added = await audited(() => ok('POST', '/api/roster/classes', { classes: [{ name: 'liver', color: '#aa0000' }, { name: 'colon' }] }));
    const byAction = (a: string) => added.filter((e) => e.action === a);
    assert.deepEqual(shape(byAction('step.open')), [['admin', 'step.open', 'step 0']]);
    assert.deepEqual(byAction('step.open')[0]!.details.classes, ['liver', 'colon']);
    assert.deepEqual(shape(byAction('roster.add')), [['admin', 'roster.add', 'liver'], ['admin', 'roster.add', 'colon']]);
    assert.equal(byAction('roster.add')[0]!.details.color, '#aa0000');

    const roster = (await ok('GET', '/api/roster')) as Array<{ id: number; name: string }>;
    const liver = roster.find((c) => c.name === 'liver')!;
    const archived = await audited(() => ok('PATCH', `/api/roster/classes/${liver.id}`, { archived: true }));
    assert.deepEqual(shape(archived), [['admin', 'roster.archive', 'liver']]);
    const restored = await audited(() => ok('PATCH', `/api/roster/classes/${liver.id}`, { archived: false }));
    assert.deepEqual(shape(restored), [['admin', 'roster.unarchive', 'liver']]);
  });

  test('enrolment, approval with its certificate, rejection and revocation are audited', async () => {
    let siteId = '';
    let approval: Entry[] = [];
    const enrolled = await audited(async () => {
      await enrolTlsSite(h, 'Hospital A', async (id) => {
        siteId = id;
        approval = await audited(() => ok('POST', `/api/sites/${id}/approve`));
      }).then((s) => s.client.close());
    });
    assert.deepEqual(shape(enrolled.filter((e) => e.action === 'site.enroll')), [[`site:${siteId}`, 'site.enroll', siteId]]);
    assert.deepEqual(shape(approval).sort(), [['admin', 'certificate.issue', siteId], ['admin', 'site.approve', siteId]]);
    const issued = approval.find((e) => e.action === 'certificate.issue')!;
    assert.match(String(issued.details.serial), /^[0-9a-f]+$/i);
    assert.ok(Date.parse(String(issued.details.notAfter)) > Date.now());

    const { csrPem } = makeSiteKeyAndCsr('b', { fresh: true });
    const enrol = new TestSiteClient(h.enrollAddress!, enrolmentCredentials(h.ca!.certificatePem));
    const b = await enrol.enroll('Hospital B', csrPem);
    enrol.close();
    assert.equal(b.status, EnrollmentStatus.ENROLLMENT_STATUS_PENDING);
    const rejected = await audited(() => ok('POST', `/api/sites/${b.siteId}/reject`));
    assert.deepEqual(shape(rejected), [['admin', 'site.reject', b.siteId]]);

    const revoked = await audited(() => ok('POST', `/api/sites/${siteId}/revoke`));
    assert.deepEqual(shape(revoked), [['admin', 'site.revoke', siteId]]);
    assert.deepEqual(revoked[0]!.details.serials, [issued.details.serial], 'the revoked certificate is named');

    // An action that fails (approving a revoked site) leaves no entry.
    const none = await audited(async () => assert.equal((await h.api('POST', `/api/sites/${siteId}/approve`)).status, 409));
    assert.deepEqual(none, []);
  });
});
