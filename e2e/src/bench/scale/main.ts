/**
 * `npm run bench:scale -- [--quick] [--json FILE] [--sites 10,100,500] [--models 2,200,2560] [--robust 100x200] [--sections transfer,models,robust,sites]`:
 * the federation as the work grows, each figure measured in this one run (see README, benchmarks):
 * transfer (gRPC against a raw loopback socket, both ways), sites (N simulated mutual-TLS sites
 * on a PostgreSQL coordinator, cost per round and its slope in N, 10 % of the sites dying
 * mid-upload at N = 100), models (2 MB .. 2.5 GB through upload, aggregation and download, peak RSS
 * of both ends), robust (median and trimmed mean of SITES updates of MB MiB each, by slices, peak RSS
 * next to the model's size). Prints one JSON document (and writes it to FILE).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { initCertificateAuthority, issueServerCertificate } from '@fedciss/coordinator';
import { startPostgresServer } from '@fedciss/coordinator/testing';
import { growHeapForTransfers, missingMallocTunables, withMallocTunables } from '@fedciss/proto';
import { BenchUserError, benchOptions, positiveIntegers, runBenchCommand } from '@fedciss/ml/bench';
import { benchTransfer } from './transfer';
import { benchSites, type SitesFigures } from './sites';
import { benchModels, benchRobust } from './models';
import { slope } from './proc-stats';
import { checkOutputFile, writeOutputJson } from '../output-file';

const SECTIONS = ['transfer', 'models', 'robust', 'sites'] as const;
type Section = (typeof SECTIONS)[number];

interface Args {
  quick: boolean;
  sections: Section[];
  json?: string;
  sites: number[];
  modelsMB: number[];
  /** The robust section's update count and model size (MiB). */
  robust: { sites: number; megabytes: number };
}

/** `--robust SITESxMB`, e.g. 100x200: SITES updates of MB MiB each. */
function parseRobust(raw: string): { sites: number; megabytes: number } {
  const m = /^(\d+)x(\d+)$/.exec(raw.trim());
  const [sites, megabytes] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!(sites >= 2 && megabytes >= 1)) throw new BenchUserError(`--robust must be SITESxMB with at least 2 sites and 1 MiB, e.g. 100x200, got '${raw}'`);
  return { sites, megabytes };
}

function parseArgs(argv: string[]): Args {
  const v = benchOptions(argv, { quick: { type: 'boolean' }, json: { type: 'string' }, sites: { type: 'string' }, models: { type: 'string' }, robust: { type: 'string' }, sections: { type: 'string' } });
  const quick = v.quick ?? false;
  const sections = (v.sections ?? SECTIONS.join(',')).split(',');
  const unknown = sections.filter((x) => !(SECTIONS as readonly string[]).includes(x));
  if (unknown.length) throw new BenchUserError(`--sections: unknown section(s) ${unknown.join(', ')} (known: ${SECTIONS.join(', ')})`);
  return {
    quick, json: v.json, sections: sections as Section[],
    sites: v.sites === undefined ? (quick ? [5, 20] : [10, 100, 500]) : positiveIntegers('--sites', v.sites),
    modelsMB: v.models === undefined ? (quick ? [2, 200] : [2, 200, 2560]) : positiveIntegers('--models', v.models),
    // By default the issue's size: 100 sites x 200 MiB (21 GB of update files while it runs).
    robust: v.robust === undefined ? (quick ? { sites: 20, megabytes: 2 } : { sites: 100, megabytes: 200 }) : parseRobust(v.robust),
  };
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.json) checkOutputFile(args.json);
  const started = Date.now();
  const workDir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  const machineAtStart = { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, glibcTunables: process.env.GLIBC_TUNABLES, loadAverage: loadavg().map((x) => Number(x.toFixed(2))) };
  const log = (s: string) => process.stderr.write(`bench:scale ${new Date().toISOString().slice(11, 19)} ${s}\n`);
  const pg = await startPostgresServer();
  // Each section's figures, or its error: one failing section leaves the others' figures, and the
  // document is written after every section (a run stopped half-way keeps what it measured).
  const doc: Record<string, unknown> = { date: new Date(started).toISOString(), quick: args.quick, machine: machineAtStart };
  let failed = false; // a section (or a site count) that failed: the command's exit code is 1
  const save = () => {
    Object.assign(doc, { seconds: Math.round((Date.now() - started) / 1000), loadAverageNow: loadavg().map((x) => Number(x.toFixed(2))) });
    if (args.json) writeOutputJson(args.json, doc);
  };
  const section = async <T>(name: string, run: () => Promise<T>): Promise<T | undefined> => {
    log(`${name} ...`);
    try {
      const value = await run();
      doc[name] = value;
      return value;
    } catch (e) {
      doc[name] = { error: ((e as Error)?.message ?? String(e)).slice(0, 1000) };
      failed = true;
      log(`${name} failed: ${(e as Error)?.stack ?? e}`);
      return undefined;
    } finally {
      save();
    }
  };
  try {
    const on = (s: Section) => args.sections.includes(s);
    if (on('transfer')) {
      const [sizeMb, repeats] = args.quick ? [32, 3] : [64, 5];
      await section('transfer', () => benchTransfer(sizeMb, repeats));
      // Again over TLS, as a deployment moves models: a certificate for 127.0.0.1 from a CA of its own.
      await section('transferTls', async () => {
        const ca = initCertificateAuthority(join(workDir, 'transfer-ca'), { commonName: 'bench:scale transfer CA', keyBits: 2048 });
        const server = issueServerCertificate(ca);
        return benchTransfer(sizeMb, repeats, { caPem: ca.certificatePem, certPem: server.certificatePem, keyPem: server.keyPem });
      });
    }
    // The models (2.5 GB) before the many sites: the largest site count is the longest part.
    if (on('models')) await section('models', () => benchModels({ sizesMB: args.modelsMB, workDir, sites: 3 }));
    if (on('robust')) await section('robustAggregation', () => benchRobust({ ...args.robust, workDir, budgetBytes: args.robust.megabytes * 1024 * 1024 }));
    if (on('sites')) {
      const pkiDir = join(workDir, 'pki');
      initCertificateAuthority(pkiDir, { commonName: 'bench:scale federation CA', keyBits: 2048 });
      const keyCache = join(tmpdir(), 'fedciss-bench-scale-keys');
      mkdirSync(keyCache, { recursive: true });
      const sites: Array<SitesFigures | { sites: number; error: string }> = [];
      doc.sites = sites;
      for (const n of args.sites) {
        // 10 % of the sites die mid-upload in round 1 at N = 100 (the largest N of a quick run).
        const drop = n === 100 || (args.quick && n === args.sites.at(-1));
        log(`sites: ${n}${drop ? ' (10 % dying mid-upload in round 1)' : ''} ...`);
        try {
          sites.push(await benchSites({ sites: n, rounds: args.quick || n > 100 ? 2 : 3, dropFraction: drop ? 0.1 : 0, dropRound: 1, workDir, pkiDir, keyCache, pg, roundTimeoutMs: 15 * 60_000 }));
        } catch (e) {
          sites.push({ sites: n, error: ((e as Error)?.message ?? String(e)).slice(0, 1000) });
          failed = true;
        }
        log(`sites: ${n}: ${JSON.stringify(sites.at(-1))}`);
        const done = sites.filter((x): x is SitesFigures => !('error' in x));
        const per = (f: (x: SitesFigures) => number) => Number(slope(done.map((x) => x.sites), done.map(f)).toFixed(3));
        doc.slopes = {
          note: 'least-squares slope over N of the sites measured: the cost of one more site',
          roundMsPerSite: per((x) => x.roundP50Ms),
          coordinatorCpuSecondsPerRoundPerSite: per((x) => x.coordinatorCpuSecondsPerRound),
          coordinatorPeakRssBytesPerSite: per((x) => x.coordinatorPeakRssBytes),
          databaseBytesPerSite: per((x) => x.databaseBytes),
        };
        save();
      }
    }
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    return failed ? 1 : 0;
  } finally {
    pg.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  if (missingMallocTunables().length) {
    // The sites section runs its coordinator in this process: with the allocator settings a
    // deployed coordinator starts with. glibc reads them only when a process starts, so the bench
    // starts itself again with them.
    const again = spawnSync(process.execPath, [...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit', env: withMallocTunables() });
    process.exit(again.status ?? 1);
  }
  growHeapForTransfers(); // as a deployed coordinator does when it starts
  runBenchCommand('scale', main);
}
