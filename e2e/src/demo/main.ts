/**
 * `npm run demo`: a coordinator and three hospitals' site agents, each its own process, on
 * generated DSAD-layout data, over mutual TLS, with the embedded database. Imports a diffusion
 * generator pretrained on public scenes for the sites to train on. Runs the base step and
 * an incremental step with diffusion replay, prints progress, then the federated evaluation table
 * and the console address. Ctrl-C stops every process it started.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ReplayStepReport } from '@fedciss/coordinator';
import { Federation } from '../harness/federation';
import { demoRounds, demoTraining, DEMO_GENERATOR_ROUNDS, DEMO_GENERATOR_STEPS, DEMO_FRAME, DEMO_IMAGES_PER_SURGERY, DEMO_PRETRAINED_GENERATOR, DEMO_SCHEDULE, DEMO_TRAIN_SURGERIES_PER_STEP, type DemoOptions } from './demo-profile';
import { formatReportTable, type ReportSteps } from './report-table';

function parseArgs(argv: string[]): DemoOptions {
  const o: DemoOptions = { sites: 3, scale: 1, workDir: resolve('.data/demo'), exitAtEnd: !process.stdin.isTTY };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--sites') o.sites = Number(next());
    else if (a === '--scale') o.scale = Number(next());
    else if (a === '--work-dir') o.workDir = resolve(next());
    else if (a === '--generator-steps') o.generatorBudget = { steps: Number(next()) };
    else if (a === '--generator-seconds') o.generatorBudget = { seconds: Number(next()) };
    else if (a === '--exit') o.exitAtEnd = true;
    else if (a === '--stay') o.exitAtEnd = false;
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`npm run demo -- [--sites N (2..6, default 3)] [--scale K (default 1: ~9 min on 2 idle cores)] [--generator-steps N (per site and generator round, ${DEMO_GENERATOR_ROUNDS} rounds at step 0; default ${DEMO_GENERATOR_STEPS} x K) | --generator-seconds S (a wall-clock budget a round instead)] [--work-dir DIR] [--exit | --stay]\n`);
      process.exit(0);
    } else throw new Error(`unknown option ${a} (try --help)`);
  }
  if (!Number.isInteger(o.sites) || o.sites < 2 || o.sites > 6) throw new Error('--sites must be 2..6');
  if (!Number.isInteger(o.scale) || o.scale < 1 || o.scale > 10) throw new Error('--scale must be 1..10');
  const g = o.generatorBudget;
  if (g && 'steps' in g && !(Number.isInteger(g.steps) && g.steps >= 1 && g.steps <= 100_000)) throw new Error('--generator-steps must be a whole number of steps in [1, 100000]');
  if (g && 'seconds' in g && !(g.seconds > 0 && g.seconds <= 3600)) throw new Error('--generator-seconds must be a number of seconds in (0, 3600]');
  return o;
}

const ANSI = /\x1b\[[0-9;]*m/g;
const started = Date.now();
const clock = () => `${String(Math.floor((Date.now() - started) / 60000)).padStart(2, '0')}:${String(Math.floor(((Date.now() - started) / 1000) % 60)).padStart(2, '0')}`;
const say = (line: string) => process.stdout.write(`[${clock()}] ${line}\n`);

/** "2 site(s): 1 for its generator's fidelity, 1 whose step images show the old classes". */
function skipSummary(r: ReplayStepReport): string {
  const sites = r.fidelityBySite.filter((f) => f.skipped);
  const fidelity = sites.filter((f) => f.skipReason !== 'old-classes-shown').length;
  const shown = sites.length - fidelity;
  const why = [fidelity ? `${fidelity} for its generator's fidelity` : '', shown ? `${shown} whose step images show the old classes` : ''].filter(Boolean);
  return `${sites.length} site(s): ${why.join(', ')}`;
}

/** Only the lines a person watching wants: rounds, steps, contributions, problems. */
function narrate(source: string, raw: string): void {
  const line = raw.replace(ANSI, '');
  if (source === 'coordinator') {
    const m = /\[(Rounds|Federation)\]\s+(.*)$/.exec(line) ?? /(WARN|ERROR).*?\]\s+(.*)$/.exec(line);
    if (m) say(`coordinator  ${m[2].replace(/\s+\+\d+ms$/, '')}`);
    return;
  }
  try {
    const e = JSON.parse(line) as { level: string; event: string; kind?: string; round?: string; fraction?: number; reason?: string; warning?: string; error?: string; loss?: number; fidelity?: number; teacherMiou?: number; studentMiou?: number };
    if (e.event === 'task') say(`${source.padEnd(11)}  ${e.kind!.replace('TASK_KIND_', '').toLowerCase().replace(/_/g, ' ')} (${e.round})`);
    else if (e.event === 'update accepted' || e.event === 'evaluation reported') say(`${source.padEnd(11)}  ${e.event}`);
    else if (e.event === 'replay fidelity') say(`${source.padEnd(11)}  replay fidelity ${e.fidelity!.toFixed(2)} (a model taught only by replay images: mIoU ${(100 * e.studentMiou!).toFixed(1)} vs the teacher's ${(100 * e.teacherMiou!).toFixed(1)})`);
    else if (e.level !== 'info') say(`${source.padEnd(11)}  ${e.level}: ${e.event}${e.reason ? ` (${e.reason})` : ''}${e.warning ? ` (${e.warning})` : ''}${e.error ? ` (${e.error})` : ''}`);
  } catch {
    /* not a log line of ours */
  }
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  rmSync(o.workDir, { recursive: true, force: true });
  mkdirSync(o.workDir, { recursive: true });
  const fed = new Federation({
    workDir: o.workDir,
    sites: o.sites,
    tls: true,
    trainSurgeriesPerStep: DEMO_TRAIN_SURGERIES_PER_STEP,
    steps: DEMO_SCHEDULE.length,
    testSurgeries: 1,
    imagesPerSurgery: DEMO_IMAGES_PER_SURGERY * o.scale,
    imageSize: DEMO_FRAME,
    seed: 2025,
    coordinatorFlags: demoRounds(o.scale),
    training: demoTraining(o.scale, o.generatorBudget),
    echo: narrate,
  });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping every process the demo started');
    await fed.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(130));
  process.on('SIGTERM', () => void stop(143));
  try {
    say(`generating DSAD-layout data for ${o.sites} hospitals (disjoint patients; new patients at each step) in ${o.workDir}`);
    await fed.prepareSites();
    say(`importing the diffusion generator the federation starts from, pretrained on public scenes (no hospital's patients): ${DEMO_PRETRAINED_GENERATOR}`);
    await fed.runCoordinatorCommand(['models', 'import', '--file', DEMO_PRETRAINED_GENERATOR, '--kind', 'generator']);
    say('creating the federation\'s certificate authority and starting the coordinator (embedded PostgreSQL)');
    await fed.startCoordinator();
    say(`console: ${fed.httpUrl}  (user admin, password ${fed.adminPassword})`);
    say('enrolling the hospitals: each makes its key, sends a certificate request, the admin approves it');
    await fed.enrollSites();
    for (const s of fed.sites) fed.startSite(s);
    await fed.waitForSitesAlive();
    for (const [t, classes] of DEMO_SCHEDULE.entries()) {
      say(`admin adds ${classes.join(', ')}: step ${t} opens${t > 0 ? ' (sites replay images from the diffusion generator, distilled from the step-' + (t - 1) + ' model)' : ''}`);
      await fed.addClasses(classes);
      await fed.waitForStep(t, 60 * 60_000);
      say(`step ${t} complete`);
    }
    const report = (await fed.api<ReportSteps>('GET', '/api/reports')).body;
    process.stdout.write('\n' + formatReportTable(report) + '\n');
    const replay = (await fed.api<{ steps: ReplayStepReport[] }>('GET', '/api/reports/replay')).body;
    for (const r of replay.steps) {
      say(`step ${r.step}: replay fidelity ${r.fidelity === null ? '-' : r.fidelity.toFixed(2)} (untrained generator's noise ${r.noiseFidelity === null ? '-' : r.noiseFidelity.toFixed(2)})${r.skippedSites.length ? ` (replay skipped by ${skipSummary(r)})` : ''}, generator realism ${r.realism === null ? '-' : r.realism.toFixed(4)}`);
      if (r.generatorGivenUp) say(`step ${r.step}: ${r.generatorGivenUp}`);
    }
    say(`done in ${clock()}. Report: ${fed.httpUrl}/reports (console), ${fed.httpUrl}/api/reports/report.html (HTML), logs in ${join(o.workDir)}`);
    if (o.exitAtEnd) await stop(0);
    else say('the coordinator keeps serving the console; press Ctrl-C to stop everything');
  } catch (e) {
    process.stderr.write(`demo failed: ${(e as Error).stack ?? e}\n(logs in ${o.workDir})\n`);
    await stop(1);
  }
}

void main();
