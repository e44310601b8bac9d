import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';

import {
  ACTIONS,
  ForbiddenError,
  InMemorySessionStore,
  assertCan,
  can,
  checkPasswordPolicy,
  createSession,
  hashPassword,
  hashSessionToken,
  isSessionExpired,
  needsRehash,
  parseBearerToken,
  parsePasswordHash,
  resolveSession,
  verifyPassword,
} from './index';

describe('password hashing (scrypt)', () => {
  test('hash/verify: right password verifies, wrong one does not', async () => {
    const h = await hashPassword('correct horse battery staple');
    assert.equal(await verifyPassword('correct horse battery staple', h), true);
    assert.equal(await verifyPassword('correct horse battery stapl', h), false);
    assert.equal(await verifyPassword('Correct horse battery staple', h), false);
    assert.equal(await verifyPassword('', h), false);
  });

  test('the hash string names the algorithm and its parameters; two hashes of one password differ', async () => {
    const a = await hashPassword('s3cret-password');
    const b = await hashPassword('s3cret-password');
    assert.match(a, /^\$scrypt\$ln=15,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
    assert.notEqual(a, b);
    assert.notEqual(a.split('$')[3], b.split('$')[3], 'different salts');
    assert.ok(await verifyPassword('s3cret-password', b));
    assert.deepEqual(parsePasswordHash(a)?.params, { ln: 15, r: 8, p: 1 });
  });

  test('custom parameters are encoded, honoured by verify, and flagged by needsRehash', async () => {
    const cheap = await hashPassword('another password', { ln: 12, r: 8, p: 1 });
    assert.match(cheap, /^\$scrypt\$ln=12,r=8,p=1\$/);
    assert.ok(await verifyPassword('another password', cheap));
    assert.equal(needsRehash(cheap), true);
    assert.equal(needsRehash(await hashPassword('x-password-1')), false);
    await assert.rejects(hashPassword('x', { ln: 30, r: 8, p: 1 }), RangeError);
  });

  test('malformed or hostile stored hashes verify as false without throwing', async () => {
    const good = await hashPassword('pw-for-tamper');
    const tampered = good.slice(0, -2) + (good.endsWith('A') ? 'BA' : 'AA');
    for (const stored of ['', 'plain', '$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', good.replace('scrypt', 'bcrypt'), tampered]) {
      assert.equal(await verifyPassword('pw-for-tamper', stored), false, stored);
    }
    assert.equal(await verifyPassword(42 as unknown as string, good), false);
    await assert.rejects(hashPassword(''), RangeError);
    await assert.rejects(hashPassword('x'.repeat(2000)), RangeError);
  });

  test('password policy', () => {
    assert.deepEqual(checkPasswordPolicy('a long enough pass'), []);
    assert.ok(checkPasswordPolicy('short').length > 0);
    assert.ok(checkPasswordPolicy('aaaaaaaaaaaaaa').length > 0);
    assert.ok(checkPasswordPolicy('admin-is-my-name', { username: 'Admin' }).length > 0);
  });
});

describe('session tokens', () => {
  test('32 random bytes, only the SHA-256 is stored', () => {
    const { token, record } = createSession('alice', 'admin');
    assert.equal(Buffer.from(token, 'base64url').length, 32);
    assert.equal(record.tokenHash, createHash('sha256').update(token).digest('hex'));
    assert.ok(!JSON.stringify(record).includes(token));
    assert.notEqual(createSession('alice', 'admin').token, token);
    assert.throws(() => hashSessionToken('nope'), TypeError);
  });

  test('expiry', () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const { token, record } = createSession('bob', 'viewer', { ttlMs: 60_000, now });
    const table = new Map([[record.tokenHash, record]]);
    const lookup = (h: string) => table.get(h);
    assert.equal(resolveSession(token, lookup, new Date(now.getTime() + 59_999))?.userId, 'bob');
    assert.equal(resolveSession(token, lookup, new Date(now.getTime() + 60_000)), null);
    assert.ok(isSessionExpired(record, new Date(now.getTime() + 60_001)));
    assert.equal(resolveSession('x'.repeat(43), lookup, now), null);
    assert.equal(resolveSession(undefined, lookup, now), null);
    assert.throws(() => createSession('bob', 'viewer', { ttlMs: -1 }), RangeError);
    assert.throws(() => createSession('bob', 'root' as 'admin'), TypeError);
  });

  test('in-memory store: validate, logout, revoke a user, purge', () => {
    const store = new InMemorySessionStore();
    const now = new Date();
    const a = store.create('alice', 'admin', { now });
    const b = store.create('bob', 'viewer', { now, ttlMs: 1000 });
    assert.equal(store.validate(a, now)?.role, 'admin');
    assert.equal(store.validate(b, new Date(now.getTime() + 1000)), null);
    assert.equal(store.size, 1, 'expired session dropped on validate');
    assert.ok(store.revoke(a));
    assert.equal(store.validate(a, now), null);
    store.create('carol', 'viewer', { now });
    store.create('carol', 'viewer', { now });
    assert.equal(store.revokeUser('carol'), 2);
    store.create('dave', 'viewer', { now, ttlMs: 10 });
    assert.equal(store.purgeExpired(new Date(now.getTime() + 11)), 1);
  });

  test('bearer header parsing', () => {
    const { token } = createSession('alice', 'admin');
    assert.equal(parseBearerToken(`Bearer ${token}`), token);
    assert.equal(parseBearerToken(`bearer ${token}`), token);
    assert.equal(parseBearerToken(`Basic ${token}`), null);
    assert.equal(parseBearerToken('Bearer abc'), null);
    assert.equal(parseBearerToken(undefined), null);
  });
});

describe('roles', () => {
  test('admin may do everything, viewer may only read', () => {
    for (const action of ACTIONS) assert.equal(can('admin', action), true, action);
    assert.equal(can('viewer', 'read'), true);
    for (const action of ACTIONS.filter((a) => a !== 'read')) assert.equal(can('viewer', action), false, action);
  });

  test('unknown roles and actions are denied', () => {
    assert.equal(can('root', 'read'), false);
    assert.equal(can(undefined, 'read'), false);
    assert.equal(can('admin', 'delete-everything'), false);
    assert.equal(can('admin', '__proto__'), false);
    assert.throws(() => assertCan('viewer', 'roster:write'), ForbiddenError);
    assert.doesNotThrow(() => assertCan('admin', 'roster:write'));
  });
});
