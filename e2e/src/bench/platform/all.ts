/**
 * `npm run bench`: every benchmark of the platform in one run, each printing its own JSON, gathered
 * into one file with the machine it ran on (.artifacts/bench/bench.json) and a Markdown summary
 * (.artifacts/bench/bench.md). Benchmarks run one after another (they would disturb each other).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchOptions, runBenchCommand } from '@fedciss/ml/bench';
import { REPO_ROOT } from '../../harness/child';
import { benchTransfer } from '../scale/transfer';
import { benchRoundOverhead } from './round-overhead';

const SCRIPTS: Array<{ name: string; script: string }> = [
  { name: 'engine', script: 'ml/dist/bench/engine.js' },
  { name: 'diffusion', script: 'ml/dist/diffusion/bench.js' },
  { name: 'data', script: 'site-agent/dist/bench/data.js' },
  { name: 'aggregation', script: 'coordinator/dist/bench/aggregate.js' },
];

/** The JSON document a benchmark printed (the last one, if it printed logs before it). */
export function lastJson(stdout: string): unknown {
  const starts = [...stdout.matchAll(/^\{/gm)].map((m) => m.index!);
  for (const s of starts) {
    try {
      return JSON.parse(stdout.slice(s));
    } catch {
      /* a log line starting with { ; try the next one */
    }
  }
  throw new Error('no JSON document in the output');
}

async function main(): Promise<number> {
  // Each benchmark runs with its defaults; its own command (npm run bench:engine -- ...) takes options.
  benchOptions(process.argv.slice(2), {});
  const out = join(REPO_ROOT, '.artifacts', 'bench');
  mkdirSync(out, { recursive: true });
  const results: Record<string, unknown> = {};
  const seconds: Record<string, number> = {};
  const failed: string[] = [];
  for (const b of SCRIPTS) {
    process.stderr.write(`bench ${b.name} ...\n`);
    const t0 = Date.now();
    const r = spawnSync(process.execPath, [join(REPO_ROOT, b.script)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, stdio: ['ignore', 'pipe', 'inherit'] });
    seconds[b.name] = Math.round((Date.now() - t0) / 1000);
    try {
      if (r.status !== 0) throw new Error(`exited with ${r.status}`);
      results[b.name] = lastJson(r.stdout);
    } catch (e) {
      results[b.name] = { error: (e as Error).message };
      failed.push(b.name);
    }
  }
  for (const [name, run] of [['transfer', () => benchTransfer()], ['roundOverhead', () => benchRoundOverhead()]] as const) {
    process.stderr.write(`bench ${name} ...\n`);
    const t0 = Date.now();
    try {
      results[name] = await run();
    } catch (e) {
      results[name] = { error: (e as Error).message };
      failed.push(name);
    }
    seconds[name] = Math.round((Date.now() - t0) / 1000);
  }
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform, loadAverage: loadavg().map((x) => Number(x.toFixed(2))) };
  const doc = { date: new Date().toISOString(), machine, seconds, results };
  writeFileSync(join(out, 'bench.json'), JSON.stringify(doc, null, 2));
  writeFileSync(join(out, 'bench.md'), summary(doc));
  process.stdout.write(summary(doc));
  process.stderr.write(`written: ${join(out, 'bench.json')} and bench.md\n`);
  // A benchmark that failed is in the files with its error, and makes the run's exit code 1.
  if (failed.length) process.stderr.write(`failed: ${failed.join(', ')}\n`);
  return failed.length ? 1 : 0;
}

function summary(doc: { date: string; machine: Record<string, unknown>; seconds: Record<string, number>; results: Record<string, unknown> }): string {
  const r = doc.results as Record<string, Record<string, unknown>>;
  const engine = (r.engine?.results as Array<{ size: number; ours: Record<string, number>; pytorch?: Record<string, number> }> | undefined) ?? [];
  const lines = [
    `# fedciss benchmarks (${doc.date})`,
    '',
    `Machine: ${doc.machine.cpus} CPUs (${doc.machine.cpuModel}), ${doc.machine.memoryGiB} GiB, Node ${doc.machine.node}, load ${JSON.stringify(doc.machine.loadAverage)}`,
    '',
    '| benchmark | figure |',
    '|---|---|',
    ...engine.map((e) => `| engine, U-Net ${e.size}px batch 8 | train step ${e.ours.trainStepMs} ms (PyTorch ${e.pytorch?.trainStepMs ?? 'n/a'} ms), inference ${e.ours.inferMs} ms (PyTorch ${e.pytorch?.inferMs ?? 'n/a'} ms) |`),
    `| engine, resident memory growth over the run | ${r.engine?.rssGrowthPercent ?? 'n/a'} % |`,
    `| diffusion | train step ${r.diffusion?.trainStepMs ?? 'n/a'} ms, ${r.diffusion?.imagesPerSecond ?? 'n/a'} images/s sampled |`,
    `| data | first epoch ${r.data?.firstEpochImagesPerSecond ?? 'n/a'} images/s, cached ${JSON.stringify(r.data?.cachedEpochsImagesPerSecond ?? 'n/a')} images/s |`,
    `| aggregation (10 updates, 50M parameters) | ${r.aggregation?.aggregateGBps ?? 'n/a'} GB/s vs memory copy ${r.aggregation?.copyGBps ?? 'n/a'} GB/s, peak RSS ${r.aggregation?.peakRssBytes ?? 'n/a'} B for a ${r.aggregation?.modelBytes ?? 'n/a'} B model |`,
    `| transfer, ${r.transfer?.sizeMB ?? 50} MB | gRPC down ${r.transfer?.grpcDownloadMBps ?? 'n/a'} MB/s, up ${r.transfer?.grpcUploadMBps ?? 'n/a'} MB/s, raw socket ${r.transfer?.rawSocketMBps ?? 'n/a'} MB/s |`,
    `| federated round overhead, ${r.roundOverhead?.sites ?? 3} sites, no training | median ${r.roundOverhead?.medianRoundMs ?? 'n/a'} ms per round (model ${r.roundOverhead?.modelBytes ?? 'n/a'} B) |`,
    '',
    `Seconds per benchmark: ${JSON.stringify(doc.seconds)}`,
    '',
  ];
  return lines.join('\n');
}

if (require.main === module) runBenchCommand('all', main);
