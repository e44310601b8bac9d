// What the console's browser tests share: a coordinator started in-process with the console mounted,
// in-test gRPC clients playing hospital sites, and Debian's Chromium driven by playwright-core.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { chromium, type Browser, type Page } from 'playwright-core';
import { decodeSafetensors, encodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { TaskKind, type ReplayCheck, type Task, type UploadReceipt } from '@fedciss/proto';
import { resolveConfig, type CoordinatorConfig, startCoordinator, type RunningCoordinator, CoordinatorModule, ConsoleModule, AdminAuthService } from '@fedciss/coordinator';
import { TensorModelFactory, TestSiteClient, until, restClient, signIn as signInApi } from '@fedciss/coordinator/testing';

export { until };

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');
export const ARTIFACTS = join(REPO_ROOT, '.artifacts', 'console');
export const CONSOLE_DIST = join(REPO_ROOT, 'coordinator', 'console', 'dist');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ADMIN = { username: 'admin', password: 'correct horse battery staple' };
export const VIEWER = { username: 'viewer', password: 'read-only horse battery staple' };


/**
 * The coordinator's module with the console mounted. Once app.module.ts imports ConsoleModule itself
 * this adds nothing.
 */
function mountConsole(): void {
  const forRoot = CoordinatorModule.forRoot;
  if ((forRoot as { consoleMounted?: boolean }).consoleMounted) return;
  const patched = ((...args: Parameters<typeof forRoot>) => {
    const m = forRoot.apply(CoordinatorModule, args);
    return (m.imports ?? []).includes(ConsoleModule) ? m : { ...m, imports: [...(m.imports ?? []), ConsoleModule] };
  }) as typeof forRoot & { consoleMounted?: boolean };
  patched.consoleMounted = true;
  CoordinatorModule.forRoot = patched;
}

export interface Federation {
  coordinator: RunningCoordinator;
  config: CoordinatorConfig;
  url: string;
  api<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  close(): Promise<void>;
}

/**
 * A coordinator serving the console from `consoleDir` (default: the build in coordinator/console/dist),
 * with `segmenterRounds` per step (default 1) and `training` over the default training settings.
 */
export async function startFederation(options: { consoleDir?: string; segmenterRounds?: number; training?: Partial<CoordinatorConfig['training']> } = {}): Promise<Federation> {
  if (!options.consoleDir && !existsSync(join(CONSOLE_DIST, 'index.html'))) throw new Error(`the console is not built (${CONSOLE_DIST}): run npm run build:console`);
  mountConsole();
  const previousDir = process.env.FEDCISS_CONSOLE_DIR;
  if (options.consoleDir) process.env.FEDCISS_CONSOLE_DIR = options.consoleDir;
  const dataDir = mkdtempSync(join(tmpdir(), 'console-e2e-'));
  const config = resolveConfig({
    env: {},
    flags: { dataDir, insecure: true, autoApprove: false, grpcAddress: '127.0.0.1:0', httpPort: '0', quorum: '2', segmenterRounds: String(options.segmenterRounds ?? 1), generatorRounds: '0', deadline: '120', tickMs: '100' },
  });
  config.training = { ...config.training, ...options.training };
  let coordinator: RunningCoordinator;
  try {
    coordinator = await startCoordinator(config, new TensorModelFactory(), { logLevels: ['error'] });
  } finally {
    if (previousDir === undefined) delete process.env.FEDCISS_CONSOLE_DIR;
    else process.env.FEDCISS_CONSOLE_DIR = previousDir;
  }
  config.grpcAddress = `127.0.0.1:${coordinator.grpcPort}`;
  const close = async () => {
    await coordinator.close();
    rmSync(dataDir, { recursive: true, force: true });
  };
  let token: string;
  try {
    const auth = coordinator.app.get(AdminAuthService);
    await auth.createUser('test', ADMIN.username, ADMIN.password, 'admin');
    await auth.createUser('test', VIEWER.username, VIEWER.password, 'viewer');
    token = await signInApi(coordinator.httpUrl, ADMIN.username, ADMIN.password);
  } catch (e) {
    await close();
    throw e;
  }
  const api = restClient(() => coordinator.httpUrl, () => token);
  return { coordinator, config, url: coordinator.httpUrl, api, close };
}

function shifted(weights: NamedTensors, by: number): NamedTensors {
  return new Map([...weights].map(([k, t]) => [k, { shape: t.shape, data: t.data.map((v) => v + by) }]));
}

/** A hospital played by the test: enrols, keeps its heartbeat, reports progress, trains, evaluates. */
export class FakeSite {
  readonly client: TestSiteClient;
  private beat: NodeJS.Timeout | undefined;

  constructor(address: string, readonly name: string) {
    this.client = new TestSiteClient(address);
  }

  get id(): string {
    return this.client.siteId;
  }

  async enroll(): Promise<void> {
    await this.client.enroll(this.name);
  }

  async startHeartbeat(): Promise<void> {
    await this.client.heartbeat('idle');
    this.beat = setInterval(() => void this.client.heartbeat('training').catch(() => undefined), 3000);
  }

  async task(kind: TaskKind, what: string): Promise<Task> {
    return until(what, async () => {
      const t = await this.client.getTask();
      return t.kind === kind && t;
    });
  }

  progress(roundId: string, phase: string, fraction: number, metrics: Record<string, number>, message: string): Promise<void> {
    const md = new grpc.Metadata();
    md.set('x-site-id', this.id);
    return new Promise((res, rej) =>
      this.client.client.reportProgress({ roundId, phase, fraction, metrics, message }, md, { deadline: Date.now() + 10_000 }, (e) => (e ? rej(e) : res())),
    );
  }

  /** Downloads the round's global model and uploads it shifted by `by` (or with a NaN, to be rejected). */
  async upload(task: Task, key: string, opts: { by?: number; realImages: number; replayImages?: number; poison?: boolean; replayCheck?: ReplayCheck }): Promise<UploadReceipt> {
    const base = decodeSafetensors(await this.client.download(task.globalModel!.versionId)).tensors;
    const weights = shifted(base, opts.by ?? 0.1);
    if (opts.poison) weights.get('body.weight')!.data[3] = NaN;
    return this.client.upload(
      { idempotencyKey: `update-${this.id}-${key}`.replace(/[^A-Za-z0-9._:-]/g, '-').slice(0, 128), roundId: task.roundId, baseVersionId: task.globalModel!.versionId, kind: 'segmenter', samples: { realImages: opts.realImages, replayImages: opts.replayImages ?? 0, labelledPixels: 0 }, trainMetrics: { loss: 0.4 }, replayCheck: opts.replayCheck },
      encodeSafetensors(weights),
    );
  }

  async evaluate(task: Task, images: number, iou: Record<number, number>): Promise<void> {
    await this.client.reportEvaluation({
      modelVersionId: task.globalModel!.versionId, roundId: task.roundId, images, split: 'test', evaluatedSiteModel: '',
      classes: Object.entries(iou).map(([id, v]) => confusion(Number(id), v)),
    });
  }

  close(): void {
    clearInterval(this.beat);
    this.client.close();
  }
}

/** A hospital enrolled, approved by the admin over the API, and sending heartbeats. */
export async function approvedSite(fed: Federation, name: string): Promise<FakeSite> {
  const s = new FakeSite(fed.config.grpcAddress, name);
  await s.enroll();
  assert.equal((await fed.api('POST', `/api/sites/${s.id}/approve`)).status, 201, `approving ${name}`);
  await s.startHeartbeat();
  return s;
}

/** Confusion counts with exactly the given IoU: TP / (TP + FP + FN). */
export function confusion(classId: number, iou: number, pixels = 100_000) {
  const tp = Math.round(iou * pixels);
  const rest = pixels - tp;
  return { classId, truePositive: tp, falsePositive: Math.floor(rest / 2), falseNegative: rest - Math.floor(rest / 2) };
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  // playwright's launch() gives every browser a fresh temporary --user-data-dir of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export async function newPage(browser: Browser, baseURL: string): Promise<Page> {
  const context = await browser.newContext({ baseURL, viewport: { width: 1366, height: 768 }, deviceScaleFactor: 1, reducedMotion: 'reduce', locale: 'en-GB', timezoneId: 'UTC' });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  (page as Page & { consoleErrors?: string[] }).consoleErrors = errors;
  return page;
}

export async function shot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

export async function signIn(page: Page, who: { username: string; password: string }): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Username').fill(who.username);
  await page.getByLabel('Password').fill(who.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Main' }).waitFor();
}
