// How the coordinator serves the console (coordinator/src/http/console.module.ts): the build's files,
// index.html for the console's own routes (deep links), the API untouched, and a plain page saying
// what to do when the console has not been built.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONSOLE_DIST, startFederation, type Federation } from './harness';

describe('the coordinator serves the console', () => {
  const running: Federation[] = [];
  after(async () => {
    for (const f of running) await f.close();
  });

  test('the build at /, index.html for console routes, hashed assets cached, the API and missing files not swallowed', async () => {
    const fed = await startFederation();
    running.push(fed);
    const root = await fetch(`${fed.url}/`);
    assert.equal(root.status, 200);
    assert.match(root.headers.get('content-type') ?? '', /text\/html/);
    const html = await root.text();
    assert.match(html, /<div id="root"><\/div>/);
    for (const route of ['/reports', '/classes', '/sites/anything/deeper']) {
      const r = await fetch(`${fed.url}${route}`);
      assert.equal(r.status, 200, route);
      assert.equal(await r.text(), html, `${route} answers with the console`);
    }
    const asset = readdirSync(join(CONSOLE_DIST, 'assets')).find((f) => f.endsWith('.js'))!;
    const js = await fetch(`${fed.url}/assets/${asset}`);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(`${fed.url}/favicon.svg`)).status, 200);
    assert.equal((await fetch(`${fed.url}/missing.js`)).status, 404);
    assert.equal((await fetch(`${fed.url}/..%2f..%2fpackage.json`)).status, 404, 'nothing outside the build');
    const api = await fetch(`${fed.url}/api/no-such-endpoint`);
    assert.equal(api.status, 404);
    assert.match(api.headers.get('content-type') ?? '', /json/);
    assert.equal((await fetch(`${fed.url}/api/health`)).status, 200);
    assert.equal((await fetch(`${fed.url}/api/docs`)).status, 200, 'Swagger UI still answers');
  });

  test('without a build, / says how to build the console', async () => {
    const fed = running[0] ?? (await startFederation());
    if (!running.length) running.push(fed);
    const empty = mkdtempSync(join(tmpdir(), 'console-empty-'));
    const previous = process.env.FEDCISS_CONSOLE_DIR;
    process.env.FEDCISS_CONSOLE_DIR = empty; // looked up per request
    try {
      const r = await fetch(`${fed.url}/`);
      assert.equal(r.status, 200);
      assert.match(await r.text(), /console not built: run npm run build/);
      assert.equal((await fetch(`${fed.url}/reports`)).status, 404);
      assert.equal((await fetch(`${fed.url}/api/health`)).status, 200);
    } finally {
      if (previous === undefined) delete process.env.FEDCISS_CONSOLE_DIR;
      else process.env.FEDCISS_CONSOLE_DIR = previous;
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
