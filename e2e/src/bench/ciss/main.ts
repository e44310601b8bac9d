/**
 * `npm run bench:ciss -- --setting 6-5 [--quick] [--methods a,b] [--seeds 1,2,3] [--sites K] [--json F] [--markdown F]`
 *
 * The learning-quality benchmark: for each seed, a generated DSAD-layout dataset and one shared
 * step-0 model; then for each method the whole federated pipeline (coordinator and K site agents as
 * processes) from that model on, and the field's table (per-class IoU, old / new / all mIoU after
 * the last step) from the coordinator's federated report; means ± sd over the seeds and the issue's
 * gates. Runs go one after the other (each run uses every core).
 */
import { cpus, freemem, loadavg, platform, tmpdir, totalmem } from 'node:os';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { DSAD_SPLIT } from '@fedciss/ml/dsad';
import { BenchUserError, runBenchCommand } from '@fedciss/ml/bench';
import { parseArgs, USAGE } from './cli';
import { dpMethods } from './dp';
import { methodById, PROFILES } from './methods';
import { applyOverrides, checkTrainingSettings } from './overrides';
import { prepareData, runMethod, runStep0, type RunContext } from './run';
import { parseSetting } from './settings';
import { reusedStep0 } from './step0-reuse';
import { gates, summarise, toMarkdown, type BenchResult, type MethodResult } from './table';
import { checkOutputFile, writeOutputFile, writeOutputJson } from '../output-file';

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const schedule = parseSetting(o.setting);
  for (const file of [o.json, o.markdown]) if (file) checkOutputFile(file);
  const base = PROFILES[o.quick ? 'quick' : 'default'];
  const sites = o.sites ?? base.sites;
  const profile = applyOverrides(base, o.overrides);
  const train = DSAD_SPLIT.train.length;
  const test = DSAD_SPLIT.test.length;
  if (sites * profile.testSurgeries > test) profile.testSurgeries = Math.floor(test / sites);
  if (sites * schedule.steps.length * profile.trainSurgeriesPerStep > train) profile.trainSurgeriesPerStep = Math.floor(train / (sites * schedule.steps.length));
  if (profile.testSurgeries < 1 || profile.trainSurgeriesPerStep < 1) {
    throw new BenchUserError(`${sites} sites × ${schedule.steps.length} steps need more than DSAD's ${train} training / ${test} test surgeries`);
  }
  if (profile.trainSurgeriesPerStep !== base.trainSurgeriesPerStep || profile.testSurgeries !== base.testSurgeries) {
    console.log(`note: ${profile.trainSurgeriesPerStep} training surgeries per site and step, ${profile.testSurgeries} test surgeries per site (DSAD has ${train} + ${test})`);
  }
  const methods = [...o.methods.map(methodById), ...dpMethods(o.dpEpsilons, o.dpClip, profile, schedule)];
  checkTrainingSettings(methods, profile, schedule.steps.length);
  const outDir = resolve(o.out ?? mkdtempSync(join(tmpdir(), 'bench-ciss-')));
  mkdirSync(outDir, { recursive: true });
  const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);

  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  log(`bench:ciss setting ${schedule.name} (${schedule.steps.map((s) => s.length).join('+')} classes, ${o.scenes} scenes), ${profile.name} profile, ${sites} sites, seeds ${o.seeds.join(', ')}, methods ${methods.map((m) => m.id).join(', ')}; working folder ${outDir}`);
  const runs: Record<string, Array<MethodResult & { seed: number }>> = {};
  const step0Runs: Array<MethodResult & { seed: number }> = [];
  const incremental = methods.some((m) => !m.joint) && schedule.steps.length > 1;
  for (const seed of o.seeds) {
    const ctx: RunContext = { profile, schedule, scenes: o.scenes, sites, seed, outDir: join(outDir, `seed-${seed}`), log, verbose: o.verbose, pin: o.pin };
    const td = Date.now();
    const data = await prepareData(ctx);
    log(`seed ${seed}: data generated in ${((Date.now() - td) / 1000).toFixed(1)} s: ${data.map((d) => `${d.name}: steps ${d.stepSurgeries.map((s) => s.join('+')).join(' | ')}, test ${d.testSurgeries.join('+')}`).join('; ')}`);
    const ownStepData = methods.some((m) => m.ownStepLabels) ? await prepareData(ctx, 'own-step') : undefined;
    const needGenerator = methods.some((m) => !m.joint && (m.replay || m.serverDistill));
    const reused = incremental && o.reuseStep0 ? reusedStep0(resolve(o.reuseStep0, `seed-${seed}`), needGenerator) : undefined;
    if (incremental && o.reuseStep0 && !reused) log(`seed ${seed}: ${o.reuseStep0} has no step 0 of this seed: training it`);
    const step0 = !incremental ? undefined : reused ?? await runStep0(data, ctx, needGenerator);
    if (step0) {
      step0Runs.push({ ...step0.result, seed });
      log(`seed ${seed}: shared step 0: all ${step0.result.all ?? '–'} (${step0.result.seconds} s)`);
    }
    for (const m of methods) {
      const r = await runMethod(m, m.ownStepLabels ? ownStepData! : data, ctx, step0);
      (runs[m.id] ??= []).push({ ...r, seed });
      log(`seed ${seed}: ${m.id}: old ${r.old ?? '–'}  new ${r.new ?? '–'}  all ${r.all ?? '–'}  (${r.seconds} s)${r.error ? `  FAILED: ${r.error}` : ''}`);
    }
    // After every seed: the JSON so far, so a run cut short still leaves its figures.
    if (o.json) writeOutputJson(o.json, collect());
  }
  const result = collect();
  function collect(): BenchResult {
    const summaries = Object.fromEntries(Object.entries(runs).map(([id, rs]) => [id, summarise(rs)]));
    const step0 = step0Runs.length ? summarise(step0Runs) : null;
    const cpu = cpus();
    return {
      setting: schedule.name,
      scenes: o.scenes,
      schedule: schedule.steps,
      profile: profile.name,
      sites,
      seeds: o.seeds,
      step0,
      methods: summaries,
      machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${platform()} ${process.arch}` },
      startedAt,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      gates: gates(summaries, step0, profile.name === 'quick' ? 40 : 50),
      options: { profile, pinnedSites: o.pin, freeMemoryGiB: Math.round(freemem() / 2 ** 30), loadAverage: loadavg(), seedsDone: o.seeds.filter((sd) => Object.values(runs).some((rs) => rs.some((r) => r.seed === sd))) },
    };
  }
  const md = toMarkdown(result);
  console.log('\n' + md);
  if (o.json) writeOutputJson(o.json, result);
  if (o.markdown) writeOutputFile(o.markdown, md);
  for (const file of [o.json, o.markdown]) if (file) log(`wrote ${file}`);
  const failed = Object.values(result.methods).some((r) => r.errors.length);
  if (!o.keep && !o.out && !failed) rmSync(outDir, { recursive: true, force: true });
  else log(`working folder kept: ${outDir}`);
  return failed ? 1 : 0;
}

runBenchCommand('ciss', main);
