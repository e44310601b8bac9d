// Runs inside an image build, in /app after `npm ci --omit=dev`: keeps in node_modules only what the
// named workspaces load at run time, and nothing else. npm's --omit=dev keeps more than that: a
// package that is both a dev dependency and an optional peer of a production one (prisma and
// typescript, peers of @prisma/client) is "devOptional" and stays, with everything it pulls in.
// Kept: each workspace's dependencies, optional dependencies that are installed, and required peer
// dependencies, transitively, found the way Node's require() finds them. Removed: every other
// package, unreached workspaces, node_modules/.bin, source maps and type declarations, and the
// prebuilt binaries a package ships for other platforms than this one.
// Usage: node prune-production.mjs WORKSPACE...   (in the directory holding package.json)
import { existsSync, lstatSync, readFileSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Packages that ship native binaries for every platform under <dir>/<platform>/<arch>. */
const PER_PLATFORM_BINARIES = { 'onnxruntime-node': ['bin/napi-v3', 'bin/napi-v6'] };
const DROPPED_FILES = /\.(map|d\.ts|d\.mts|d\.cts)$/;

const root = process.cwd();
const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));

/** The directory require(name) finds from a file in `fromDir`, or undefined. */
function resolvePackage(fromDir, name) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === dirname(dir)) return undefined;
  }
}

/** Real paths of every package directory the workspaces need at run time. */
function runtimeClosure(workspaces) {
  const keep = new Set();
  const pending = workspaces.map((ws) => join(root, ws));
  while (pending.length) {
    const dir = realpathSync(pending.pop());
    if (keep.has(dir)) continue;
    keep.add(dir);
    const pkg = readJson(join(dir, 'package.json'));
    const optionalPeer = (n) => Boolean(pkg.peerDependenciesMeta?.[n]?.optional);
    const needs = [
      ...Object.keys(pkg.dependencies ?? {}).map((n) => [n, false]),
      ...Object.keys(pkg.optionalDependencies ?? {}).map((n) => [n, true]),
      ...Object.keys(pkg.peerDependencies ?? {}).filter((n) => !optionalPeer(n)).map((n) => [n, false]),
    ];
    for (const [name, optional] of needs) {
      const found = resolvePackage(dir, name);
      if (found) pending.push(found);
      else if (!optional) throw new Error(`${pkg.name} needs ${name}, which npm did not install under ${root}`);
    }
  }
  return keep;
}

let removedBytes = 0;
function remove(path) {
  removedBytes += sizeOf(path);
  rmSync(path, { recursive: true, force: true });
}
function sizeOf(path) {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((sum, e) => sum + sizeOf(join(path, e)), 0);
}

/** Removes the packages of a node_modules directory (scopes included) that are not kept; recurses into kept ones. */
function pruneModules(modulesDir, keep) {
  if (!existsSync(modulesDir)) return;
  for (const entry of readdirSync(modulesDir)) {
    const path = join(modulesDir, entry);
    if (entry === '.bin') remove(path);
    else if (entry.startsWith('@')) {
      pruneModules(path, keep);
    } else if (existsSync(join(path, 'package.json'))) {
      if (!keep.has(realpathSync(path))) remove(path);
      else if (!lstatSync(path).isSymbolicLink()) prunePackage(path, keep);
    }
  }
}

function prunePackage(dir, keep) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name === 'node_modules') pruneModules(path, keep);
    else if (entry.isDirectory()) prunePackage(path, keep);
    else if (DROPPED_FILES.test(entry.name)) remove(path);
  }
}

function dropOtherPlatforms() {
  for (const [name, dirs] of Object.entries(PER_PLATFORM_BINARIES)) {
    const pkg = resolvePackage(root, name);
    if (!pkg) continue;
    for (const dir of dirs.map((d) => join(pkg, d)).filter(existsSync)) {
      for (const platform of readdirSync(dir)) {
        if (platform !== process.platform) remove(join(dir, platform));
        else for (const arch of readdirSync(join(dir, platform))) if (arch !== process.arch) remove(join(dir, platform, arch));
      }
    }
  }
}

function main(workspaces) {
  if (!workspaces.length) throw new Error('usage: node prune-production.mjs WORKSPACE...');
  const all = readJson(join(root, 'package.json')).workspaces ?? [];
  for (const ws of workspaces) if (!all.includes(ws)) throw new Error(`'${ws}' is not a workspace of ${root} (known: ${all.join(', ')})`);
  const keep = runtimeClosure(workspaces);
  const present = all.filter((ws) => existsSync(join(root, ws)));
  for (const ws of present) if (!keep.has(realpathSync(join(root, ws)))) remove(join(root, ws));
  pruneModules(join(root, 'node_modules'), keep);
  for (const ws of present) pruneModules(join(root, ws, 'node_modules'), keep);
  dropOtherPlatforms();
  console.log(`kept ${keep.size} packages for ${workspaces.join(' + ')}; removed ${(removedBytes / 1e6).toFixed(0)} MB`);
}

try {
  main(process.argv.slice(2));
} catch (e) {
  console.error(`prune-production: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
