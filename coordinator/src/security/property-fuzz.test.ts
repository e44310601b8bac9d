// Property-based probes (fast-check) of both boundaries, as an outside integrator's client would
// send them: every gRPC request message and every REST body, path parameter and query, generated
// with NUL characters, unpaired surrogates, overlong text, huge and negative numbers, non-finite
// doubles, deep nesting and big collections. Each generated request carries at least one bad value,
// so each must be refused: with a clean status (never INTERNAL / UNKNOWN, never a 500), the database
// unchanged, and the coordinator still serving. Runs are bounded (seeded, tens of runs per target)
// so the file takes tens of seconds.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import {
  DownloadRequest, EnrollRequest, EvaluationReport, HeartbeatRequest, ProgressReport, SecAggAdvertisement, SecAggRevealedShares, SecAggShares, TaskKind, UploadMessage,
  UploadStatusRequest, WithheldUpdate,
} from '@fedciss/proto';
import { TestSiteClient } from '../testing/site-client';
import { assertSameSnapshot, snapshot, startHarness, until, type Harness } from '../testing/security-harness';

const SERVICE = '/fedciss.v1.Federation/';
const identity = (x: Buffer) => x;
const CLEAN = new Set([
  grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED, grpc.status.UNAUTHENTICATED,
  grpc.status.FAILED_PRECONDITION, grpc.status.RESOURCE_EXHAUSTED,
]);
const RUNS = 30;

/**
 * Text no boundary may let through: NUL, far too long, or both. (An unpaired surrogate cannot cross
 * the gRPC wire: protobuf strings travel as UTF-8 and the encoder writes U+FFFD for it. JSON can
 * carry one as a \\ud800 escape, so the REST probes add them.)
 */
const wirePoison = fc.oneof(
  fc.tuple(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 })).map(([a, b]) => `${a}\u0000${b}`),
  fc.tuple(fc.constantFrom('x', '😀', 'é', '\u0001'), fc.integer({ min: 5_000, max: 300_000 })).map(([c, n]) => c.repeat(n)),
  fc.constant('\u0000'.repeat(2000) + '\ud83d'),
);
const poison = fc.oneof(wirePoison, fc.tuple(fc.string({ maxLength: 8 }), fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff')).map(([a, s]) => a + s));
const text = fc.string({ maxLength: 16 });
const int = fc.oneof(fc.integer(), fc.constantFrom(-1, 0, -(2 ** 31), 2 ** 31 - 1, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER));
const int32 = fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.constantFrom(-1, 0, 2 ** 31 - 1));
const double = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 1e308));
const metrics = fc.dictionary(text, double, { maxKeys: 4 });
const bytes = fc.uint8Array({ maxLength: 40 }).map((d) => Buffer.from(d));

/**
 * A message of a request type whose string fields (found by path) are normal text except one,
 * chosen by the generator, which is poisoned; `keys` are map fields whose keys may be poisoned too.
 */
function poisoned<T extends object>(base: fc.Arbitrary<T>, paths: string[]): fc.Arbitrary<T> {
  return fc.tuple(base, fc.nat({ max: paths.length - 1 }), wirePoison).map(([msg, i, bad]) => {
    const copy = structuredClone(msg) as Record<string, unknown>;
    const parts = paths[i]!.split('.');
    let at: Record<string, unknown> = copy;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
    const last = parts[parts.length - 1]!;
    if (last === '*key') at[bad] = 1; // a map key
    else if (Array.isArray(at[last])) (at[last] as unknown[]).push(bad);
    else at[last] = bad;
    return copy as T;
  });
}

describe('property-based probes of every boundary', () => {
  let h: Harness;
  let a: TestSiteClient;
  let raw: grpc.Client;
  let versionId = '';
  let roundId = '';

  before(async () => {
    h = await startHarness({ tls: false, autoApprove: true, quorum: 2 });
    a = new TestSiteClient(h.address);
    await a.enroll('Hospital A');
    await a.heartbeat();
    raw = new grpc.Client(h.address, grpc.credentials.createInsecure());
    assert.equal((await h.api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] })).status, 201);
    const task = await until('a task', async () => {
      const t = await a.getTask();
      return t.kind !== TaskKind.TASK_KIND_DONE && t.globalModel && t;
    });
    versionId = task.globalModel!.versionId;
    roundId = task.roundId;
  });

  after(async () => {
    a?.close();
    raw?.close();
    await h?.close();
  });

  async function stillServing(): Promise<void> {
    assert.equal((await h.api('GET', '/api/health', undefined, '')).status, 200);
    await a.heartbeat('idle');
  }

  const md = () => {
    const m = new grpc.Metadata();
    m.set('x-site-id', a.siteId);
    return m;
  };
  const unary = (method: string, body: Uint8Array) =>
    new Promise<grpc.ServiceError | null>((resolve) => raw.makeUnaryRequest(SERVICE + method, identity, identity, Buffer.from(body), md(), { deadline: Date.now() + 20_000 }, (e) => resolve(e)));
  const serverStream = (method: string, body: Uint8Array) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.makeServerStreamRequest(SERVICE + method, identity, identity, Buffer.from(body), md(), { deadline: Date.now() + 20_000 });
      call.on('data', () => undefined);
      call.on('error', (e: grpc.ServiceError) => resolve(e));
      call.on('status', (s: grpc.StatusObject) => s.code === grpc.status.OK && resolve(null));
    });
  const clientStream = (method: string, bodies: Uint8Array[]) =>
    new Promise<grpc.ServiceError | null>((resolve) => {
      const call = raw.makeClientStreamRequest(SERVICE + method, identity, identity, md(), { deadline: Date.now() + 20_000 }, (e) => resolve(e));
      for (const b of bodies) call.write(Buffer.from(b));
      call.end();
    });

  function refusedCleanly(what: string, e: grpc.ServiceError | null): void {
    assert.ok(e, `${what}: accepted`);
    assert.ok(CLEAN.has(e.code), `${what}: ${grpc.status[e.code]} ${e.details}`);
    assert.ok(e.details.length <= 1100, `${what}: a ${e.details.length}-character message`);
  }

  test('gRPC: generated requests of every method with a poisoned field are refused cleanly', { timeout: 180_000 }, async () => {
    const before = await snapshot(h);
    const targets: Array<[string, fc.Arbitrary<Uint8Array[]>, 'unary' | 'server' | 'client']> = [
      ['Enroll', poisoned(fc.record({ displayName: text, csrPem: text, capabilities: fc.record({ executionProviders: fc.array(text, { maxLength: 3 }), agentVersion: text }) }),
        ['displayName', 'csrPem', 'capabilities.executionProviders', 'capabilities.agentVersion']).map((m) => [EnrollRequest.encode(m).finish()]), 'unary'],
      ['Heartbeat', poisoned(fc.record({ state: text }), ['state']).map((m) => [HeartbeatRequest.encode(m).finish()]), 'unary'],
      ['GetUploadStatus', poisoned(fc.record({ idempotencyKey: text }), ['idempotencyKey']).map((m) => [UploadStatusRequest.encode(m).finish()]), 'unary'],
      ['ReportEvaluation', poisoned(fc.record({
        modelVersionId: fc.oneof(text, fc.constant(versionId)), roundId: fc.oneof(text, fc.constant(roundId)), images: int32, split: fc.constantFrom('test', 'validation', ''), evaluatedSiteModel: text,
        classes: fc.array(fc.record({ classId: int32, truePositive: int, falsePositive: int, falseNegative: int }), { maxLength: 4 }),
      }), ['modelVersionId', 'roundId', 'split', 'evaluatedSiteModel']).map((m) => [EvaluationReport.encode(m).finish()]), 'unary'],
      ['ReportProgress', poisoned(fc.record({ roundId: text, phase: text, fraction: double, metrics, message: text }), ['roundId', 'phase', 'message', 'metrics.*key']).map((m) => [ProgressReport.encode(m).finish()]), 'unary'],
      ['ReportWithheld', poisoned(fc.record({ roundId: fc.oneof(text, fc.constant(roundId)), kind: fc.constantFrom('segmenter', 'generator', ''), reason: text, metrics }), ['roundId', 'kind', 'reason', 'metrics.*key']).map((m) => [WithheldUpdate.encode(m).finish()]), 'unary'],
      ['SecAggAdvertise', poisoned(fc.record({ roundId: fc.oneof(text, fc.constant(roundId)), encryptionKey: bytes, maskKey: bytes, selfSeedHash: bytes }), ['roundId']).map((m) => [SecAggAdvertisement.encode(m).finish()]), 'unary'],
      ['SecAggShareKeys', poisoned(fc.record({ roundId: fc.oneof(text, fc.constant(roundId)), shares: fc.array(fc.record({ fromSite: text, toSite: text, ciphertext: bytes }), { minLength: 1, maxLength: 3 }) }),
        ['roundId', 'shares.0.fromSite', 'shares.0.toSite']).map((m) => [SecAggShares.encode(m).finish()]), 'unary'],
      ['SecAggReveal', poisoned(fc.record({ roundId: fc.oneof(text, fc.constant(roundId)), shares: fc.array(fc.record({ owner: text, secret: fc.constantFrom('self', 'mask', ''), share: bytes }), { minLength: 1, maxLength: 3 }) }),
        ['roundId', 'shares.0.owner', 'shares.0.secret']).map((m) => [SecAggRevealedShares.encode(m).finish()]), 'unary'],
      ['DownloadModel', poisoned(fc.record({ versionId: fc.oneof(text, fc.constant(versionId)), offset: int }), ['versionId']).map((m) => [DownloadRequest.encode(m).finish()]), 'server'],
      ['UploadUpdate', fc.tuple(
        poisoned(fc.record({
          idempotencyKey: text, roundId: fc.oneof(text, fc.constant(roundId)), baseVersionId: fc.oneof(text, fc.constant(versionId)), kind: fc.constantFrom('segmenter', 'generator', ''),
          samples: fc.record({ realImages: int32, replayImages: int32, labelledPixels: int }), totalBytes: int, sha256: text, trainMetrics: metrics, resumeOffset: int,
        }), ['idempotencyKey', 'roundId', 'baseVersionId', 'kind', 'sha256', 'trainMetrics.*key']),
        fc.array(fc.record({ offset: int, data: fc.uint8Array({ maxLength: 64 }).map((d) => Buffer.from(d)), sha256: text, prefixSha256: text }), { maxLength: 2 }),
      ).map(([header, chunks]) => [UploadMessage.encode({ header }).finish(), ...chunks.map((chunk) => UploadMessage.encode({ chunk }).finish())]), 'client'],
    ];
    for (const [method, messages, kind] of targets) {
      await fc.assert(fc.asyncProperty(messages, async (bodies) => {
        const e = kind === 'unary' ? await unary(method, bodies[0]!) : kind === 'server' ? await serverStream(method, bodies[0]!) : await clientStream(method, bodies);
        refusedCleanly(method, e);
      }), { numRuns: RUNS, seed: 19, endOnFailure: true });
    }
    // A poisoned chunk hash after a well-formed header is refused the same way.
    const e = await clientStream('UploadUpdate', [UploadMessage.encode({ chunk: { offset: 0, data: Buffer.alloc(4), sha256: 'a\u0000', prefixSha256: '' } }).finish()]);
    refusedCleanly('UploadUpdate chunk', e);
    await stillServing();
    assertSameSnapshot(await snapshot(h), before);
  });

  test('REST: generated bodies, path parameters and queries with bad values get a 4xx', { timeout: 180_000 }, async () => {
    const json: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, poison, text, int, double.filter(Number.isFinite), fc.boolean(), fc.constant(null),
        fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(text, tie('v'), { maxKeys: 3 })),
    })).v;
    const nasty = fc.oneof(
      poison,
      fc.constantFrom(2 ** 53, -(2 ** 63), 1e308, -1, 0.5),
      // Deep nesting, written into the JSON text as it is sent (a marker keeps counterexamples printable).
      fc.nat({ max: 5000 }).map((n) => `__DEEP_${n + 40}__`),
      fc.array(fc.constant('x'), { minLength: 1001, maxLength: 1200 }),
      // Random JSON, always a container (where the API takes a string, a boolean or a list of objects).
      fc.oneof(fc.array(json, { maxLength: 3 }), fc.dictionary(text, json, { maxKeys: 3 })),
    );
    // Valid bodies with one value replaced by a bad one.
    const templates: Array<[string, string, Record<string, unknown>, string[]]> = [
      ['POST', '/api/roster/classes', { classes: [{ name: 'ureter', color: '#112233', description: 'd' }] }, ['classes.0.name', 'classes.0.color', 'classes.0.description', 'classes']],
      ['PATCH', '/api/roster/classes/1', { archived: true }, ['archived']],
      ['POST', '/api/auth/users', { username: 'newuser', password: 'a long enough password', role: 'viewer' }, ['username', 'password', 'role']],
      ['POST', '/api/auth/sign-in', { username: 'admin', password: 'wrong password' }, ['username', 'password']],
    ];
    const body = fc.tuple(fc.nat({ max: templates.length - 1 }), fc.nat(), nasty, fc.string({ maxLength: 6 })).map(([t, p, bad, extraKey]) => {
      const [method, path, template, leaves] = templates[t]!;
      const copy = structuredClone(template);
      const parts = leaves[p % leaves.length]!.split('.');
      let at: Record<string, unknown> = copy;
      for (const k of parts.slice(0, -1)) at = at[k] as Record<string, unknown>;
      const last = parts[parts.length - 1]!;
      // A bad value in place of a good one, or (a fifth of the time) a bad key with it.
      if (typeof bad === 'string' && extraKey.length === 5) at[bad] = at[last];
      else at[last] = bad;
      return { method, path, body: copy };
    });
    // Path parameters and queries: raw, so %00, broken %-escapes and CESU-8 surrogates reach the server as sent.
    const segment = fc.oneof(
      fc.constantFrom('%00', 'a%00b', '%ED%A0%80', '%ff', '%', '..%2F..%2Fetc', '%F0%9F%98', 'x'.repeat(5000), '%00'.repeat(300)),
      poison.filter((s) => s.length < 3000).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\u0000'))),
    );
    const routes = ['GET /api/sites/:p/updates', 'POST /api/sites/:p/approve', 'POST /api/sites/:p/reject', 'POST /api/sites/:p/revoke', 'GET /api/models/:p',
      'GET /api/models/:p/weights.safetensors', 'GET /api/models/:p/model.onnx', 'GET /api/reports/overlays/:p', 'PATCH /api/roster/classes/:p',
      'GET /api/rounds?step=:p', 'GET /api/audit?limit=:p', 'GET /api/models?kind=:p', 'GET /api/models/:p/model-card.md', 'GET /api/models/nope/model.onnx?opset=:p'];
    const param = fc.tuple(fc.constantFrom(...routes), segment).map(([r, s]) => {
      const [method, path] = r.split(' ');
      return { method: method!, path: path!.replace(':p', s), body: method === 'GET' ? undefined : { archived: true } };
    });
    const before = await snapshot(h);
    const failures: string[] = [];
    for (const requests of [body, param]) {
      await fc.assert(fc.asyncProperty(requests, async ({ method, path, body: b }) => {
        const sent = b === undefined ? undefined : JSON.stringify(b).replace(/"__DEEP_(\d+)__"/g, (_, n) => '['.repeat(Number(n)) + ']'.repeat(Number(n)));
        const r = await h.api(method, path, sent);
        if (r.status < 400 || r.status >= 500) failures.push(`${method} ${path.slice(0, 80)} ${JSON.stringify(b)?.slice(0, 80)} -> ${r.status} ${JSON.stringify(r.body).slice(0, 160)}`);
        assert.ok(JSON.stringify(r.body).length < 2000, `a ${JSON.stringify(r.body).length}-character answer`);
      }), { numRuns: 4 * RUNS, seed: 19 });
    }
    assert.deepEqual(failures, []);
    // Outside /api the console's files are served (any other path gets the app): never a 500.
    for (const path of ['/%00', '/assets/%00.js', '/%ED%A0%80', '/%ff', '/..%2F..%2Fetc%2Fpasswd', `/${'x'.repeat(5000)}.js`, '/%', '/api%00']) {
      const r = await h.api('GET', path, undefined, '');
      assert.ok(r.status < 500, `GET ${path.slice(0, 40)} -> ${r.status}`);
    }
    await stillServing();
    // Failed sign-ins are audited (wanted): compare everything else.
    const strip = (s: Record<string, string>) => ({ ...s, auditEntry: s.auditEntry!.split('\n').filter((l) => !l.includes('auth.sign-in-failed')).map((l) => l.replace(/^\d+ rows: /, '')).join('\n') });
    assert.deepEqual(strip(await snapshot(h)), strip(before));
  });
});
