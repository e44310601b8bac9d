/**
 * `npm run bench:secagg`: what secure aggregation adds to a round, at 3, 10 and 50 simulated sites,
 * on the platform's default segmenter (every pair masked, as in SecAgg, and SecAgg+ with
 * 2⌈log2 n⌉ neighbours). Per site: key generation, share bundles, masking (quantise + PRG masks),
 * bytes sent. Server: unmasking the sum with every site in, and with one site dropped after sharing
 * its keys. Reference measured in the same run: the plain FedAvg sum of the same n updates (what
 * the coordinator does without secure aggregation). The protocol runs in one process without gRPC
 * or database (the wire and storage costs are those of an upload of the same size); masking is
 * timed on 3 sites and is the same for every site. Then whole rounds through the coordinator
 * (secagg-rounds.ts), secure next to plain. Prints one JSON document.
 */
import { performance } from 'node:perf_hooks';
import { loadavg } from 'node:os';
import { secagg } from '@fedciss/proto';
import { MlModelFactory } from '@fedciss/coordinator';
import { benchOptions, runBenchCommand } from '@fedciss/ml/bench';
import { benchSecureRounds } from './secagg-rounds';

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const ms = (t0: number) => Math.round((performance.now() - t0) * 10) / 10;

async function scenario(n: number, k: number, d: number) {
  const roundId = `bench-${n}-${k}`;
  const params = { roundId, threshold: Math.max(2, Math.ceil((Math.min(k, n - 1) + 1) / 2)), neighbours: k };
  let t0 = performance.now();
  const clients = Array.from({ length: n }, (_, i) => new secagg.SecAggClient(`site-${String(i).padStart(3, '0')}`, params));
  const roster = clients.map((c) => c.advertise());
  const keygenMs = ms(t0) / n;
  const shareMs: number[] = [];
  let shareBytes = 0;
  const mailbox = new Map<string, secagg.EncryptedShare[]>(clients.map((c) => [c.siteId, []]));
  for (const c of clients) {
    t0 = performance.now();
    const bundles = await c.shareKeys(roster);
    shareMs.push(ms(t0));
    for (const b of bundles) (mailbox.get(b.to)!.push(b), (shareBytes += b.ciphertext.length));
  }
  const sharers = clients.map((c) => c.siteId);
  const delta = Float64Array.from({ length: d }, (_, i) => Math.sin(i) * 1e-3);
  const q = { range: 10, sites: n };
  const maskMs: number[] = [];
  for (const c of clients.slice(0, 3)) {
    t0 = performance.now();
    secagg.encodeMasked(c.maskInput(secagg.quantise(delta, q), sharers));
    maskMs.push(ms(t0));
  }
  // Server: the sum's masks removed (its content does not change the cost), all in / one dropped.
  const unmask = async (survivors: string[]) => {
    const dropped = sharers.filter((id) => !survivors.includes(id));
    const revealed = clients.filter((c) => survivors.includes(c.siteId)).flatMap((c) => c.reveal(survivors, dropped, mailbox.get(c.siteId)!));
    t0 = performance.now();
    await secagg.unmaskSum(new Uint32Array(d), roster, sharers, survivors, revealed, params);
    return { ms: ms(t0), revealBytesPerSite: Math.round((revealed.length * 33) / survivors.length) };
  };
  const allIn = await unmask(sharers);
  const oneDropped = await unmask(sharers.slice(1));
  return {
    sites: n,
    neighbours: Math.min(k, n - 1),
    threshold: params.threshold,
    perSite: {
      keygenMs: Math.round(keygenMs * 100) / 100,
      shareKeysMs: median(shareMs),
      maskMs: median(maskMs),
      uploadBytes: 4 + 4 * d,
      shareBundleBytes: Math.round(shareBytes / n),
      revealBytes: allIn.revealBytesPerSite,
    },
    server: { unmaskAllInMs: allIn.ms, unmaskOneDroppedMs: oneDropped.ms },
  };
}

/** The reference: FedAvg's sum of n float32 updates of d values into a float64 accumulator. */
function plainSumMs(n: number, d: number): number {
  const updates = Array.from({ length: Math.min(n, 3) }, () => Float32Array.from({ length: d }, (_, i) => Math.cos(i)));
  const acc = new Float64Array(d);
  const t0 = performance.now();
  for (let s = 0; s < n; s++) {
    const u = updates[s % updates.length];
    for (let i = 0; i < d; i++) acc[i] += 10 * u[i];
  }
  return ms(t0);
}

export async function benchSecAgg(siteCounts = [3, 10, 50]) {
  const factory = new MlModelFactory();
  const weights = await factory.createSegmenter({ numClasses: 5, config: factory.defaultSegmenterConfig() }, 1);
  const d = [...weights.values()].reduce((n, t) => n + t.data.length, 0);
  const results = [];
  for (const n of siteCounts) {
    const ks = [...new Set([n - 1, Math.min(n - 1, 2 * Math.ceil(Math.log2(n)))])];
    for (const k of ks) results.push({ ...(await scenario(n, k, d)), reference: { plainFedAvgSumMs: plainSumMs(n, d), plainUploadBytes: 4 * d } });
  }
  return { model: 'default segmenter', parameters: d, loadAverage: loadavg().map((v) => Math.round(v * 10) / 10), results };
}

async function main(): Promise<number> {
  benchOptions(process.argv.slice(2), {});
  const protocol = await benchSecAgg();
  const rounds = await benchSecureRounds();
  process.stdout.write(JSON.stringify({ protocol, rounds }, null, 2) + '\n');
  return 0;
}

if (require.main === module) runBenchCommand('secagg', main);
