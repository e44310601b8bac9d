// The coordinator's operations endpoints, scraped from a real `coordinator serve` process: liveness,
// readiness, Prometheus metrics (with a site that enrolled and sent a heartbeat), and its logs on a
// pipe: one JSON object per line, no colour codes, the request id of each HTTP request in the
// lines logged for it and in the response.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, TestSiteClient } from '@fedciss/coordinator/testing';
import { ChildProgram, COORDINATOR_BIN } from '../harness/child';

/** The value of one sample line of a Prometheus text exposition, e.g. `fedciss_sites_alive`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('coordinator: liveness, readiness, /metrics and JSON logs of a real process', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-ops-'));
  let coordinator: ChildProgram;
  let http = '';
  let grpcPort = 0;

  before(async () => {
    grpcPort = await freePort();
    const httpPort = await freePort();
    http = `http://127.0.0.1:${httpPort}`;
    coordinator = new ChildProgram({
      name: 'coordinator',
      args: [COORDINATOR_BIN, 'serve', '--insecure', '--auto-approve', '--data-dir', join(dir, 'coordinator'), '--grpc-address', `127.0.0.1:${grpcPort}`, '--http-port', String(httpPort)],
      logFile: join(dir, 'coordinator.log'),
      // no format asked for: the default on a pipe is what is under test; the embedded database
      env: { FEDCISS_LOG_FORMAT: '', DATABASE_URL: '' },
    });
    await coordinator.waitFor(/coordinator ready/, 90_000);
  });

  after(async () => {
    await coordinator?.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  });

  test('liveness and readiness answer without signing in', async () => {
    const live = await fetch(`${http}/healthz`);
    assert.equal(live.status, 200);
    assert.deepEqual(await live.json(), { status: 'live' });
    const ready = await fetch(`${http}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { database: 'ok', federation: 'ok' } });
  });

  test('/metrics shows rounds, updates, aggregation, bytes and sites, and counts a site that came alive', async () => {
    const before = await fetch(`${http}/metrics`);
    assert.equal(before.status, 200);
    assert.match(before.headers.get('content-type') ?? '', /^text\/plain;.*version=0\.0\.4/, 'Prometheus text format 0.0.4');
    const text = await before.text();
    for (const name of ['fedciss_rounds', 'fedciss_updates_total', 'fedciss_aggregation_seconds', 'fedciss_transfer_bytes_total', 'fedciss_sites_alive', 'fedciss_sites', 'process_resident_memory_bytes']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), `${name} is exposed`);
    }
    assert.equal(sample(text, 'fedciss_sites_alive'), 0);
    assert.equal(sample(text, 'fedciss_transfer_bytes_total{direction="in"}'), 0);
    assert.equal(sample(text, 'fedciss_updates_total{outcome="accepted",reason=""}'), 0);

    const site = new TestSiteClient(`127.0.0.1:${grpcPort}`);
    try {
      await site.enroll('Hospital Metrics');
      await site.heartbeat('idle');
    } finally {
      site.client.close();
    }
    const after = await (await fetch(`${http}/metrics`)).text();
    assert.equal(sample(after, 'fedciss_sites_alive'), 1);
    assert.equal(sample(after, 'fedciss_sites{status="approved"}'), 1);
  });

  test('logs on a pipe are JSON lines without colour codes, with the request id of each request', async () => {
    const id = 'ops-test-request-0001';
    const res = await fetch(`${http}/api/health`, { headers: { 'X-Request-Id': id } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-request-id'), id, 'the caller\'s id comes back');
    const fresh = await fetch(`${http}/api/health`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    const freshId = fresh.headers.get('x-request-id') ?? '';
    assert.match(freshId, /^[0-9a-f-]{36}$/, 'an unusable id is replaced by a UUID');

    const line = await coordinator.waitFor(new RegExp(id), 10_000);
    const entry = JSON.parse(line) as Record<string, unknown>;
    assert.equal(entry.requestId, id);
    assert.equal(entry.path, '/api/health');
    assert.equal(entry.status, 200);
    assert.equal(entry.level, 'info');
    assert.equal(entry.service, 'coordinator');
    await coordinator.waitFor(new RegExp(freshId), 10_000);

    const lines = coordinator.output.split('\n').filter(Boolean);
    assert.ok(lines.length > 5);
    assert.doesNotMatch(coordinator.output, /\x1b\[/, 'no ANSI colour codes');
    for (const l of lines) {
      const parsed = JSON.parse(l) as { time?: string; level?: string; msg?: string };
      assert.ok(parsed.time && parsed.level && typeof parsed.msg === 'string', `a structured line: ${l}`);
    }
    assert.ok(lines.some((l) => /"msg":"coordinator ready/.test(l)));
  });
});
