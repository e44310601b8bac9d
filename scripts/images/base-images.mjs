// Base images built from Debian packages, for machines that reach no image registry. Each is made
// under the name the Containerfiles and the compose file use (the official images' names), so a
// machine that can pull gets the official image and this script is not needed there.
//   localhost/fedciss/debian:bookworm  mmdebstrap minbase + ca-certificates, from the Debian mirrors
//                                      this machine's apt uses (bookworm, -updates, -security); the
//                                      one layer both stand-ins below share
//   node:20-bookworm-slim              + this machine's Node 20 and npm (deploy/base/node.Containerfile)
//   postgres:15-bookworm               + postgresql-15 (deploy/base/postgres.Containerfile)
// Packages already in this machine's apt cache (/var/cache/apt/archives) are used from there, not
// downloaded again. An image already present is kept: the engine's storage is the cache between runs.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageExists, run, runInBackground } from './engine.mjs';

export const DEBIAN_BASE = 'localhost/fedciss/debian:bookworm';
export const NODE_BASE = 'docker.io/library/node:20-bookworm-slim';
export const POSTGRES_BASE = 'docker.io/library/postgres:15-bookworm';
const BASE_DIR = fileURLToPath(new URL('../../deploy/base/', import.meta.url));
const APT_CACHE = '/var/cache/apt/archives';
const SOURCES = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];

/** One-line apt sources for bookworm, bookworm-updates and bookworm-security, from the mirrors this
 * machine's apt already uses (so the build reaches what apt-get reaches), unless
 * FEDCISS_DEBIAN_MIRROR names the main archive's mirror. */
export function debianSources() {
  const entries = [];
  for (const file of SOURCES.filter(existsSync)) {
    const text = readFileSync(file, 'utf8');
    // deb822 stanzas ("URIs: ..." + "Suites: ...") and one-line entries ("deb URL SUITE main")
    for (const stanza of text.split(/\n\s*\n/)) {
      const uri = /^URIs:\s*(\S+)/m.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/m.exec(stanza)?.[1].trim().split(/\s+/) ?? [];
      if (uri && /^Types:.*\bdeb\b/m.test(stanza)) for (const suite of suites) entries.push({ uri, suite });
    }
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s/gm)) entries.push({ uri: m[1], suite: m[2] });
  }
  const wanted = entries.filter((e) => /^bookworm(-updates|-security)?$/.test(e.suite));
  const mirror = process.env.FEDCISS_DEBIAN_MIRROR;
  const lines = wanted
    .filter((e) => !mirror || e.suite === 'bookworm-security')
    .map((e) => `deb ${e.uri} ${e.suite} main`);
  if (mirror) lines.unshift(`deb ${mirror} bookworm main`, `deb ${mirror} bookworm-updates main`);
  if (!lines.some((l) => / bookworm main$/.test(l))) {
    throw new Error(`no Debian bookworm mirror found in ${SOURCES.join(' or ')}: set FEDCISS_DEBIAN_MIRROR to the mirror's URL`);
  }
  return [...new Set(lines)];
}

function debianBase(engine, work, log) {
  if (spawnSync('mmdebstrap', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('mmdebstrap is missing: apt-get install mmdebstrap (needed once, to build the base images locally)');
  }
  if (process.getuid?.() !== 0) throw new Error('building the Debian base image with mmdebstrap needs root (or pull the official node and postgres images instead)');
  const tar = join(work, 'debian.tar');
  const sources = debianSources();
  log(`${DEBIAN_BASE}: mmdebstrap minbase from ${sources.join(', ')}`);
  const r = spawnSync('mmdebstrap', [
    '--variant=minbase', '--include=ca-certificates', '--skip=essential/unlink',
    // kept in the image's /etc/dpkg/dpkg.cfg.d, so the layers built on it (postgresql) follow them:
    // no documentation or translations, no fsync per unpacked file (an image build is all or nothing)
    ...['doc', 'man', 'info', 'locale'].map((d) => `--dpkgopt=path-exclude=/usr/share/${d}/*`), '--dpkgopt=force-unsafe-io',
    // the .deb files this machine already has: hard links (same file system), else downloaded
    `--setup-hook=mkdir -p "$1${APT_CACHE}" && cp -l ${APT_CACHE}/*.deb "$1${APT_CACHE}/" 2>/dev/null || true`,
    'bookworm', tar, ...sources,
  ], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`mmdebstrap failed (exit ${r.status}):\n${(r.stderr ?? '').slice(-4000)}`);
  run(engine, ['import', '--change', 'CMD ["bash"]', '--change', 'ENV LANG=C.UTF-8', tar, DEBIAN_BASE]);
}

function nodeBase(engine, work) {
  // Node from this machine (the same major as the official image), at the official image's paths
  const nodeBin = realpathSync(process.execPath);
  cpSync(nodeBin, join(work, 'node'));
  cpSync(realpathSync(join(dirname(nodeBin), '..', 'lib', 'node_modules', 'npm')), join(work, 'npm'), { recursive: true });
  cpSync(join(BASE_DIR, 'node.Containerfile'), join(work, 'Containerfile'));
  run(engine, buildArgs(engine, NODE_BASE, work, ['--build-arg', `NODE_VERSION=${process.versions.node}`]));
}

/** Builds in the background (nothing else here starts from it): settles when the image is there. */
function postgresBase(engine, log) {
  // the machine's apt cache, copy-on-write (podman's :O): what it has is not downloaded again
  const aptCache = engine.name === 'podman' && existsSync(APT_CACHE) ? ['--volume', `${APT_CACHE}:${APT_CACHE}:O`] : [];
  const started = Date.now();
  log(`${POSTGRES_BASE}: not present and no registry to pull from: building it from Debian packages, in the background`);
  return runInBackground(engine, buildArgs(engine, POSTGRES_BASE, BASE_DIR, ['-f', join(BASE_DIR, 'postgres.Containerfile'), ...aptCache]))
    .then(() => log(`${POSTGRES_BASE}: built in ${seconds(started)} s`));
}

function buildArgs(engine, name, context, args) {
  const podman = engine.name === 'podman' ? ['--pull=never', '--format', 'docker'] : [];
  return ['build', ...podman, '--build-arg', `DEBIAN_IMAGE=${DEBIAN_BASE}`, ...args, '-t', name, context];
}

function timed(log, name, build) {
  const work = mkdtempSync(join(process.env.FEDCISS_IMAGE_WORK_DIR || tmpdir(), 'fedciss-base-'));
  const started = Date.now();
  try {
    log(`${name}: not present and no registry to pull from: building it from Debian packages`);
    build(work);
    log(`${name}: built in ${seconds(started)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Makes the missing base images. The node one is there when this returns (the app images start
 * from it); the postgres one is built meanwhile, and the returned promise settles when it is there. */
export function ensureBaseImages(engine, { log = console.log } = {}) {
  const missing = (name) => {
    if (!imageExists(engine, name)) return true;
    log(`${name}: present (cached)`);
    return false;
  };
  const needNode = missing(NODE_BASE);
  const needPostgres = missing(POSTGRES_BASE);
  if ((needNode || needPostgres) && !imageExists(engine, DEBIAN_BASE)) timed(log, DEBIAN_BASE, (work) => debianBase(engine, work, log));
  const postgres = needPostgres ? postgresBase(engine, log) : Promise.resolve();
  // handled by the caller's await; until then a failure must not count as unhandled
  postgres.catch(() => undefined);
  if (needNode) timed(log, NODE_BASE, (work) => nodeBase(engine, work));
  return postgres;
}

const seconds = (since) => ((Date.now() - since) / 1000).toFixed(0);
