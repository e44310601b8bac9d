/**
 * A whole federation on this machine, every part its own process: a coordinator (embedded PGlite
 * or a PostgreSQL server), N site agents with their own generated DSAD-layout data, mutual TLS
 * with per-site certificates issued through the real enrolment flow (or the loopback plaintext
 * mode). Used by the end-to-end tests and by `npm run demo`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DSAD_SPLIT } from '@fedciss/ml/dsad';
import { ChildProgram, COORDINATOR_BIN, runToEnd, SITE_AGENT_BIN } from './child';
import { threadsPerSite } from './core-share';
import { FAULTS_VARIABLE, type Fault } from './faulty-site-agent';

const FAULTY_SITE_AGENT = join(__dirname, 'faulty-site-agent.js');
import { freePort, restClient, signIn, type RestResponse } from '@fedciss/coordinator/testing';

/**
 * An idempotent HTTP call to the coordinator, tried again while it answers 503 (busy, or its
 * database out of reach for a moment), waiting as its Retry-After asks.
 */
export async function whileBusy<R extends { status: number; headers: Headers }>(call: () => Promise<R>, attempts = 5): Promise<R> {
  for (let i = 1; ; i++) {
    const r = await call();
    if (r.status !== 503 || i === attempts) return r;
    await new Promise((done) => setTimeout(done, Number(r.headers.get('retry-after') ?? 2) * 1000));
  }
}

export interface FederationOptions {
  workDir: string;
  sites: number;
  tls: boolean;
  databaseUrl?: string;
  /** Training surgeries per site and step; each site also gets `testSurgeries` of its own. */
  trainSurgeriesPerStep: number;
  steps: number;
  testSurgeries: number;
  imagesPerSurgery: number;
  imageSize: { width: number; height: number };
  seed: number;
  coordinatorFlags: string[];
  training: Record<string, unknown>;
  echo?: (source: string, line: string) => void;
  /** How the generated scenes are annotated (default: every scene fully, in multilabel). */
  annotations?: { multilabelFraction: number; structureFolders: 'every-folder' | 'one-folder' };
  /** Per step, structures that step's training surgeries never show (synthetic scenes; test surgeries show all). */
  absentByStep?: readonly (readonly string[])[];
  /** Per step, structures that step's training surgeries show but nobody annotated (test surgeries are annotated in full). */
  unannotatedByStep?: readonly (readonly string[])[];
  /** Extra settings of individual sites' config files, by site index. */
  siteSettings?: Record<number, Record<string, unknown>>;
  /** Faults injected into individual sites' agents (see faulty-site-agent.ts), by site index. */
  faults?: Record<number, readonly Fault[]>;
}

export interface SiteHandle {
  name: string;
  dir: string;
  configFile: string;
  /** Faults its agent injects (run by the faulty-site-agent wrapper instead of the plain CLI). */
  faults?: readonly Fault[];
  program?: ChildProgram;
  siteId?: string;
}

const ADMIN_PASSWORD = 'federation-operator-pass-1';

/** generate-synthetic's SURGERIES:STRUCTURES flags for each step's surgeries and its structures. */
function stepStructureFlags(flag: string, steps: readonly string[][], byStep: readonly (readonly string[])[] | undefined): string[] {
  return steps.flatMap((surgeries, t) => (byStep?.[t]?.length ? [flag, `${surgeries.join(',')}:${byStep[t].join(',')}`] : []));
}
const siteName = (i: number) => `Hospital ${String.fromCharCode(65 + i)}`;

export class Federation {
  coordinator!: ChildProgram;
  httpUrl = '';
  grpcPort = 0;
  enrollPort = 0;
  readonly sites: SiteHandle[] = [];
  private token = '';
  readonly adminPassword = ADMIN_PASSWORD;
  private readonly env: NodeJS.ProcessEnv;

  constructor(readonly o: FederationOptions) {
    this.env = { FEDCISS_LOG_FORMAT: 'json', ...(o.databaseUrl ? { DATABASE_URL: o.databaseUrl } : {}) };
  }

  get coordinatorDir(): string {
    return join(this.o.workDir, 'coordinator');
  }

  private echo(source: string) {
    return this.o.echo ? (line: string) => this.o.echo!(source, line) : undefined;
  }

  /** Surgeries for each site: disjoint, by the official split; step t uses its own patients. */
  surgeriesOf(site: number): { steps: string[][]; test: string[] } {
    const train = [...DSAD_SPLIT.train];
    const test = [...DSAD_SPLIT.test];
    const per = this.o.trainSurgeriesPerStep * this.o.steps;
    if ((site + 1) * per > train.length || (site + 1) * this.o.testSurgeries > test.length) {
      throw new Error(`not enough DSAD surgeries for ${this.o.sites} sites × ${per} training surgeries`);
    }
    const mine = train.slice(site * per, (site + 1) * per);
    return {
      steps: Array.from({ length: this.o.steps }, (_, t) => mine.slice(t * this.o.trainSurgeriesPerStep, (t + 1) * this.o.trainSurgeriesPerStep)),
      test: test.slice(site * this.o.testSurgeries, (site + 1) * this.o.testSurgeries),
    };
  }

  async prepareSites(): Promise<void> {
    for (let i = 0; i < this.o.sites; i++) {
      const name = siteName(i);
      const dir = join(this.o.workDir, `site-${i}`);
      mkdirSync(dir, { recursive: true });
      const { steps, test } = this.surgeriesOf(i);
      await runToEnd({
        name: `generate ${name}`,
        args: [SITE_AGENT_BIN, 'generate-synthetic', '--out', join(dir, 'data'), '--surgery-ids', [...steps.flat(), ...test].join(','),
          '--seed', String(this.o.seed + i), '--size', `${this.o.imageSize.width}x${this.o.imageSize.height}`, '--images-per-surgery', String(this.o.imagesPerSurgery),
          '--multilabel-fraction', String(this.o.annotations?.multilabelFraction ?? 1), '--structure-folders', this.o.annotations?.structureFolders ?? 'every-folder',
          ...stepStructureFlags('--absent', steps, this.o.absentByStep), ...stepStructureFlags('--unannotated', steps, this.o.unannotatedByStep)],
        logFile: join(dir, 'generate.log'),
      });
      const configFile = join(dir, 'site.json');
      writeFileSync(configFile, JSON.stringify(this.siteConfig(i), null, 2));
      this.sites.push({ name, dir, configFile, faults: this.o.faults?.[i] ?? [] });
    }
  }

  /** The config file of site `i` (paths relative to its folder). */
  siteConfig(i: number): Record<string, unknown> {
    const { steps, test } = this.surgeriesOf(i);
    return {
      siteName: siteName(i), identityDir: 'identity', dataRoot: 'data', workDir: 'work', insecure: !this.o.tls,
      stepSurgeries: steps, testSurgeries: test, heartbeatSeconds: 2, threads: threadsPerSite(this.o.sites), ...this.o.siteSettings?.[i],
    };
  }

  async startCoordinator(): Promise<void> {
    if (!this.grpcPort) {
      this.grpcPort = await freePort();
      this.enrollPort = await freePort();
      this.httpUrl = `http://127.0.0.1:${await freePort()}`;
      mkdirSync(this.coordinatorDir, { recursive: true });
      writeFileSync(join(this.coordinatorDir, 'training.json'), JSON.stringify(this.o.training, null, 2));
      if (this.o.tls) await runToEnd({ name: 'pki init', args: [COORDINATOR_BIN, 'pki', 'init', '--data-dir', this.coordinatorDir], logFile: join(this.coordinatorDir, 'pki.log'), env: this.env });
    }
    this.coordinator = new ChildProgram({
      name: 'coordinator',
      args: [COORDINATOR_BIN, 'serve', '--data-dir', this.coordinatorDir, '--grpc-address', `127.0.0.1:${this.grpcPort}`, '--enroll-address', `127.0.0.1:${this.enrollPort}`,
        '--http-port', new URL(this.httpUrl).port, '--training-file', join(this.coordinatorDir, 'training.json'), '--admin-password-env', 'FEDCISS_ADMIN_PASSWORD',
        ...(this.o.tls ? [] : ['--insecure', '--auto-approve']), ...this.o.coordinatorFlags],
      logFile: join(this.coordinatorDir, 'coordinator.log'),
      env: { ...this.env, FEDCISS_ADMIN_PASSWORD: ADMIN_PASSWORD },
      echo: this.echo('coordinator'),
    });
    await this.coordinator.waitFor(/coordinator ready/, 120_000);
    this.token = '';
  }

  async api<T = unknown>(method: string, path: string, body?: unknown): Promise<RestResponse<T>> {
    const token = await this.bearer();
    return restClient(() => this.httpUrl, () => token)<T>(method, path, body);
  }

  /** An idempotent call, tried again while the coordinator answers 503 (busy), as its Retry-After asks. */
  apiRetrying<T = unknown>(method: string, path: string, body?: unknown, attempts = 5): Promise<RestResponse<T>> {
    return whileBusy(() => this.api<T>(method, path, body), attempts);
  }

  /** The admin's session token (signed in on first use). */
  async bearer(): Promise<string> {
    if (!this.token) this.token = await signIn(this.httpUrl, 'admin', ADMIN_PASSWORD);
    return this.token;
  }

  /** Runs an offline coordinator command (e.g. models import) on this federation's data folder, before the coordinator starts. */
  async runCoordinatorCommand(args: string[]): Promise<string> {
    mkdirSync(this.coordinatorDir, { recursive: true });
    const training = join(this.coordinatorDir, 'training.json');
    writeFileSync(training, JSON.stringify(this.o.training, null, 2));
    return runToEnd({ name: `coordinator ${args.slice(0, 2).join(' ')}`, args: [COORDINATOR_BIN, ...args, '--data-dir', this.coordinatorDir, '--training-file', training], logFile: join(this.coordinatorDir, `${args.slice(0, 2).join('-')}.log`), env: this.env });
  }

  private siteArgs(site: SiteHandle): string[] {
    return ['--config', site.configFile, '--coordinator', `localhost:${this.grpcPort}`, '--enroll-address', `localhost:${this.enrollPort}`];
  }

  /**
   * Enrols every site through the real flow: an invitation bundle from the operator (REST API),
   * CSR with the bundle's one-time token, admin approval over the REST API, certificate.
   */
  async enrollSites(): Promise<void> {
    for (const site of this.sites) {
      const caFlags: string[] = [];
      if (this.o.tls) {
        const invited = await this.api('POST', '/api/sites/invitations', { name: site.name, federationAddress: `localhost:${this.grpcPort}`, enrollAddress: `localhost:${this.enrollPort}` });
        if (invited.status !== 201) throw new Error(`inviting ${site.name} failed: ${invited.status} ${JSON.stringify(invited.body)}`);
        const bundle = join(site.dir, 'invitation.json');
        writeFileSync(bundle, JSON.stringify(invited.body), { mode: 0o600 });
        caFlags.push('--bundle', bundle);
      }
      const out = await runToEnd({ name: `enroll ${site.name}`, args: [SITE_AGENT_BIN, 'enroll', '--json', ...this.siteArgs(site), ...caFlags], logFile: join(site.dir, 'enroll.log'), env: this.env });
      site.siteId = /"siteId":"([^"]+)"/.exec(out)?.[1];
      if (!site.siteId) throw new Error(`could not read the site id from enroll output:\n${out}`);
      if (this.o.tls) {
        const r = await this.apiRetrying('POST', `/api/sites/${site.siteId}/approve`);
        if (r.status !== 201 && r.status !== 200) throw new Error(`approving ${site.siteId} failed: ${r.status} ${JSON.stringify(r.body)}`);
        await runToEnd({ name: `enroll ${site.name}`, args: [SITE_AGENT_BIN, 'enroll', ...this.siteArgs(site)], logFile: join(site.dir, 'enroll.log'), env: this.env });
      }
    }
  }

  startSite(site: SiteHandle, extra: string[] = []): ChildProgram {
    const faults = site.faults ?? [];
    const faulty = faults.length > 0;
    site.program = new ChildProgram({
      name: site.name,
      args: [faulty ? FAULTY_SITE_AGENT : SITE_AGENT_BIN, 'run', ...this.siteArgs(site), ...extra],
      logFile: join(site.dir, 'agent.log'),
      env: faulty ? { ...this.env, [FAULTS_VARIABLE]: faults.join(',') } : this.env,
      echo: this.echo(site.name),
    });
    return site.program;
  }

  /** The whole start of a test federation: data, coordinator, enrolment, every agent running (with
   * `siteArgs`), each alive. */
  async startAll(siteArgs: string[] = []): Promise<void> {
    await this.prepareSites();
    await this.startCoordinator();
    await this.enrollSites();
    for (const site of this.sites) this.startSite(site, siteArgs);
    await this.waitForSitesAlive();
  }

  /** Waits until every enrolled site has sent a heartbeat recently. */
  async waitForSitesAlive(count = this.sites.length, timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const sites = (await this.api<Array<{ alive: boolean }>>('GET', '/api/sites')).body;
      if (sites.filter((s) => s.alive).length >= count) return;
      if (Date.now() > end) throw new Error(`only ${sites.filter((s) => s.alive).length} of ${count} sites alive after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  async addClasses(names: string[]): Promise<number> {
    const r = await this.api<{ step: number }>('POST', '/api/roster/classes', { classes: names.map((name) => ({ name })) });
    if (r.status !== 201) throw new Error(`adding classes failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.step;
  }

  async waitForStep(step: number, timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      // A coordinator busy aggregating on a loaded machine may drop a poll: try again until the deadline.
      const steps = (await this.api<Array<{ index: number; status: string }>>('GET', '/api/steps').catch((e: Error) => {
        if (Date.now() > end) throw e;
        return { body: [] };
      })).body;
      if (steps.find((s) => s.index === step)?.status === 'completed') return;
      if (Date.now() > end) throw new Error(`step ${step} did not complete within ${timeoutMs} ms: ${JSON.stringify(steps)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.sites.map((s) => s.program?.kill('SIGTERM')));
    await this.coordinator?.kill('SIGTERM');
  }
}
