// The console's API types are generated from the server's OpenAPI document and committed: a DTO or
// route changed without regenerating them fails here (and the console's type-check shows what broke).
import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONSOLE_API_FILE, renderConsoleApiTypes } from './console-api';
import { offlineOpenApiDocument } from './openapi';

test('the console\'s generated API types match the server\'s DTOs and routes', { timeout: 60_000 }, async () => {
  const committed = readFileSync(join(__dirname, '..', '..', '..', CONSOLE_API_FILE), 'utf8');
  const current = await renderConsoleApiTypes();
  assert.ok(current === committed, `${CONSOLE_API_FILE} is out of date with coordinator/src/http: run \`npm run build && npm run generate:console-api -w coordinator\``);
});

test('every JSON route of the console documents its response body', { timeout: 60_000 }, async () => {
  const doc = await offlineOpenApiDocument();
  const undocumented: string[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const get = item.get;
    // Downloads and the HTML report answer other media types; /api/events is a server-sent stream.
    if (!get || /\.(safetensors|onnx|md|html)$|\/events$/.test(path)) continue;
    const ok = get.responses['200'] as { content?: Record<string, { schema?: unknown }> } | undefined;
    if (!ok?.content?.['application/json']?.schema) undocumented.push(`GET ${path}`);
  }
  assert.deepEqual(undocumented, []);
});
