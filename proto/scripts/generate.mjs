// Generates TypeScript for the .proto contract with ts-proto. The output is committed (so a build
// needs no protoc); `node scripts/generate.mjs --check` regenerates into a temporary folder and
// fails when the committed code is stale. The test suite runs the check.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const here = dirname(new URL(import.meta.url).pathname);
const root = join(here, '..');
const require = createRequire(import.meta.url);
const protoc = require.resolve('protoc/protoc.cjs');
const plugin = join(dirname(require.resolve('ts-proto/package.json')), 'protoc-gen-ts_proto');
const committed = join(root, 'src', 'generated');
const check = process.argv.includes('--check');
const out = check ? mkdtempSync(join(tmpdir(), 'proto-gen-')) : committed;
mkdirSync(out, { recursive: true });

execFileSync(process.execPath, [
  protoc,
  `--plugin=protoc-gen-ts_proto=${plugin}`,
  `--ts_proto_out=${out}`,
  '--ts_proto_opt=outputServices=grpc-js,env=node,esModuleInterop=true,forceLong=number,useDate=false',
  `--proto_path=${root}`,
  'v1/federation.proto',
], { stdio: 'inherit' });

if (check) {
  const list = (d) => readdirSync(d, { recursive: true }).filter((f) => f.endsWith('.ts')).sort();
  const want = list(out);
  const have = list(committed);
  const stale = want.filter((f) => !have.includes(f) || readFileSync(join(out, f), 'utf8') !== readFileSync(join(committed, f), 'utf8'));
  rmSync(out, { recursive: true, force: true });
  if (stale.length || want.length !== have.length) {
    console.error(`proto/src/generated is stale (${stale.join(', ') || 'file set differs'}): run npm run generate -w proto`);
    process.exit(1);
  }
  console.log('proto/src/generated is up to date');
}
