// The deployment as a hospital network runs it, every part a container from the images that
// `npm run images` builds, on one container network: PostgreSQL, the coordinator (read-only root,
// data on a volume) and two site agents (read-only root; identity, work and images as volumes)
// joining with invitation bundles over mutual TLS. A step completes; an agent container stopped and
// started again rejoins; the coordinator container restarted loses nothing, and the next step
// completes with both agents. Runs through testcontainers 11 over Docker or Podman's socket.
// Part of `npm test` (also alone: `npm run test:deploy`). It first runs `npm run images`' builder on
// the compiled checkout: seconds when the engine has the layers cached, a few minutes on a clean
// machine (base images from Debian packages, production dependencies): see DEPLOY.md.
import { spawn } from 'node:child_process';
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StartedNetwork, StartedTestContainer } from 'testcontainers';
import { restClient, signIn } from '@fedciss/coordinator/testing';
import { REPO_ROOT } from '../harness/child';
import { Federation, whileBusy } from '../harness/federation';
import { TINY_TRAINING, tinyFederation } from '../harness/tiny';
import { startContainerRuntime, type ContainerRuntime } from './container-runtime';

const VERSION = '0.1.0';
const COORDINATOR_IMAGE = `localhost/fedciss/coordinator:${VERSION}`;
const AGENT_IMAGE = `localhost/fedciss/site-agent:${VERSION}`;
const POSTGRES_IMAGE = 'docker.io/library/postgres:15-bookworm';
const ADMIN_PASSWORD = 'deployment test operator passphrase';
const PG_PASSWORD = 'deployment-test-pg-1';
/** The images' user `node`: owns what the containers write on their volumes. */
const NODE_UID = 1000;

type Testcontainers = typeof import('testcontainers');

/** `node scripts/images.mjs`: builds what is missing or stale (the engine caches the rest). Output to
 * `logFile`; its progress lines (an image built or up to date) also to stdout, so that a first run's
 * minutes of building are not silent. */
async function buildImages(logFile: string): Promise<void> {
  const child = spawn(process.execPath, [join(REPO_ROOT, 'scripts', 'images.mjs')], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logFile);
  let tail = '';
  const keep = (chunk: Buffer) => {
    log.write(chunk);
    tail = (tail + chunk.toString()).slice(-4000);
    for (const line of chunk.toString().split('\n')) if (/: (built in|done in|up to date|present)|^images ready/.test(line)) process.stdout.write(`images: ${line}\n`);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  log.end();
  if (code !== 0) throw new Error(`building the images failed (exit ${code}; whole output in ${logFile}):\n${tail}`);
}

function chownTree(path: string): void {
  chownSync(path, NODE_UID, NODE_UID);
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e));
}

function writable(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chownTree(path);
  return path;
}

describe('deployment: PostgreSQL, coordinator and two site agents as containers', { timeout: 1_200_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'fedciss-deploy-'));
  const timings: Record<string, number> = {};
  const containers: StartedTestContainer[] = [];
  let runtime: ContainerRuntime;
  let tc: Testcontainers;
  let network: StartedNetwork;
  let coordinator: StartedTestContainer;
  const agents: StartedTestContainer[] = [];
  let fed: Federation;
  let token = '';
  const httpUrl = () => `http://${coordinator.getHost()}:${coordinator.getMappedPort(8080)}`;
  // Reads are tried again after a 503 (the database container out of reach for a moment, as a
  // scraper or the console would); writes are not, since one may have committed.
  const api = <T = unknown>(method: string, path: string, body?: unknown) => {
    const call = () => restClient(httpUrl, () => token)<T>(method, path, body);
    return method === 'GET' ? whileBusy(call) : call();
  };
  let started = Date.now();
  const lap = (name: string) => {
    timings[name] = Math.round((Date.now() - started) / 100) / 10;
    started = Date.now();
  };

  /** Each container's output, appended to <workDir>/logs/<name>.log (kept with FEDCISS_KEEP_DEPLOY=1). */
  function logTo(name: string) {
    mkdirSync(join(workDir, 'logs'), { recursive: true });
    return (stream: NodeJS.ReadableStream) => stream.pipe(createWriteStream(join(workDir, 'logs', `${name}.log`), { flags: 'a' }));
  }

  /** A container with a read-only root filesystem, no capabilities and no privilege escalation. */
  function hardened(image: string, name: string) {
    class Hardened extends tc.GenericContainer {
      constructor() {
        super(image);
        this.hostConfig.ReadonlyRootfs = true;
      }
    }
    return new Hardened().withNetwork(network).withTmpFs({ '/tmp': 'rw,size=256m' }).withDroppedCapabilities('ALL').withSecurityOpt('no-new-privileges').withLogConsumer(logTo(name));
  }

  function coordinatorContainer(command: string[]) {
    return hardened(COORDINATOR_IMAGE, `coordinator-${command[0]}`)
      .withNetworkAliases('coordinator')
      .withEnvironment({ DATABASE_URL: `postgres://fedciss:${PG_PASSWORD}@postgres:5432/fedciss`, FEDCISS_TLS_HOSTNAMES: 'coordinator', FEDCISS_ADMIN_PASSWORD: ADMIN_PASSWORD })
      .withBindMounts([{ source: join(workDir, 'coordinator-data'), target: '/data' }, { source: join(workDir, 'coordinator-config'), target: '/config', mode: 'ro' }])
      .withExposedPorts(8080, 50051, 50052)
      .withCommand(command);
  }

  function agentContainer(i: number, command: string[]) {
    const dir = join(workDir, `site-${i}`);
    return hardened(AGENT_IMAGE, `site-${i}-${command[0]}`)
      .withBindMounts([
        { source: join(dir, 'identity'), target: '/identity' },
        { source: join(dir, 'work'), target: '/work' },
        { source: join(dir, 'data'), target: '/data', mode: 'ro' },
        { source: join(dir, 'config'), target: '/config', mode: 'ro' },
      ])
      .withCommand(command);
  }

  async function oneShot(container: ReturnType<typeof hardened>): Promise<void> {
    const c = await container.withWaitStrategy(tc.Wait.forOneShotStartup()).withStartupTimeout(180_000).start();
    await c.stop();
  }

  async function sites() {
    return (await api<Array<{ id: string; displayName: string; status: string; alive: boolean; lastHeartbeatAt: string | null }>>('GET', '/api/sites')).body;
  }

  async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const v = await probe().catch(() => undefined);
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async function stepCompleted(step: number, timeoutMs: number): Promise<void> {
    await waitFor(`step ${step} completed`, timeoutMs, async () => {
      const steps = (await api<Array<{ index: number; status: string }>>('GET', '/api/steps')).body;
      return steps.find((s) => s.index === step)?.status === 'completed' ? true : undefined;
    });
  }

  before(async () => {
    mkdirSync(join(workDir, 'logs'), { recursive: true });
    await buildImages(join(workDir, 'logs', 'images.log'));
    lap('images');
    runtime = await startContainerRuntime();
    tc = await import('testcontainers');
    network = await new tc.Network().start();
    lap('runtime');

    // Two hospitals' generated DSAD-layout data, made on the host as a hospital's own files would be.
    fed = new Federation(tinyFederation(workDir, { sites: 2, steps: 2 }));
    await fed.prepareSites();
    mkdirSync(join(workDir, 'coordinator-config'));
    writeFileSync(join(workDir, 'coordinator-config', 'training.json'), JSON.stringify(TINY_TRAINING));
    writable(join(workDir, 'coordinator-data'));
    fed.sites.forEach((site, i) => {
      writable(join(site.dir, 'identity'));
      writable(join(site.dir, 'work'));
      mkdirSync(join(site.dir, 'config'));
      const { steps, test } = fed.surgeriesOf(i);
      writeFileSync(join(site.dir, 'config', 'site.json'), JSON.stringify({ siteName: site.name, coordinator: 'coordinator:50051', enrollAddress: 'coordinator:50052', stepSurgeries: steps, testSurgeries: test, heartbeatSeconds: 2, threads: 1 }));
    });
    lap('data');

    const postgres = await new tc.GenericContainer(POSTGRES_IMAGE)
      .withNetwork(network).withNetworkAliases('postgres')
      // Podman lists an image's EXPOSEd ports as bindings to wait for: publish them (to random host ports)
      .withExposedPorts(5432)
      .withEnvironment({ POSTGRES_USER: 'fedciss', POSTGRES_DB: 'fedciss', POSTGRES_PASSWORD: PG_PASSWORD })
      .withTmpFs({ '/var/lib/postgresql/data': 'rw' })
      .withWaitStrategy(tc.Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .withLogConsumer(logTo('postgres'))
      .withStartupTimeout(120_000)
      .start();
    containers.push(postgres);
    lap('postgres');

    await oneShot(coordinatorContainer(['pki', 'init', '--hostname', 'coordinator']));
    coordinator = await coordinatorContainer([
      'serve', '--admin-password-env', 'FEDCISS_ADMIN_PASSWORD', '--training-file', '/config/training.json',
      '--quorum', '2', '--segmenter-rounds', '1', '--generator-rounds', '0', '--deadline', '600', '--tick-ms', '200', '--heartbeat-timeout', '15',
      // ready to serve, and the first admin created (which `serve` does right after)
    ]).withWaitStrategy(tc.Wait.forAll([tc.Wait.forHttp('/readyz', 8080).forStatusCode(200), tc.Wait.forLogMessage(/coordinator ready/)])).withStartupTimeout(180_000).start();
    containers.push(coordinator);
    token = await signIn(httpUrl(), 'admin', ADMIN_PASSWORD);
    lap('coordinator');

    // Each hospital: invitation bundle from the operator, enrolment (pending), approval, certificate.
    for (const [i, site] of fed.sites.entries()) {
      const invited = await api('POST', '/api/sites/invitations', { name: site.name, federationAddress: 'coordinator:50051', enrollAddress: 'coordinator:50052' });
      assert.equal(invited.status, 201, JSON.stringify(invited.body));
      writeFileSync(join(site.dir, 'config', 'invitation.json'), JSON.stringify(invited.body));
      const enroll = ['enroll', '--bundle', '/config/invitation.json', '--config', '/config/site.json'];
      await oneShot(agentContainer(i, enroll));
      const pending = (await sites()).find((s) => s.displayName === site.name);
      assert.equal(pending?.status, 'pending', `${site.name} waits for the admin`);
      site.siteId = pending!.id;
      assert.equal((await api('POST', `/api/sites/${site.siteId}/approve`)).status, 201);
      await oneShot(agentContainer(i, ['enroll', '--config', '/config/site.json']));
    }
    lap('enrolment');
    for (const i of fed.sites.keys()) {
      const agent = await agentContainer(i, ['run', '--config', '/config/site.json']).withWaitStrategy(tc.Wait.forLogMessage(/agent started/)).withStartupTimeout(120_000).start();
      agents.push(agent);
      containers.push(agent);
    }
    await waitFor('both agents alive', 120_000, async () => ((await sites()).filter((s) => s.alive).length === 2 ? true : undefined));
    lap('agents');
  });

  // A failure's cause is often only in the coordinator's log (a 500 says "see the coordinator log"):
  // on a clean-clone CI run the work folder is gone afterwards, so its warnings and errors are
  // printed with the failure, and the folder is kept.
  let failed = false;
  afterEach((t) => {
    // afterEach runs for tests only: a TestContext
    if ((t as { passed?: boolean }).passed !== false) return;
    failed = true;
    const serveLog = join(workDir, 'logs', 'coordinator-serve.log');
    const lines = existsSync(serveLog) ? readFileSync(serveLog, 'utf8').split('\n').filter((l) => /"level":"(warn|error|fatal)"/.test(l)) : [];
    process.stdout.write(`'${t.name}' failed; the coordinator's warnings and errors (${lines.length}, the last 40; all logs kept in ${join(workDir, 'logs')}):\n${lines.slice(-40).join('\n')}\n`);
  });

  after(async () => {
    for (const c of containers.reverse()) await c.stop().catch(() => undefined);
    await network?.stop().catch(() => undefined);
    await runtime?.stop();
    process.stdout.write(`deployment test timings (s): ${JSON.stringify(timings)}\n`);
    if (process.env.FEDCISS_KEEP_DEPLOY !== '1' && !failed) rmSync(workDir, { recursive: true, force: true });
  });

  test('a step completes over mutual TLS between containers', async () => {
    assert.equal((await api<{ step: number }>('POST', '/api/roster/classes', { classes: [{ name: 'liver' }, { name: 'stomach' }] })).body.step, 0);
    await stepCompleted(0, 600_000);
    const rounds = (await api<Array<{ step: number; kind: string; status: string; accepted: string[] }>>('GET', '/api/rounds')).body;
    const segmenter = rounds.find((r) => r.step === 0 && r.kind === 'segmenter');
    assert.equal(segmenter?.status, 'completed');
    assert.deepEqual([...segmenter!.accepted].sort(), fed.sites.map((s) => s.siteId!).sort(), 'both hospitals contributed');
    // A scraper reads again after a 503: clean-clone runs found the database container out of reach
    // for a moment here (Prisma P1001, twenty-third session; a 500 then, thirty-eighth session).
    const metrics = await (await whileBusy(() => fetch(`${httpUrl()}/metrics`))).text();
    assert.match(metrics, /^fedciss_updates_total\{outcome="accepted",reason=""\} 2$/m);
    lap('step 0');
  });

  test('an agent container stopped and started again rejoins', async () => {
    // field 22 of /proc/1/stat: when the container's first process started (a new one after the restart)
    const pid1Start = async () => (await agents[0]!.exec(['cat', '/proc/1/stat'])).output.split(' ')[21];
    const startBefore = await pid1Start();
    const restartedAt = Date.now();
    await agents[0]!.restart();
    assert.notEqual(await pid1Start(), startBefore, 'the agent process was started anew');
    const site = fed.sites[0]!;
    await waitFor('the restarted agent heartbeats again', 120_000, async () => {
      const s = (await sites()).find((x) => x.id === site.siteId);
      return s?.alive && s.lastHeartbeatAt && Date.parse(s.lastHeartbeatAt) > restartedAt ? true : undefined;
    });
    lap('agent restart');
  });

  test('the coordinator container restarted loses nothing, and the next step completes', async () => {
    const view = async () => ({
      steps: (await api('GET', '/api/steps')).body,
      models: ((await api<Array<{ id: string; sha256: string }>>('GET', '/api/models')).body).map((m) => [m.id, m.sha256]),
      sites: (await sites()).map((s) => [s.id, s.displayName, s.status]),
      audit: ((await api<Array<{ id: number; action: string }>>('GET', '/api/audit?limit=1000')).body).map((e) => [e.id, e.action]),
    });
    const before = await view();
    await coordinator.restart();
    await waitFor('the coordinator is ready again', 180_000, async () => ((await fetch(`${httpUrl()}/readyz`)).ok ? true : undefined));
    token = await waitFor('signing in again', 30_000, () => signIn(httpUrl(), 'admin', ADMIN_PASSWORD));
    const after = await view();
    assert.deepEqual(after.steps, before.steps);
    assert.deepEqual(after.models, before.models);
    assert.deepEqual(after.sites, before.sites);
    assert.deepEqual(after.audit.slice(-before.audit.length), before.audit, 'every audit entry is still there');
    lap('coordinator restart');

    assert.equal((await api<{ step: number }>('POST', '/api/roster/classes', { classes: [{ name: 'colon' }] })).body.step, 1);
    await stepCompleted(1, 600_000);
    const rounds = (await api<Array<{ step: number; kind: string; status: string; accepted: string[] }>>('GET', '/api/rounds')).body;
    const segmenter = rounds.find((r) => r.step === 1 && r.kind === 'segmenter');
    assert.deepEqual([...segmenter!.accepted].sort(), fed.sites.map((s) => s.siteId!).sort(), 'both hospitals, the restarted agent included, contributed after the coordinator restart');
    lap('step 1');
  });
});
