// Base images built from Debian packages, for machines that reach no image registry. Each is made
// under the name the Containerfiles and the compose file use (the official images' names), so a
// machine that can pull gets the official image and this script is not needed there.
//   node:20-bookworm-slim   Debian bookworm (debootstrap minbase) + this machine's Node 20 and npm,
//                           laid out like the official image (/usr/local, user `node` uid 1000)
//   postgres:15-bookworm    Debian bookworm + postgresql-15, with an entry point that honours the
//                           official image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB / PGDATA
// An image already present is kept (the engine's storage is the cache between runs).
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { imageExists } from './engine.mjs';

export const NODE_BASE = 'docker.io/library/node:20-bookworm-slim';
export const POSTGRES_BASE = 'docker.io/library/postgres:15-bookworm';
const SOURCES = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list'];

/** The Debian mirror this machine's apt already uses (so debootstrap reaches what apt-get reaches),
 * unless FEDCISS_DEBIAN_MIRROR names another. */
function debianMirror() {
  if (process.env.FEDCISS_DEBIAN_MIRROR) return process.env.FEDCISS_DEBIAN_MIRROR;
  for (const file of SOURCES) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, 'utf8');
    // deb822 stanzas ("URIs: ...") or one-line entries ("deb URL bookworm main"); the main archive, not -security.
    const uris = [...text.matchAll(/^URIs:\s*(\S+)/gm), ...text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/gm)].map((m) => m[1]);
    const main = uris.find((u) => !/security/.test(u));
    if (main) return main;
  }
  throw new Error(`no Debian mirror found in ${SOURCES.join(' or ')}: set FEDCISS_DEBIAN_MIRROR to the mirror's URL`);
}
const ENTRYPOINT = fileURLToPath(new URL('../../deploy/base/postgres-entrypoint.sh', import.meta.url));

function sh(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${r.status}):\n${(r.stderr || r.stdout || '').slice(-4000)}`);
  return r.stdout;
}

function debootstrap(rootfs, include) {
  if (spawnSync('debootstrap', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('debootstrap is missing: apt-get install debootstrap (needed once, to build the base images locally)');
  }
  if (process.getuid?.() !== 0) throw new Error('building a base image with debootstrap needs root (or pull the official image instead)');
  sh('debootstrap', ['--variant=minbase', `--include=${include.join(',')}`, 'bookworm', rootfs, debianMirror()]);
  // what an image does not need: package lists, caches, logs
  for (const p of ['var/lib/apt/lists', 'var/cache/apt', 'var/log', 'usr/share/doc', 'usr/share/man', 'usr/share/info']) {
    rmSync(join(rootfs, p), { recursive: true, force: true });
    mkdirSync(join(rootfs, p), { recursive: true });
  }
}

function importRootfs(engine, rootfs, name, changes) {
  const tar = spawnSync('tar', ['-C', rootfs, '--numeric-owner', '-c', '.'], { maxBuffer: 2 * 1024 * 1024 * 1024 });
  if (tar.status !== 0) throw new Error(`tar of ${rootfs} failed: ${tar.stderr}`);
  const args = ['import', ...changes.flatMap((c) => ['--change', c]), '-', name];
  const r = spawnSync(engine.name, args, { env: engine.env, input: tar.stdout, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${engine.name} import ${name} failed: ${r.stderr}`);
}

function nodeBase(engine, work, log) {
  const rootfs = join(work, 'node');
  debootstrap(rootfs, ['ca-certificates']);
  // Node from this machine (the same major as the official image), at the official image's paths
  const nodeBin = realpathSync(process.execPath);
  const npmDir = realpathSync(join(dirname(nodeBin), '..', 'lib', 'node_modules', 'npm'));
  mkdirSync(join(rootfs, 'usr/local/bin'), { recursive: true });
  copyFileSync(nodeBin, join(rootfs, 'usr/local/bin/node'));
  chmodSync(join(rootfs, 'usr/local/bin/node'), 0o755);
  cpSync(npmDir, join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true });
  symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', join(rootfs, 'usr/local/bin/npm'));
  symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', join(rootfs, 'usr/local/bin/npx'));
  sh('chroot', [rootfs, 'groupadd', '--gid', '1000', 'node']);
  sh('chroot', [rootfs, 'useradd', '--uid', '1000', '--gid', 'node', '--shell', '/bin/bash', '--create-home', 'node']);
  const version = sh(join(rootfs, 'usr/local/bin/node'), ['--version']).trim().replace(/^v/, '');
  log(`node base: Debian bookworm + Node ${version}`);
  importRootfs(engine, rootfs, NODE_BASE, [`ENV NODE_VERSION=${version}`, 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'CMD ["node"]']);
}

function postgresBase(engine, work, log) {
  const rootfs = join(work, 'postgres');
  debootstrap(rootfs, ['postgresql-15', 'ca-certificates']);
  // the package's own cluster is not used: the entry point makes one in PGDATA on first start
  rmSync(join(rootfs, 'var/lib/postgresql/15'), { recursive: true, force: true });
  rmSync(join(rootfs, 'etc/postgresql/15'), { recursive: true, force: true });
  copyFileSync(ENTRYPOINT, join(rootfs, 'usr/local/bin/docker-entrypoint.sh'));
  chmodSync(join(rootfs, 'usr/local/bin/docker-entrypoint.sh'), 0o755);
  log('postgres base: Debian bookworm + postgresql-15');
  importRootfs(engine, rootfs, POSTGRES_BASE, [
    'ENV PGDATA=/var/lib/postgresql/data',
    'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'ENV LANG=C.UTF-8',
    'EXPOSE 5432',
    'STOPSIGNAL SIGINT',
    'VOLUME /var/lib/postgresql/data',
    'ENTRYPOINT ["docker-entrypoint.sh"]',
    'CMD ["postgres"]',
  ]);
}

/** Makes every missing base image; returns the names it built. */
export function ensureBaseImages(engine, { log = console.log, only } = {}) {
  const builders = { [NODE_BASE]: nodeBase, [POSTGRES_BASE]: postgresBase };
  const built = [];
  for (const [name, build] of Object.entries(builders)) {
    if (only && !only.includes(name)) continue;
    if (imageExists(engine, name)) {
      log(`${name}: present (cached)`);
      continue;
    }
    const work = mkdtempSync(join(process.env.FEDCISS_IMAGE_WORK_DIR || tmpdir(), 'fedciss-base-'));
    const started = Date.now();
    try {
      log(`${name}: not present and no registry to pull from: building it from Debian packages (${debianMirror()})`);
      build(engine, work, log);
      built.push(name);
      log(`${name}: built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }
  return built;
}
