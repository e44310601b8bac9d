// Hardened inputs: random bytes as the serialized request of every gRPC method (unary, server
// stream, client stream), messages over the size limit, oversized chunks, uploads larger than the
// model, every header and report field out of range, per-site rate limits, and random JSON, wrong
// types and huge bodies on every REST endpoint. Each gets a clean error status, and a snapshot of
// every table shows that nothing changed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { DownloadRequest, MAX_CHUNK_BYTES, sha256Hex, UploadHeader, UploadMessage, UploadState, type ReplaySkipReason, type Task } from '@fedciss/proto';
import { TestSiteClient } from '../testing/site-client';
import { openStepTasks } from '../testing/test-federation';
import { DatabaseService } from '../database/database.service';
import { assertSameSnapshot, randomBytesFrom, snapshot, startHarness, VIEWER_PASSWORD, type Harness } from '../testing/security-harness';

const SERVICE = '/fedciss.v1.Federation/';
const UNARY = ['Enroll', 'Heartbeat', 'GetTask', 'GetUploadStatus', 'ReportEvaluation', 'ReportProgress', 'ReportWithheld', 'SecAggAdvertise', 'SecAggShareKeys', 'SecAggReveal'];
const identity = (x: Buffer) => x;

/** What a clean refusal looks like: a definite status, never UNKNOWN, a hang, or an internal failure of the coordinator. */
const CLEAN = new Set([
  grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED,
  grpc.status.FAILED_PRECONDITION, grpc.status.RESOURCE_EXHAUSTED,
]);

let malformedSeen = 0;

function assertClean(method: string, e: grpc.ServiceError | null): void {
  const c = e?.code ?? grpc.status.OK;
  if (c === grpc.status.INVALID_ARGUMENT && /not a valid protobuf message/.test(e!.details)) malformedSeen++;
  assert.ok(CLEAN.has(c), `${method}: unclean status ${grpc.status[c]}: ${e?.details}`);
}

const code = (expected: grpc.status, details?: RegExp) => (e: grpc.ServiceError) => {
  assert.equal(e.code, expected, `expected ${grpc.status[expected]}, got ${grpc.status[e.code]}: ${e.details}`);
  if (details) assert.match(e.details, details);
  return true;
};

describe('hardened inputs', () => {
  let h: Harness;
  let a: TestSiteClient;
  let b: TestSiteClient;
  let raw: grpc.Client;
  let task: Task;
  let model: Buffer;
  let viewerToken = '';
  const md = (siteId: string) => {
    const m = new grpc.Metadata();
    m.set('x-site-id', siteId);
    return m;
  };
  const deadline = () => ({ deadline: Date.now() + 20_000 });

  const rawUnary = (method: string, body: Buffer, siteId: string) =>
    new Promise<grpc.ServiceError | null>((resolve) => raw.makeUnaryRequest(SERVICE + method, identity, identity, body, md(siteId), deadline(), (e) => resolve(e)));
  const rawServerStream = (method: string, body: Buffer, siteId: string) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.makeServerStreamRequest(SERVICE + method, identity, identity, body, md(siteId), deadline());
      call.on('data', () => undefined);
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.on('status', (s: grpc.StatusObject) => s.code === grpc.status.OK && resolve(null));
    });
  const rawClientStream = (method: string, bodies: Buffer[], siteId: string) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.makeClientStreamRequest(SERVICE + method, identity, identity, md(siteId), deadline(), (e) => resolve(e));
      for (const body of bodies) call.write(body);
      call.end();
    });

  before(async () => {
    h = await startHarness({ tls: false, autoApprove: true, quorum: 2 });
    a = new TestSiteClient(h.address);
    b = new TestSiteClient(h.address);
    await a.enroll('Hospital A');
    await b.enroll('Hospital B');
    await a.heartbeat();
    await b.heartbeat();
    raw = new grpc.Client(h.address, grpc.credentials.createInsecure());
    const created = await h.api('POST', '/api/auth/users', { username: 'viewer', password: VIEWER_PASSWORD, role: 'viewer' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    viewerToken = await h.signIn('viewer', VIEWER_PASSWORD);
    [task] = await openStepTasks(h.api, [a], ['liver', 'colon']);
    model = await a.download(task.globalModel!.versionId);
  });

  after(async () => {
    a?.close();
    b?.close();
    raw?.close();
    await h?.close();
  });

  const header = (over: Partial<UploadHeader> = {}): UploadHeader => ({
    idempotencyKey: 'key-a-valid-0001', roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter',
    samples: { realImages: 4, replayImages: 0, labelledPixels: 0 }, totalBytes: model.length, sha256: sha256Hex(model), trainMetrics: {}, resumeOffset: 0, ...over,
  });

  test('random bytes on every gRPC method give a clean status and change nothing', { timeout: 60_000 }, async () => {
    const before = await snapshot(h);
    const rnd = randomBytesFrom(11);
    const sizes = [0, 1, 2, 3, 5, 8, 16, 31, 64, 100, 257, 1000, 4096];
    for (const method of UNARY) {
      // Enroll is rate-limited per peer address (30 a minute): fewer tries there.
      for (const n of method === 'Enroll' ? sizes.slice(0, 8) : sizes) assertClean(method, await rawUnary(method, rnd(n), a.siteId));
    }
    for (const n of sizes) assertClean('DownloadModel', await rawServerStream('DownloadModel', rnd(n), a.siteId));
    for (const n of sizes) {
      // random first message; a valid header followed by random messages; a random stream of several messages
      assertClean('UploadUpdate', await rawClientStream('UploadUpdate', [rnd(n)], a.siteId));
      assertClean('UploadUpdate', await rawClientStream('UploadUpdate', [rnd(n), rnd(n + 7), rnd(3)], a.siteId));
    }
    assert.ok(malformedSeen >= 20, `only ${malformedSeen} calls were refused as malformed protobuf`);
    assertSameSnapshot(await snapshot(h), before);
  });

  test('a valid upload header followed by random bytes leaves at most an empty resumable upload', async () => {
    const rnd = randomBytesFrom(5);
    const head = Buffer.from(UploadMessage.encode({ header: header({ idempotencyKey: 'key-a-random-tail' }) }).finish());
    for (const n of [1, 9, 100, 1000]) assertClean('UploadUpdate', await rawClientStream('UploadUpdate', [head, rnd(n)], a.siteId));
    const status = await a.uploadStatus('key-a-random-tail');
    assert.equal(status.receivedBytes, 0, 'no random byte was taken as part of the update');
    assert.notEqual(status.state, UploadState.UPLOAD_STATE_ACCEPTED);
  });

  test('a message over the gRPC size limit is refused before it is parsed', async () => {
    const before = await snapshot(h);
    const big = randomBytesFrom(3)(4 * 1024 * 1024 + 1);
    for (const method of ['Heartbeat', 'GetUploadStatus', 'ReportEvaluation']) {
      const e = await rawUnary(method, big, a.siteId);
      assert.equal(e?.code, grpc.status.RESOURCE_EXHAUSTED, `${method}: ${e?.details}`);
    }
    const e = await rawClientStream('UploadUpdate', [Buffer.from(UploadMessage.encode({ header: header({ idempotencyKey: 'key-a-big-msg-01' }) }).finish()), big], a.siteId);
    assert.equal(e?.code, grpc.status.RESOURCE_EXHAUSTED, e?.details);
    const state = await a.uploadStatus('key-a-big-msg-01');
    assert.equal(state.receivedBytes, 0);
    // Only that one empty upload row may have appeared.
    const after = await snapshot(h);
    assert.deepEqual({ ...after, siteUpdate: '' }, { ...before, siteUpdate: '' });
  });

  test('chunk size and total upload size are bounded', async () => {
    // A chunk over MAX_CHUNK_BYTES (but under the message limit) is refused.
    const huge = Buffer.alloc(MAX_CHUNK_BYTES + 1, 1);
    const e = await rawClientStream('UploadUpdate', [
      Buffer.from(UploadMessage.encode({ header: header({ idempotencyKey: 'key-a-huge-chunk' }) }).finish()),
      Buffer.from(UploadMessage.encode({ chunk: { offset: 0, data: huge, sha256: sha256Hex(huge), prefixSha256: '' } }).finish()),
    ], a.siteId);
    assert.equal(e?.code, grpc.status.INVALID_ARGUMENT, e?.details);
    assert.match(e!.details, /bytes \(allowed 1\.\./);
    assert.equal((await a.uploadStatus('key-a-huge-chunk')).receivedBytes, 0);
    // A download of an unknown version or from an offset outside the blob ends with a status (it used to hang).
    const dl = (versionId: string, offset: number) => rawServerStream('DownloadModel', Buffer.from(DownloadRequest.encode({ versionId, offset }).finish()), a.siteId);
    assert.equal((await dl('no-such-version', 0))?.code, grpc.status.NOT_FOUND);
    // Refused before any work (a malformed site id): the status must still reach the caller.
    const ghost = await rawServerStream('DownloadModel', Buffer.from(DownloadRequest.encode({ versionId: task.globalModel!.versionId, offset: 0 }).finish()), 'bad site id!');
    assert.equal(ghost?.code, grpc.status.UNAUTHENTICATED, ghost?.details);
    for (const offset of [-1, model.length + 1, Number.MAX_SAFE_INTEGER]) {
      const err = await dl(task.globalModel!.versionId, offset);
      assert.equal(err?.code, grpc.status.INVALID_ARGUMENT, `offset ${offset}: ${err?.details}`);
    }
    assert.equal(await dl(task.globalModel!.versionId, model.length - 1), null, 'a resume from the last byte works');
    // An upload announcing more bytes than the model (+ slack) is refused at the header.
    const before = await snapshot(h);
    await assert.rejects(
      a.upload({ ...header({ idempotencyKey: 'key-a-too-large' }) }, Buffer.alloc(model.length + 65 * 1024, 1)),
      code(grpc.status.INVALID_ARGUMENT, /total_bytes \d+ is outside/),
    );
    // An upload stream without its header is refused.
    await assert.rejects(
      rawClientStream('UploadUpdate', [], a.siteId).then((x) => { if (x) throw x; }),
      code(grpc.status.INVALID_ARGUMENT, /first message of an upload must carry the header/),
    );
    assertSameSnapshot(await snapshot(h), before);
    // Chunks past the announced size are refused, and nothing past it is kept: one chunk larger than
    // the whole announced upload, and a second chunk that would run past its end.
    const chunkMsg = (offset: number, data: Buffer) => Buffer.from(UploadMessage.encode({ chunk: { offset, data, sha256: sha256Hex(data), prefixSha256: '' } }).finish());
    const announce = (key: string, totalBytes: number) => Buffer.from(UploadMessage.encode({ header: header({ idempotencyKey: key, totalBytes, sha256: sha256Hex(Buffer.alloc(totalBytes, 7)) }) }).finish());
    const overrun = await rawClientStream('UploadUpdate', [announce('key-a-overrun-one', 100), chunkMsg(0, Buffer.alloc(200, 7))], a.siteId);
    assert.equal(overrun?.code, grpc.status.INVALID_ARGUMENT, overrun?.details);
    assert.match(overrun!.details, /chunk at offset 0 overruns the announced size of 100 bytes/);
    assert.equal((await a.uploadStatus('key-a-overrun-one')).receivedBytes, 0);
    const past = await rawClientStream('UploadUpdate', [announce('key-a-overrun-two', 100), chunkMsg(0, Buffer.alloc(60, 7)), chunkMsg(60, Buffer.alloc(60, 7))], a.siteId);
    assert.equal(past?.code, grpc.status.INVALID_ARGUMENT, past?.details);
    assert.match(past!.details, /chunk at offset 60 overruns the announced size of 100 bytes/);
    const held = await a.uploadStatus('key-a-overrun-two');
    assert.equal(held.receivedBytes, 60, 'the chunk within the size is kept; the one past it is not');
    assert.equal(held.state, UploadState.UPLOAD_STATE_PARTIAL);
  });

  test('an upload whose safetensors header is malformed is settled as rejected, not left receiving', async () => {
    // data_offsets that is not a pair of integers used to throw a TypeError: INTERNAL, and the
    // upload stayed "receiving" with its bytes held, so every retry with that key failed the same way.
    for (const [key, offsets] of [['key-a-offsets-str', '"01"'], ['key-a-offsets-one', '[0]'], ['key-a-offsets-obj', '{"0":0,"1":4}']] as const) {
      const json = Buffer.from(`{"w":{"dtype":"F32","shape":[1],"data_offsets":${offsets}}}`);
      const blob = Buffer.concat([Buffer.alloc(8), json, Buffer.alloc(4)]);
      blob.writeBigUInt64LE(BigInt(json.length), 0);
      const first = await a.upload(header({ idempotencyKey: key }), blob);
      assert.equal(first.state, UploadState.UPLOAD_STATE_REJECTED, `${offsets}: ${first.reason}`);
      assert.match(first.reason, /not a valid safetensors file: tensor 'w': data_offsets .* is not a pair of integers/);
      const again = await a.upload(header({ idempotencyKey: key }), blob);
      assert.equal(again.state, UploadState.UPLOAD_STATE_REJECTED, 'a retry gets the same answer at once');
      assert.equal((await a.uploadStatus(key)).state, UploadState.UPLOAD_STATE_REJECTED);
    }
  });

  test('every field of an upload header is checked; a refused header changes nothing', async () => {
    const before = await snapshot(h);
    const bad: Array<[string, Partial<UploadHeader>, grpc.status]> = [
      ['short key', { idempotencyKey: 'short' }, grpc.status.INVALID_ARGUMENT],
      ['key with a slash', { idempotencyKey: 'key/a/../../etc' }, grpc.status.INVALID_ARGUMENT],
      ['overlong key', { idempotencyKey: 'k'.repeat(129) }, grpc.status.INVALID_ARGUMENT],
      ['upper-case sha', { sha256: sha256Hex(model).toUpperCase() }, grpc.status.INVALID_ARGUMENT],
      ['short sha', { sha256: 'abc' }, grpc.status.INVALID_ARGUMENT],
      ['unknown round', { roundId: 'round-that-does-not-exist' }, grpc.status.NOT_FOUND],
      ['wrong kind', { kind: 'generator' }, grpc.status.INVALID_ARGUMENT],
      ['empty kind', { kind: '' }, grpc.status.INVALID_ARGUMENT],
      ['wrong base', { baseVersionId: 'mv-other' }, grpc.status.INVALID_ARGUMENT],
      ['zero bytes', { totalBytes: 0 }, grpc.status.INVALID_ARGUMENT],
      ['negative bytes', { totalBytes: -5 }, grpc.status.INVALID_ARGUMENT],
      ['absurd bytes', { totalBytes: Number.MAX_SAFE_INTEGER }, grpc.status.INVALID_ARGUMENT],
      ['no samples', { samples: undefined }, grpc.status.INVALID_ARGUMENT],
      ['zero samples', { samples: { realImages: 0, replayImages: 0, labelledPixels: 0 } }, grpc.status.INVALID_ARGUMENT],
      ['negative samples', { samples: { realImages: -10, replayImages: 20, labelledPixels: 0 } }, grpc.status.INVALID_ARGUMENT],
      ['replay check with a NaN floor', { replayCheck: { fidelity: 0.6, noiseFidelity: Number.NaN, foregroundFidelity: 0.4, noiseForegroundFidelity: 0.3, teacherMiou: 0.4, studentMiou: 0.24, noiseStudentMiou: 0.2, margin: 0.05, skipped: false, noiseSeconds: 30, oldClassShare: 0, skipReason: 0 } }, grpc.status.INVALID_ARGUMENT],
      ['replay check with an unknown skip reason', { replayCheck: { fidelity: 0.6, noiseFidelity: 0.5, foregroundFidelity: 0.4, noiseForegroundFidelity: 0.3, teacherMiou: 0.4, studentMiou: 0.24, noiseStudentMiou: 0.2, margin: 0.05, skipped: true, noiseSeconds: 30, oldClassShare: 0.1, skipReason: 9 as ReplaySkipReason } }, grpc.status.INVALID_ARGUMENT],
    ];
    for (const [what, over, expected] of bad) {
      const h1 = header({ idempotencyKey: 'key-a-bad-header', ...over });
      const e = await rawClientStream('UploadUpdate', [Buffer.from(UploadMessage.encode({ header: h1 }).finish())], a.siteId);
      assert.equal(e?.code, expected, `${what}: ${e ? `${grpc.status[e.code]} ${e.details}` : 'accepted'}`);
    }
    assertSameSnapshot(await snapshot(h), before);
  });

  test('every field of an evaluation report is checked; a refused report changes nothing', async () => {
    const before = await snapshot(h);
    const version = task.globalModel!.versionId;
    const ok = { modelVersionId: version, roundId: task.roundId, images: 2, split: 'test', evaluatedSiteModel: '', classes: [{ classId: 1, truePositive: 1, falsePositive: 1, falseNegative: 1 }] };
    const bad: Array<[string, object, grpc.status]> = [
      ['unknown model', { modelVersionId: 'nope' }, grpc.status.NOT_FOUND],
      ['negative images', { images: -1 }, grpc.status.INVALID_ARGUMENT],
      ['odd split', { split: 'train' }, grpc.status.INVALID_ARGUMENT],
      ['unknown evaluated model', { evaluatedSiteModel: 'nope' }, grpc.status.NOT_FOUND],
      ['class out of range', { classes: [{ classId: 99, truePositive: 1, falsePositive: 0, falseNegative: 0 }] }, grpc.status.INVALID_ARGUMENT],
      ['negative class', { classes: [{ classId: -1, truePositive: 1, falsePositive: 0, falseNegative: 0 }] }, grpc.status.INVALID_ARGUMENT],
      ['class twice', { classes: [{ classId: 1, truePositive: 1, falsePositive: 0, falseNegative: 0 }, { classId: 1, truePositive: 1, falsePositive: 0, falseNegative: 0 }] }, grpc.status.INVALID_ARGUMENT],
      ['negative count', { classes: [{ classId: 1, truePositive: -1, falsePositive: 0, falseNegative: 0 }] }, grpc.status.INVALID_ARGUMENT],
    ];
    for (const [what, over, expected] of bad) {
      await assert.rejects(a.reportEvaluation({ ...ok, ...over } as never), (e: grpc.ServiceError) => {
        assert.equal(e.code, expected, `${what}: ${grpc.status[e.code]} ${e.details}`);
        return true;
      });
    }
    // Progress reports are clamped and truncated, never stored; a heartbeat's state is truncated.
    await a.client.reportProgress({ roundId: 'x'.repeat(10_000), phase: 'p'.repeat(10_000), fraction: NaN, metrics: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`m${i}`, i])), message: 'z'.repeat(100_000) }, md(a.siteId), deadline(), () => undefined);
    await assert.rejects(a.heartbeat('s'.repeat(100_000)), code(grpc.status.INVALID_ARGUMENT, /^heartbeat: state is longer than 256 characters/));
    // Within the bound, a state is stored cut at 200 code points: never inside a surrogate pair.
    await a.heartbeat('s'.repeat(199) + '😀'.repeat(20));
    const row = await h.coordinator.app.get(DatabaseService).prisma.site.findUniqueOrThrow({ where: { id: a.siteId } });
    assert.equal(row.agentState, 's'.repeat(199) + '😀');
    assertSameSnapshot(await snapshot(h), before);
  });

  test('per-site rate limits answer RESOURCE_EXHAUSTED and do not touch other sites', async () => {
    const before = await snapshot(h);
    const results = await Promise.all(Array.from({ length: 300 }, () => a.uploadStatus('bad').then(() => null, (e: grpc.ServiceError) => e)));
    const exhausted = results.filter((e) => e?.code === grpc.status.RESOURCE_EXHAUSTED);
    assert.ok(exhausted.length >= 50, `${exhausted.length} of 300 calls were refused for the rate`);
    assert.match(exhausted[0]!.details, /exceeded 240 getUploadStatus calls per minute; retry in \d+ ms/);
    assert.ok(results.every((e) => e?.code === grpc.status.RESOURCE_EXHAUSTED || e?.code === grpc.status.INVALID_ARGUMENT));
    assertSameSnapshot(await snapshot(h), before);
    // B has its own budget.
    assert.equal((await b.uploadStatus('key-b-nothing-yet')).state, UploadState.UPLOAD_STATE_UNSPECIFIED);
  });

  test('random JSON, wrong types and huge bodies on every REST endpoint give a clean 4xx and change nothing', { timeout: 60_000 }, async () => {
    const rosterId = 1;
    const endpoints: Array<[string, string]> = [
      ['POST', '/api/auth/sign-in'], ['POST', '/api/auth/sign-out'], ['GET', '/api/auth/me'], ['POST', '/api/auth/users'],
      ['GET', '/api/roster'], ['POST', '/api/roster/classes'], ['PATCH', `/api/roster/classes/${rosterId}`], ['PATCH', '/api/roster/classes/abc'],
      ['PATCH', '/api/roster/classes/99999999999999999999'], ['PATCH', '/api/roster/classes/-1'],
      ['GET', '/api/steps'], ['GET', '/api/rounds?step=abc'], ['GET', '/api/rounds?step=99999999999999999999'], ['GET', '/api/rounds?step=1e3'],
      ['GET', '/api/overview'], ['GET', '/api/audit?limit=1.5'], ['GET', '/api/audit?limit=-1'], ['GET', '/api/audit?limit=1e400'], ['GET', '/api/audit?limit[]=1'],
      ['GET', '/api/health'], ['GET', '/api/sites'], ['GET', '/api/sites/nope/updates'], ['GET', '/api/sites/%00%ff/updates'],
      ['POST', '/api/sites/nope/approve'], ['POST', `/api/sites/${a.siteId}/approve`], ['POST', '/api/sites/nope/reject'], ['POST', '/api/sites/nope/revoke'],
      ['GET', '/api/models?kind=evil'], ['GET', '/api/models?kind[]=segmenter'], ['GET', '/api/models/nope'], ['GET', '/api/models/..%2F..%2Fetc%2Fpasswd/weights.safetensors'],
      ['GET', '/api/models/nope/model.onnx'], ['GET', '/api/rounds?step[]=1'],
      ['GET', '/api/models/nope/model-card.md'], ['GET', '/api/models/nope/model.onnx?opset=abc'], ['GET', '/api/models/nope/model.onnx?opset[]=11'],
      ['GET', '/api/models/nope/model-card.md?opset=99999999999999999999'],
    ];
    const bodies: unknown[] = [
      'not json', '{"unterminated": ', '[]', '[1,2,3]', 'null', '42', '"string"', '{}',
      { username: 42, password: ['x'] }, { username: 'admin', password: { $ne: null } }, { classes: 'liver' }, { classes: [42] }, { classes: [{ name: ['liver'] }] },
      { classes: [{ name: 'a'.repeat(10_000) }] }, { classes: Array.from({ length: 1000 }, (_, i) => ({ name: `c${i}` })) },
      { archived: 'yes' }, { archived: 1 }, { username: 'x', password: 'short', role: 'root' }, { role: 'admin', extra: true },
      JSON.parse('{"__proto__": {"role": "admin"}, "constructor": {"prototype": {"polluted": 1}}}'),
      { deep: JSON.parse('['.repeat(2000) + ']'.repeat(2000)) },
      'x'.repeat(2 * 1024 * 1024), JSON.stringify({ classes: [{ name: 'liver', description: 'd'.repeat(2 * 1024 * 1024) }] }),
    ];
    const rnd = randomBytesFrom(99);
    for (let i = 0; i < 6; i++) bodies.push(rnd(64 + i * 50).toString('latin1'));
    const before = await snapshot(h);
    const failures: string[] = [];
    for (const [method, path] of endpoints) {
      for (const token of [h.adminToken, viewerToken, '', 'garbage-token']) {
        for (const body of method === 'GET' ? [undefined] : bodies) {
          // Sign-in and sign-out with the admin's own session are allowed to change things; the rest must not.
          if (path === '/api/auth/sign-out' && (token === h.adminToken || token === viewerToken)) continue;
          const r = await h.api(method, path, body, token);
          // A 2xx is fine only where the call is a no-op (approving an approved site ignores any body); the snapshot proves it.
          const ok = r.status < 500 && (method === 'GET' || r.status >= 400 || path === '/api/auth/sign-out' || path === `/api/sites/${a.siteId}/approve`);
          if (typeof body === 'string' && body.length > 1024 * 1024 && r.status !== 413) failures.push(`${method} ${path}: a huge body got ${r.status}, not 413`);
          if (!ok) failures.push(`${method} ${path} token=${token.slice(0, 6)} body=${JSON.stringify(body)?.slice(0, 60)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        }
      }
    }
    assert.deepEqual(failures, []);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
    // Failed sign-ins are audited (that is wanted): compare everything else, and the audit log apart from them.
    const after = await snapshot(h);
    const strip = (s: Record<string, string>) => ({ ...s, auditEntry: s.auditEntry!.split('\n').filter((l) => !l.includes('auth.sign-in-failed')).map((l) => l.replace(/^\d+ rows: /, '')).join('\n') });
    assert.deepEqual(strip(after), strip(before));
  });
});
