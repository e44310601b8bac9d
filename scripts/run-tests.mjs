// Runs the compiled tests (`dist/**/*.test.js`) of the named workspaces (all of them by default)
// with Node's own test runner, so NestJS decorator metadata comes from tsc, not from a loader.
// Usage: node scripts/run-tests.mjs [workspace ...]   e.g. `node scripts/run-tests.mjs ml proto`
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const all = ['proto', 'ml', 'site-agent', 'coordinator', 'e2e'];
const args = process.argv.slice(2);
const onlyUnit = args.includes('--only-unit');
const named = args.filter((a) => !a.startsWith('--'));
const workspaces = named.length ? named : onlyUnit ? all.filter((w) => w !== 'e2e') : all;

const files = [];
for (const ws of workspaces) {
  if (!all.includes(ws)) throw new Error(`unknown workspace '${ws}' (known: ${all.join(', ')})`);
  const dist = join(ws, 'dist');
  if (!existsSync(dist)) continue;
  for (const f of readdirSync(dist, { recursive: true })) {
    if (String(f).endsWith('.test.js')) files.push(join(dist, String(f)));
  }
}
if (!files.length) {
  console.error(`no compiled tests found in ${workspaces.join(', ')}: run npm run build first`);
  process.exit(1);
}
files.sort();
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-reporter=spec', ...files], {
  stdio: 'inherit',
  env: { ...process.env, NODE_ENV: 'test' },
});
process.exit(result.status ?? 1);
