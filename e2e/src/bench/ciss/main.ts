/**
 * `npm run bench:ciss -- --setting 6-5 [--quick] [--methods a,b] [--sites K] [--json F] [--markdown F]`
 *
 * The learning-quality benchmark: for each method, the whole federated pipeline (coordinator and K
 * site agents as processes) on one generated DSAD-layout dataset, then the field's table (per-class
 * IoU, old / new / all mIoU after the last step) from the coordinator's federated report. Methods
 * run one after the other (each run uses every core).
 */
import { cpus, freemem, platform, tmpdir, totalmem } from 'node:os';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { DSAD_SPLIT } from '@fedciss/ml';
import { parseArgs, USAGE } from './cli';
import { methodById, PROFILES, type Profile } from './methods';
import { prepareData, runMethod, type RunContext } from './run';
import { parseSetting } from './settings';
import { goalCheck, toMarkdown, type BenchResult, type MethodResult } from './table';

async function main(): Promise<number> {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    console.log(USAGE);
    return 0;
  }
  const schedule = parseSetting(o.setting);
  const base = PROFILES[o.quick ? 'quick' : 'default'];
  const sites = o.sites ?? base.sites;
  for (const k of Object.keys(o.overrides)) if (!(k in base)) throw new Error(`--set ${k}: the profile has no such field (${Object.keys(base).join(', ')})`);
  const profile: Profile = { ...base, ...o.overrides } as Profile;
  const train = DSAD_SPLIT.train.length;
  const test = DSAD_SPLIT.test.length;
  if (sites * profile.testSurgeries > test) profile.testSurgeries = Math.floor(test / sites);
  if (sites * schedule.steps.length * profile.trainSurgeriesPerStep > train) profile.trainSurgeriesPerStep = Math.floor(train / (sites * schedule.steps.length));
  if (profile.testSurgeries < 1 || profile.trainSurgeriesPerStep < 1) {
    throw new Error(`${sites} sites × ${schedule.steps.length} steps need more than DSAD's ${train} training / ${test} test surgeries`);
  }
  if (profile.trainSurgeriesPerStep !== base.trainSurgeriesPerStep || profile.testSurgeries !== base.testSurgeries) {
    console.log(`note: ${profile.trainSurgeriesPerStep} training surgeries per site and step, ${profile.testSurgeries} test surgeries per site (DSAD has ${train} + ${test})`);
  }
  const methods = o.methods.map(methodById);
  const outDir = resolve(o.out ?? mkdtempSync(join(tmpdir(), 'bench-ciss-')));
  mkdirSync(outDir, { recursive: true });
  const log = (line: string) => console.log(line);
  const ctx: RunContext = { profile, schedule, sites, seed: o.seed, outDir, log, verbose: o.verbose, pin: o.pin };

  const t0 = Date.now();
  const startedAt = new Date().toISOString();
  log(`bench:ciss setting ${schedule.name} (${schedule.steps.map((s) => s.length).join('+')} classes), ${profile.name} profile, ${sites} sites, methods ${methods.map((m) => m.id).join(', ')}; working folder ${outDir}`);
  const td = Date.now();
  const data = await prepareData(ctx);
  log(`data generated in ${((Date.now() - td) / 1000).toFixed(1)} s: ${data.map((d) => `${d.name}: steps ${d.stepSurgeries.map((s) => s.join('+')).join(' | ')}, test ${d.testSurgeries.join('+')}`).join('; ')}`);

  const results: Record<string, MethodResult> = {};
  for (const m of methods) {
    log(`${m.id}: ${m.recipe}`);
    results[m.id] = await runMethod(m, data, ctx);
    const r = results[m.id];
    log(`${m.id}: old ${r.old ?? '–'}  new ${r.new ?? '–'}  all ${r.all ?? '–'}  (${r.seconds} s)${r.error ? `  FAILED: ${r.error}` : ''}`);
  }
  const cpu = cpus();
  const result: BenchResult = {
    setting: schedule.name,
    schedule: schedule.steps,
    profile: profile.name,
    sites,
    methods: results,
    machine: { cpus: cpu.length, cpuModel: cpu[0]?.model ?? 'unknown', memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${platform()} ${process.arch}` },
    startedAt,
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    goal: goalCheck(results),
    options: { profile, seed: o.seed, pinnedSites: o.pin, freeMemoryGiB: Math.round(freemem() / 2 ** 30) },
  };
  const md = toMarkdown(result);
  console.log('\n' + md);
  for (const [file, text] of [[o.json, JSON.stringify(result, null, 2) + '\n'], [o.markdown, md]] as const) {
    if (!file) continue;
    mkdirSync(dirname(resolve(file)), { recursive: true });
    writeFileSync(file, text);
    log(`wrote ${file}`);
  }
  const failed = Object.values(results).some((r) => r.error);
  if (!o.keep && !o.out && !failed) rmSync(outDir, { recursive: true, force: true });
  else log(`working folder kept: ${outDir}`);
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (e: unknown) => {
  console.error(`bench:ciss: ${(e as Error).message}`);
  process.exit(2);
});
