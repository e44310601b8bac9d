// Secure aggregation through the real coordinator: three gRPC test sites run the site side of the
// protocol (proto's secagg core, as the site agent does), one drops before masking in the first
// round and one after masking in the second; the aggregate equals sample-weighted FedAvg within
// the quantisation error, and nothing the coordinator keeps (database, model store, uploads folder,
// logs) holds any site's unmasked update.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, type NamedTensors } from '@fedciss/ml';
import { DatabaseService } from '../database/database.service';
import { SecureTestSite, until, useTestFederation } from '../testing';

/** Every file under `dir`, recursively. */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

describe('secure aggregation through the coordinator', () => {
  const logs: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  // Everything the coordinator logs is kept, to be searched too (registered before the federation starts).
  before(() => {
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (logs.push(String(chunk)), write(chunk, ...(rest as []))) ) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => (logs.push(String(chunk)), writeErr(chunk, ...(rest as [])))) as typeof process.stderr.write;
  });
  after(() => {
    process.stdout.write = write;
    process.stderr.write = writeErr;
  });
  const federation = useTestFederation({
    name: 'coord-secagg',
    flags: { quorum: '2', segmenterRounds: '2', generatorRounds: '0', deadline: '8', stragglers: 'drop' },
    training: { serverDistillSteps: 0, privacy: { differentialPrivacy: null, secureAggregation: { threshold: 2, neighbours: 0, clipNorm: 10, sampleWeightCap: 1000 } } },
    siteNames: ['Hospital A', 'Hospital B', 'Hospital C'],
    logLevels: ['log', 'warn', 'error'],
  });
  const { api } = federation;
  const sites: SecureTestSite[] = [];
  before(() => {
    const [a, b, c] = federation.sites;
    sites.push(new SecureTestSite(a, 'a', 0.1, 10), new SecureTestSite(b, 'b', 0.4, 30), new SecureTestSite(c, 'c', 0.7, 20));
  });

  const roundResult = (roundId: string) =>
    until(`round ${roundId} to complete`, async () => {
      for (const s of sites) await s.client.heartbeat().catch(() => undefined);
      const r = (await api('GET', '/api/rounds?step=0')).body.find((x: { id: string }) => x.id === roundId);
      if (r?.status === 'failed') throw new Error(`round failed: ${r.reason}`);
      return r?.status === 'completed' && r;
    }, 30_000, 200);

  const expectFedAvg = async (resultVersionId: string, global: NamedTensors, contributors: SecureTestSite[]) => {
    const result = decodeSafetensors(await sites[0].client.download(resultVersionId)).tensors;
    const total = contributors.reduce((n, s) => n + s.samples, 0);
    let worst = 0;
    for (const [name, t] of result) {
      const g = global.get(name)!;
      t.data.forEach((v, i) => {
        const fedavg = contributors.reduce((sum, s) => sum + s.samples * s.shift * (1 + (i % 3) / 10), 0) / total;
        worst = Math.max(worst, Math.abs(v - (g.data[i] + fedavg)));
      });
    }
    // Quantisation: range 10 × 1000, 3 sites → step 1/71582 per weighted coordinate; float32 rounding of the weights ~1e-7.
    assert.ok(worst < 1e-5, `the aggregate is ${worst} away from FedAvg`);
  };

  test('round 1: c shares its keys, then drops before masking: a and b are aggregated exactly, c\'s masks removed', { timeout: 90_000 }, async () => {
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    const [a, b, c] = sites;
    const roundId = await a.advertise();
    assert.equal(await b.advertise(), roundId);
    assert.equal(await c.advertise(), roundId);
    for (const s of sites) await s.share(roundId);
    const global = await a.upload(roundId);
    await b.upload(roundId);
    // c never uploads: at the deadline (8 s, policy drop) the round closes with a and b.
    await a.reveal(roundId);
    await b.reveal(roundId);
    const round = await roundResult(roundId);
    assert.deepEqual([...round.accepted].sort(), [a.id, b.id].sort());
    await expectFedAvg(round.resultVersionId, global, [a, b]);
  });

  test('round 2: all three mask and upload, c drops after masking (never reveals): its update still counts, exactly', { timeout: 90_000 }, async () => {
    const [a, b, c] = sites;
    const roundId = await a.advertise();
    await b.advertise();
    await c.advertise();
    for (const s of sites) await s.share(roundId);
    const global = await a.upload(roundId);
    await b.upload(roundId);
    await c.upload(roundId);
    await a.reveal(roundId);
    await b.reveal(roundId);
    const round = await roundResult(roundId);
    assert.deepEqual([...round.accepted].sort(), sites.map((s) => s.id).sort());
    await expectFedAvg(round.resultVersionId, global, [a, b, c]);
  });

  test('the database, the model store, the uploads folder and the logs hold no site\'s unmasked update', async () => {
    // The tables, as text (json, base64 and hex of every value), and every file the coordinator wrote.
    const prisma = federation.coordinator.app.get(DatabaseService).prisma;
    const tables = (await prisma.$queryRawUnsafe<Array<{ table_name: string }>>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")).map((r) => r.table_name);
    let dump = '';
    for (const t of tables) dump += JSON.stringify(await prisma.$queryRawUnsafe(`SELECT * FROM "${t}"`), (_, v) => (typeof v === 'bigint' ? String(v) : v));
    const haystacks: Array<[string, Buffer]> = [['database tables', Buffer.from(dump)], ['logs', Buffer.from(logs.join(''))]];
    for (const f of files(federation.dataDir)) haystacks.push([f, readFileSync(f)]);
    assert.ok(haystacks.some(([f]) => f.includes(join(federation.dataDir, 'models'))), 'the model store was searched');
    assert.ok(haystacks.some(([f]) => f.includes(join(federation.dataDir, 'db'))), 'the database files were searched');
    let searched = 0;
    const windowOf = (b: Buffer) => {
      const mid = Math.floor(b.length / 2) & ~3;
      return b.subarray(mid - 12, mid + 12);
    };
    for (const s of sites) {
      for (const secret of s.secrets) {
        // A 24-byte window from the middle of the secret, raw and as base64 and hex (how JSON and logs would carry it).
        const window = windowOf(secret);
        for (const [where, bytes] of haystacks) {
          assert.equal(bytes.indexOf(window), -1, `${s.name}'s unmasked update found in ${where}`);
          assert.equal(bytes.indexOf(Buffer.from(window.toString('base64').slice(4, 28))), -1, `${s.name}'s unmasked update (base64) found in ${where}`);
          assert.equal(bytes.indexOf(Buffer.from(window.toString('hex'))), -1, `${s.name}'s unmasked update (hex) found in ${where}`);
          searched++;
        }
      }
    }
    assert.ok(searched > 10);
    // The search can fail: the masked uploads, which the coordinator does keep, are found in its model store.
    for (const s of sites) for (const m of s.masked) assert.ok(haystacks.some(([f, bytes]) => f.includes(join(federation.dataDir, 'models')) && bytes.indexOf(windowOf(m)) >= 0), `${s.name}'s masked upload not found in the store`);
  });
});
