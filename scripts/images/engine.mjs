// The container engine the image scripts and the deployment test drive: podman (with the
// project's containers.conf: runc, ulimits) where installed, else a docker whose daemon answers.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CONTAINERS_CONF = fileURLToPath(new URL('../../deploy/podman/containers.conf', import.meta.url));

function works(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}

/** { name, env } of the engine to use, or throws with what to install. */
export function containerEngine() {
  const wanted = process.env.FEDCISS_CONTAINER_ENGINE;
  if (wanted !== 'docker' && works('podman', ['--version'])) {
    return { name: 'podman', env: { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? CONTAINERS_CONF } };
  }
  if (wanted !== 'podman' && works('docker', ['info'])) return { name: 'docker', env: process.env };
  throw new Error('no container engine: install podman and runc (Debian: apt-get install podman runc), or run a Docker daemon');
}

/** Runs the engine; throws with its output when it fails. Returns stdout. */
export function run(engine, args, options = {}) {
  const r = spawnSync(engine.name, args, { env: engine.env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: options.inherit ? 'inherit' : 'pipe', input: options.input });
  if (r.status !== 0) throw new Error(`${engine.name} ${args.join(' ')} failed (exit ${r.status}):\n${r.stderr ?? ''}`);
  return r.stdout ?? '';
}

/** Runs the engine without blocking; its output goes to a file (a pipe nobody reads while the
 * caller's synchronous builds run would fill and stall it). Rejects with the output's end. */
export function runInBackground(engine, args) {
  const dir = mkdtempSync(join(tmpdir(), 'fedciss-engine-'));
  const out = openSync(join(dir, 'output.log'), 'w');
  const child = spawn(engine.name, args, { env: engine.env, stdio: ['ignore', out, out] });
  closeSync(out);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      const output = readFileSync(join(dir, 'output.log'), 'utf8');
      rmSync(dir, { recursive: true, force: true });
      if (code === 0) resolve(output);
      else reject(new Error(`${engine.name} ${args.join(' ')} failed (exit ${code}):\n${output.slice(-4000)}`));
    });
  });
}

export function imageExists(engine, name) {
  return spawnSync(engine.name, ['image', 'inspect', name], { env: engine.env, stdio: 'ignore' }).status === 0;
}
