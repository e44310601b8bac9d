// `npm run images`: builds the coordinator and site-agent images with podman (or docker), from
// base images built locally from Debian packages when no registry can provide them. Both builds
// share their first stage, and the engine caches layers between runs: a rerun with no change
// takes seconds. Usage: node scripts/images.mjs [coordinator] [site-agent]
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { containerEngine, run } from './images/engine.mjs';
import { ensureBaseImages } from './images/base-images.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
export const VERSION = JSON.parse(readFileSync(new URL('../coordinator/package.json', import.meta.url), 'utf8')).version;
export const IMAGES = {
  coordinator: { file: 'deploy/coordinator.Containerfile', name: 'localhost/fedciss/coordinator' },
  'site-agent': { file: 'deploy/site-agent.Containerfile', name: 'localhost/fedciss/site-agent' },
};

/** The CA bundle npm trusts here (a TLS-intercepting proxy's CA included), handed to the build as a secret. */
function caBundle() {
  const candidates = [process.env.NPM_CONFIG_CAFILE, process.env.npm_config_cafile, process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'];
  return candidates.find((f) => f && existsSync(f));
}

export function buildImages(names = Object.keys(IMAGES), log = console.log) {
  const engine = containerEngine();
  ensureBaseImages(engine, { log });
  const revision = spawnSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const ca = caBundle();
  for (const key of names) {
    const image = IMAGES[key];
    if (!image) throw new Error(`unknown image '${key}' (known: ${Object.keys(IMAGES).join(', ')})`);
    const started = Date.now();
    log(`${image.name}:${VERSION}: building with ${engine.name} (${image.file})`);
    run(engine, [
      'build', '-f', image.file, '-t', `${image.name}:${VERSION}`, '-t', `${image.name}:latest`,
      // docker format: OCI images have no HEALTHCHECK
      ...(engine.name === 'podman' ? ['--pull=never', '--layers', '--format', 'docker'] : []),
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
