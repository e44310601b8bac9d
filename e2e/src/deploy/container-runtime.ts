/**
 * A Docker-compatible API for testcontainers: the Docker daemon when DOCKER_HOST (or the default
 * socket) answers, else Podman's API service on a private socket, started here with the project's
 * containers.conf (runc, ulimits) and stopped at the end. testcontainers' reaper container (Ryuk)
 * is turned off: these tests remove what they start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/child';

export interface ContainerRuntime {
  /** 'docker' or 'podman' */
  engine: string;
  stop(): Promise<void>;
}

async function waitForSocket(path: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (child.exitCode !== null) throw new Error(`podman system service exited with ${child.exitCode}`);
    if (Date.now() > end) throw new Error(`podman's API socket ${path} did not appear within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sets DOCKER_HOST (and the testcontainers variables) for this process; call before importing testcontainers. */
export async function startContainerRuntime(): Promise<ContainerRuntime> {
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const dockerWorks = spawnSync('docker', ['info'], { stdio: 'ignore', timeout: 20_000 }).status === 0;
  if (process.env.DOCKER_HOST || (dockerWorks && process.env.FEDCISS_CONTAINER_ENGINE !== 'podman')) return { engine: 'docker', stop: async () => undefined };
  if (spawnSync('podman', ['--version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('no container runtime: install podman and runc (apt-get install podman runc) or run a Docker daemon');
  }
  const dir = mkdtempSync(join(tmpdir(), 'fedciss-podman-'));
  const socket = join(dir, 'podman.sock');
  const env = { ...process.env, CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? join(REPO_ROOT, 'deploy', 'podman', 'containers.conf') };
  const child = spawn('podman', ['system', 'service', '--time=0', `unix://${socket}`], { env, stdio: 'ignore' });
  await waitForSocket(socket, child, 30_000);
  process.env.DOCKER_HOST = `unix://${socket}`;
  return {
    engine: 'podman',
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
