/**
 * Runs one method through the whole federated pipeline: a fresh coordinator and fresh site agents
 * (separate processes, real gRPC, embedded database), the schedule's steps opened one after the
 * other through the REST API, and the federated report read back from GET /api/reports (with each
 * step's per-round series, GET /api/reports/steps/:step/rounds).
 * The DSAD-layout data is generated once per seed (prepareData) and every method's sites read it in
 * place. Step 0 is trained once per seed (runStep0) and every incremental method imports its
 * segmenter and generator (`coordinator models import`), so methods differ only from step 1 on.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { Federation } from '../../harness/federation';
import { coreListFor } from './cores';
import { coordinatorFlags, STEP0, trainingSettings, type MethodSpec, type Profile } from './methods';
import { absentByStep, othersByStep, type Scenes, type Schedule } from './settings';
import { finalFigures, roundEvaluationSeconds, roundFigures, stepFigures, type MethodResult, type ReplayLike, type ReportLike, type RoundLike, type RoundSeriesLike } from './table';
import { lastRoundResult } from './step-result';
import { keepStep0Result } from './step0-reuse';

export interface SiteData {
  name: string;
  /** Absolute path of the site's DSAD-layout folder. */
  dataRoot: string;
  stepSurgeries: string[][];
  testSurgeries: string[];
}

export interface RunContext {
  profile: Profile;
  schedule: Schedule;
  scenes: Scenes;
  sites: number;
  /** Seeds the data and every site's training. */
  seed: number;
  outDir: string;
  log: (line: string) => void;
  /** Echo the processes' output (--verbose). */
  verbose?: boolean;
  /** Pin each site agent to its own core(s) (Linux taskset; default on). */
  pin?: boolean;
}

/**
 * Pins a site agent (all its threads) to its share of the cores (the same share as the harness's
 * threads, threadsPerSite) before it creates any ONNX Runtime session: K agents each spinning a pool
 * over every core on a small machine train several times slower than K agents on their own cores
 * (measured on 2 cores: ~150 ms against ~25-35 ms per step of the quick profile). Best effort.
 */
export function pinToCores(pid: number, index: number, sites: number, cores = availableParallelism()): string | undefined {
  const list = coreListFor(index, sites, cores);
  if (process.platform !== 'linux' || !list) return undefined;
  const r = spawnSync('taskset', ['-a', '-p', '-c', list, String(pid)], { encoding: 'utf8' });
  return r.status === 0 ? list : undefined;
}

/** Which annotations the generated training patients carry: every structure they show, or only
 * their own step's classes (what the incremental methods are given; MethodSpec.ownStepLabels). */
export type TrainingLabels = 'all' | 'own-step';

function federationOptions(ctx: RunContext, workDir: string, steps: number, labels: TrainingLabels = 'all') {
  const p = ctx.profile;
  return {
    workDir, sites: ctx.sites, tls: false, trainSurgeriesPerStep: p.trainSurgeriesPerStep, steps, testSurgeries: p.testSurgeries,
    imagesPerSurgery: p.imagesPerSurgery, imageSize: p.imageSize, seed: ctx.seed, annotations: p.annotations,
    absentByStep: absentByStep(ctx.schedule, ctx.scenes),
    ...(labels === 'own-step' ? { unannotatedByStep: othersByStep(ctx.schedule) } : {}),
  };
}

/** The shared step-0 model of a seed: its files (to import) and its own report. */
export interface Step0 {
  segmenterFile: string;
  generatorFile?: string;
  result: MethodResult;
}

/** Generates each site's data once (disjoint surgeries per step and site, own test surgeries); with
 * `labels` 'own-step', the same scenes with each training patient annotated for its own step's
 * classes only (in a folder of their own). */
export async function prepareData(ctx: RunContext, labels: TrainingLabels = 'all'): Promise<SiteData[]> {
  const dir = join(ctx.outDir, labels === 'all' ? 'data' : 'data-own-step-labels');
  const fed = new Federation({ ...federationOptions(ctx, dir, ctx.schedule.steps.length, labels), coordinatorFlags: [], training: {} });
  await fed.prepareSites();
  return fed.sites.map((s) => {
    const cfg = JSON.parse(readFileSync(s.configFile, 'utf8')) as { stepSurgeries: string[][]; testSurgeries: string[] };
    return { name: s.name, dataRoot: resolve(s.dir, 'data'), stepSurgeries: cfg.stepSurgeries, testSurgeries: cfg.testSurgeries };
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until every site has sent a heartbeat after `since` (so a round opened now includes them all). */
async function waitForHeartbeats(fed: Federation, since: number, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fed.api<Array<{ lastHeartbeatAt: string | null }>>('GET', '/api/sites').catch(() => undefined);
    const sites = r?.status === 200 ? r.body : [];
    if (sites.length >= fed.sites.length && sites.every((s) => s.lastHeartbeatAt && Date.parse(s.lastHeartbeatAt) >= since - 500)) return;
    if (Date.now() > end) throw new Error(`sites did not all send a heartbeat within ${timeoutMs} ms`);
    await sleep(300);
  }
}

/** Waits until the report of `step` holds every site's evaluation (the evaluation round's quorum is 1). */
async function waitForReport(fed: Federation, step: number, timeoutMs: number): Promise<ReportLike[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await fed.api<{ steps: ReportLike[] }>('GET', '/api/reports');
    const steps = r.body?.steps ?? [];
    const s = steps.find((x) => x.step === step);
    if (s && (s.perSite?.length ?? 0) >= fed.sites.length) return steps;
    if (Date.now() > end) {
      if (s) return steps; // partial: fewer sites evaluated than trained
      throw new Error(`no report for step ${step} within ${timeoutMs} ms`);
    }
    await sleep(500);
  }
}

/** Each step's per-round series (GET /api/reports/steps/:step/rounds) and its rounds (GET /api/rounds). */
async function readRounds(fed: Federation, steps: readonly number[]): Promise<{ series: RoundSeriesLike[]; rounds: RoundLike[] }> {
  const get = async <T>(path: string): Promise<T> => {
    const r = await fed.api<T>('GET', path);
    if (r.status !== 200) throw new Error(`GET ${path}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const series = await Promise.all(steps.map((t) => get<RoundSeriesLike>(`/api/reports/steps/${t}/rounds`)));
  const rounds = (await Promise.all(steps.map((t) => get<RoundLike[]>(`/api/rounds?step=${t}`)))).flat();
  return { series, rounds };
}

/** Each step's replay check and generator figures (GET /api/reports/replay). */
async function readReplay(fed: Federation): Promise<ReplayLike[]> {
  const r = await fed.api<{ steps: ReplayLike[] }>('GET', '/api/reports/replay');
  if (r.status !== 200) throw new Error(`GET /api/reports/replay: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.steps;
}

interface RunSpec {
  method: MethodSpec;
  /** Class names of each step this run opens. */
  steps: string[][];
  /** Imported before the coordinator starts: the federation begins after step 0. */
  step0?: Step0;
  workDir: string;
  /** Whether a later step of this run uses the generator its generator rounds train. */
  generatorNeeded: boolean;
}

/** Downloads a model version's weights from the coordinator into `file`. */
async function download(fed: Federation, versionId: string, file: string): Promise<void> {
  const r = await fetch(`${fed.httpUrl}/api/models/${versionId}/weights.safetensors`, { headers: { authorization: `Bearer ${await fed.bearer()}` } });
  if (r.status !== 200) throw new Error(`downloading ${versionId}: HTTP ${r.status}`);
  writeFileSync(file, Buffer.from(await r.arrayBuffer()));
}

async function runFederation(spec: RunSpec, data: SiteData[], ctx: RunContext, after?: (fed: Federation) => Promise<void>): Promise<MethodResult> {
  const { method } = spec;
  const t0 = Date.now();
  const first = spec.step0 ? 1 : 0;
  const flags = coordinatorFlags(method, ctx.profile, ctx.sites, spec.generatorNeeded);
  const fed = new Federation({
    ...federationOptions(ctx, spec.workDir, spec.steps.length),
    coordinatorFlags: flags,
    training: trainingSettings(method, ctx.profile, first),
    echo: ctx.verbose ? (src, line) => { if (!/RouterExplorer|RoutesResolver|progress/.test(line)) ctx.log(`  [${method.id} ${src}] ${line.slice(0, 240)}`); } : undefined,
  });
  // The sites read the shared data in place; joint training sees every step's patients at once.
  for (const [i, d] of data.entries()) {
    const dir = join(spec.workDir, `site-${i}`);
    mkdirSync(dir, { recursive: true });
    const configFile = join(dir, 'site.json');
    const stepSurgeries = method.joint ? [d.stepSurgeries.flat()] : d.stepSurgeries;
    writeFileSync(configFile, JSON.stringify({
      siteName: d.name, identityDir: 'identity', dataRoot: d.dataRoot, workDir: 'work', insecure: true,
      stepSurgeries, testSurgeries: d.testSurgeries, heartbeatSeconds: 2,
      evaluationSize: ctx.profile.imageSize, trainingSeed: ctx.seed,
    }, null, 2));
    fed.sites.push({ name: d.name, dir, configFile });
  }
  const stepSeconds: Array<number | null> = [];
  let reports: ReportLike[] = [];
  let replay: ReplayLike[] = [];
  let trained: Awaited<ReturnType<typeof readRounds>> | undefined;
  let error: string | undefined;
  try {
    if (spec.step0) {
      const imports = [['--file', spec.step0.segmenterFile, '--classes', ctx.schedule.steps[0].join(',')]];
      if (spec.step0.generatorFile && (method.replay || method.serverDistill)) imports.push(['--file', spec.step0.generatorFile, '--kind', 'generator']);
      const rounds = ['--segmenter-rounds', String(ctx.profile.segmenterRounds), '--generator-rounds', String(ctx.profile.generatorRounds)];
      for (const args of imports) await fed.runCoordinatorCommand(['models', 'import', ...args, ...rounds]);
    } else if (method.generator && spec.generatorNeeded && ctx.profile.generatorStart) {
      // Step 0's generator rounds fine-tune the pretrained generator, as the demo's do.
      await fed.runCoordinatorCommand(['models', 'import', '--file', resolve(ctx.profile.generatorStart), '--kind', 'generator']);
    }
    await fed.startCoordinator();
    await fed.enrollSites();
    const started = Date.now();
    for (const [i, s] of fed.sites.entries()) {
      const p = fed.startSite(s);
      if (ctx.pin !== false && p.process.pid) pinToCores(p.process.pid, i, fed.sites.length);
    }
    await waitForHeartbeats(fed, started);
    let current = JSON.stringify(trainingSettings(method, ctx.profile, first));
    for (const [t, classes] of spec.steps.entries()) {
      if (t < first) continue; // step 0 was imported
      const wanted = JSON.stringify(trainingSettings(method, ctx.profile, t));
      if (wanted !== current) {
        // The settings a step trains with are fixed when it opens and read at start-up: restart the
        // coordinator with this step's settings (the sites reconnect by themselves).
        writeFileSync(join(fed.coordinatorDir, 'training.json'), wanted);
        await fed.coordinator.kill('SIGTERM');
        const restarted = Date.now();
        await fed.startCoordinator();
        await waitForHeartbeats(fed, restarted);
        current = wanted;
      }
      const ts = Date.now();
      const step = await fed.addClasses(classes);
      if (step !== t) throw new Error(`the coordinator opened step ${step}, expected ${t}`);
      await fed.waitForStep(t, ctx.profile.stepTimeoutMs);
      stepSeconds[t] = (Date.now() - ts) / 1000;
      ctx.log(`  ${method.id} (seed ${ctx.seed}): step ${t} (${classes.length} classes) done in ${stepSeconds[t]!.toFixed(1)} s`);
    }
    reports = await waitForReport(fed, spec.steps.length - 1, 60_000);
    trained = await readRounds(fed, spec.steps.map((_, t) => t).filter((t) => t >= first));
    replay = await readReplay(fed);
    await after?.(fed);
  } catch (e) {
    error = (e as Error).message.split('\n')[0];
    ctx.log(`  ${method.id} (seed ${ctx.seed}): FAILED: ${error} (logs under ${spec.workDir})`);
    try {
      reports = (await fed.api<{ steps: ReportLike[] }>('GET', '/api/reports')).body?.steps ?? [];
    } catch {
      /* the coordinator is gone */
    }
  } finally {
    await fed.stop();
  }
  return {
    id: method.id,
    label: method.label,
    recipe: method.recipe,
    ...finalFigures(error ? [] : reports, ctx.schedule),
    steps: stepFigures(reports, stepSeconds, replay),
    rounds: trained ? roundFigures(trained.series, reports, ctx.schedule) : [],
    roundEvaluationSeconds: trained ? roundEvaluationSeconds(trained.rounds) : null,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    ...(error ? { error } : {}),
  };
}

/** Trains the seed's step 0 once (CE, and the generator when a method needs one) and keeps its files
 * and figures (for `--reuse-step0`). */
export async function runStep0(data: SiteData[], ctx: RunContext, generator: boolean): Promise<Step0> {
  const workDir = join(ctx.outDir, 'runs', 'step0');
  const out: Partial<Step0> = {};
  const schedule: Schedule = { name: ctx.schedule.name, steps: [ctx.schedule.steps[0]] };
  const method = { ...STEP0, generator };
  const result = await runFederation({ method, steps: schedule.steps, workDir, generatorNeeded: generator }, data, { ...ctx, schedule }, async (fed) => {
    const rounds = (await fed.api<RoundLike[]>('GET', '/api/rounds?step=0')).body;
    const last = (kind: string) => lastRoundResult(rounds, 0, kind);
    const seg = last('segmenter');
    if (!seg) throw new Error('step 0 produced no segmenter');
    out.segmenterFile = join(workDir, 'step0-segmenter.safetensors');
    await download(fed, seg, out.segmenterFile);
    const gen = generator ? last('generator') : undefined;
    if (generator && !gen) throw new Error('step 0 produced no generator');
    if (gen) {
      out.generatorFile = join(workDir, 'step0-generator.safetensors');
      await download(fed, gen, out.generatorFile);
    }
  });
  if (result.error || !out.segmenterFile) throw new Error(`the shared step 0 failed: ${result.error ?? 'no model'} (logs under ${workDir})`);
  keepStep0Result(workDir, result);
  return { segmenterFile: out.segmenterFile, generatorFile: out.generatorFile, result };
}

/** One method of the comparison: incremental methods start from the shared step 0; joint trains
 * every class at once from scratch on every training patient, with as many optimizer steps as step 0
 * and the later steps together. */
export async function runMethod(method: MethodSpec, data: SiteData[], ctx: RunContext, step0?: Step0): Promise<MethodResult> {
  const steps = method.joint ? [ctx.schedule.steps.flat()] : ctx.schedule.steps;
  const workDir = join(ctx.outDir, 'runs', method.id);
  return runFederation({ method, steps, workDir, step0: method.joint ? undefined : step0, generatorNeeded: steps.length > 2 }, data, ctx);
}
