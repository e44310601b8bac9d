// Generated code is committed so builds need no protoc; this keeps it honest: CI fails when the
// .proto changed and nobody regenerated.
import { test } from 'node:test';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

test('committed ts-proto output matches the .proto', { timeout: 60_000 }, () => {
  execFileSync(process.execPath, [join(__dirname, '..', 'scripts', 'generate.mjs'), '--check'], { stdio: 'pipe' });
});
