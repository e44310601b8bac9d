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
// Usage: node scripts/images.mjs [coordinator] [site-agent]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { containerEngine, run } from './images/engine.mjs';
import { ensureBaseImages } from './images/base-images.mjs';

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

export function buildImages(names = Object.keys(IMAGES), log = console.log) {
  const unknown = names.filter((k) => !IMAGES[k]);
  if (unknown.length) throw new Error(`unknown image '${unknown[0]}' (known: ${Object.keys(IMAGES).join(', ')})`);
  const unbuilt = [...new Set(names.flatMap((k) => IMAGES[k].needs))].filter((p) => !existsSync(join(root, p)));
  if (unbuilt.length) throw new Error(`${unbuilt.join(', ')} missing: the images are made from the build output, run "npm run build" first`);
  const engine = containerEngine();
  ensureBaseImages(engine, { log });
  const revision = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const ca = caBundle();
  const cache = engine.name === 'podman' ? npmCache() : undefined;
  for (const key of names) {
    const image = IMAGES[key];
    const started = Date.now();
    log(`${image.name}:${VERSION}: building with ${engine.name} (deploy/Containerfile, target ${key})`);
    run(engine, [
      'build', '-f', CONTAINERFILE, '--target', key, '-t', `${image.name}:${VERSION}`, '-t', `${image.name}:latest`,
      // docker format: OCI images have no HEALTHCHECK
      ...(engine.name === 'podman' ? ['--pull=never', '--layers', '--format', 'docker'] : []),
      ...(cache ? ['--volume', `${cache}:/npm-cache:O`] : []),
      ...(ca ? ['--secret', `id=npm_ca,src=${ca}`] : []),
      '--build-arg', `VERSION=${VERSION}`, '--build-arg', `REVISION=${revision}`, '--build-arg', `CREATED=${new Date().toISOString().slice(0, 10)}`,
      root,
    ], { inherit: process.env.FEDCISS_IMAGES_QUIET !== '1' });
    log(`${image.name}:${VERSION}: done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  }
  return { engine, names: names.map((k) => `${IMAGES[k].name}:${VERSION}`) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t = Date.now();
  try {
    buildImages(process.argv.slice(2).length ? process.argv.slice(2) : undefined);
    console.log(`images ready in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
