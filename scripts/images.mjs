// `npm run images` (after `npm run build`): builds the coordinator and site-agent images with podman
// (or docker) from deploy/Containerfile, from base images built locally from Debian packages when no
// registry can provide them. The images are made from this checkout's compiled output and their
// production dependencies; no compiler runs in the build. What is cached where:
//   - the engine's image storage (podman: /var/lib/containers/storage for root): the base images,
//     the shared production-dependency layer (rebuilt only when a package.json or the lock file
//     changes), each image's pruned dependencies, and the layers of compiled code
//   - the npm cache of this machine (`npm config get cache`), mounted copy-on-write into the build
//     with podman: the dependencies come from there, not from the registry
//   - the apt cache of this machine (/var/cache/apt/archives): the base images' .deb files
//   - each image's label fedciss.inputs: a hash of everything the build reads (the Containerfile's
//     COPY sources, .dockerignore, the base image, the labels); when it matches, the build is not
//     even started (checking ~30 cached steps costs the engine tens of seconds on a busy machine)
// Usage: node scripts/images.mjs [coordinator] [site-agent]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerEngine, run } from './images/engine.mjs';
import { NODE_BASE, ensureBaseImages } from './images/base-images.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONTAINERFILE = join(root, 'deploy', 'Containerfile');
export const VERSION = JSON.parse(readFileSync(new URL('../coordinator/package.json', import.meta.url), 'utf8')).version;
export const IMAGES = {
  coordinator: { name: 'localhost/fedciss/coordinator', needs: ['proto/dist', 'ml/dist', 'coordinator/dist', 'coordinator/console/dist'] },
  'site-agent': { name: 'localhost/fedciss/site-agent', needs: ['proto/dist', 'ml/dist', 'site-agent/dist'] },
};

/** The CA bundle npm trusts here (a TLS-intercepting proxy's CA included), handed to the build as a secret. */
function caBundle() {
  const candidates = [process.env.NPM_CONFIG_CAFILE, process.env.npm_config_cafile, process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'];
  return candidates.find((f) => f && existsSync(f));
}

/** This machine's npm cache folder, when it has packages in it. */
function npmCache() {
  const r = spawnSync('npm', ['config', 'get', 'cache'], { cwd: root, encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir && existsSync(join(dir, '_cacache')) ? dir : undefined;
}

const INPUTS_LABEL = 'fedciss.inputs';

/** Hash of what the images are made from: every file a COPY of the Containerfile reads from the
 * context (dist/ trees, manifests, scripts), the Containerfile and .dockerignore, and `extra`. */
function inputsFingerprint(extra) {
  const hash = createHash('sha256');
  const containerfile = readFileSync(CONTAINERFILE, 'utf8');
  hash.update(containerfile).update(readFileSync(join(root, '.dockerignore'))).update(JSON.stringify(extra));
  const add = (rel) => {
    const path = join(root, rel);
    if (!existsSync(path)) return;
    if (statSync(path).isDirectory()) for (const e of readdirSync(path).sort()) add(join(rel, e));
    else hash.update(`\0${rel}\0`).update(readFileSync(path));
  };
  for (const line of containerfile.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (words[0] !== 'COPY' || words.some((w) => w.startsWith('--from='))) continue;
    words.slice(1, -1).filter((w) => !w.startsWith('--')).forEach(add);
  }
  return hash.digest('hex').slice(0, 32);
}

/** The Containerfile with a LABEL of literal values ending stage `target`: buildah 1.28 reuses a
 * cached step whatever --label or build-argument values say, so the values must be in the text. */
function withLabels(containerfile, target, labels) {
  const lines = readFileSync(containerfile, 'utf8').split('\n');
  const start = lines.findIndex((l) => new RegExp(`^FROM\\s.*\\sAS\\s+${target}\\s*$`, 'i').test(l));
  if (start < 0) throw new Error(`${containerfile} has no stage '${target}'`);
  const next = lines.findIndex((l, i) => i > start && /^FROM\s/i.test(l));
  const label = `LABEL ${Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(String(v))}`).join(' ')}`;
  lines.splice(next < 0 ? lines.length : next, 0, label);
  return lines.join('\n');
}

function imageLabel(engine, name, label) {
  const r = spawnSync(engine.name, ['image', 'inspect', '--format', `{{index .Labels "${label}"}}`, name], { env: engine.env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

export async function buildImages(names = Object.keys(IMAGES), log = console.log) {
  const unknown = names.filter((k) => !IMAGES[k]);
  if (unknown.length) throw new Error(`unknown image '${unknown[0]}' (known: ${Object.keys(IMAGES).join(', ')})`);
  const unbuilt = [...new Set(names.flatMap((k) => IMAGES[k].needs))].filter((p) => !existsSync(join(root, p)));
  if (unbuilt.length) throw new Error(`${unbuilt.join(', ')} missing: the images are made from the build output, run "npm run build" first`);
  const engine = containerEngine();
  const postgresBase = ensureBaseImages(engine, { log });
  const revision = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const ca = caBundle();
  const cache = engine.name === 'podman' ? npmCache() : undefined;
  const labels = { 'org.opencontainers.image.version': VERSION, 'org.opencontainers.image.revision': revision, 'org.opencontainers.image.created': new Date().toISOString().slice(0, 10) };
  const baseId = run(engine, ['image', 'inspect', '--format', '{{.Id}}', NODE_BASE]).trim();
  const inputs = inputsFingerprint({ engine: engine.name, baseId, version: VERSION, revision });
  for (const key of names) {
    const image = IMAGES[key];
    if (imageLabel(engine, `${image.name}:${VERSION}`, INPUTS_LABEL) === inputs) {
      log(`${image.name}:${VERSION}: up to date (same build output, manifests and Containerfile)`);
      continue;
    }
    const started = Date.now();
    log(`${image.name}:${VERSION}: building with ${engine.name} (deploy/Containerfile, target ${key})`);
    const containerfile = join(mkdtempSync(join(tmpdir(), 'fedciss-images-')), 'Containerfile');
    writeFileSync(containerfile, withLabels(CONTAINERFILE, key, { ...labels, [INPUTS_LABEL]: inputs }));
    run(engine, [
      'build', '-f', containerfile, '--target', key, '-t', `${image.name}:${VERSION}`, '-t', `${image.name}:latest`,
      // docker format: OCI images have no HEALTHCHECK
      ...(engine.name === 'podman' ? ['--pull=never', '--layers', '--format', 'docker'] : []),
      ...(cache ? ['--volume', `${cache}:/npm-cache:O`] : []),
      ...(ca ? ['--secret', `id=npm_ca,src=${ca}`] : []),
      root,
    ], { inherit: process.env.FEDCISS_IMAGES_QUIET !== '1' });
    rmSync(dirname(containerfile), { recursive: true, force: true });
    log(`${image.name}:${VERSION}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  await postgresBase;
  return { engine, names: names.map((k) => `${IMAGES[k].name}:${VERSION}`) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t = Date.now();
  try {
    await buildImages(process.argv.slice(2).length ? process.argv.slice(2) : undefined);
    console.log(`images ready in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
