// What goes wrong in real federations, end to end over mutual TLS on PostgreSQL, every part its own
// process: a chunk corrupted in transit (refused, sent again), a NaN update (rejected with its
// reason, the round goes on), a site agent SIGKILLed in the middle of an upload (the round
// completes with the quorum, the agent rejoins), the coordinator SIGKILLed in the middle of a round
// (restarted, the round completes, nothing accepted is lost), and sites presenting an identity that
// is not theirs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Client } from 'pg';
import { initCertificateAuthority } from '@fedciss/coordinator';
import { startPostgresServer, type PostgresServer, TestSiteClient, until as poll } from '@fedciss/coordinator/testing';
import { grpcChannelCredentials, initSiteIdentity, storeSiteCertificate } from '@fedciss/site-agent';
import { Federation } from '../harness/federation';
import { tinyFederation } from '../harness/tiny';
import { checkConsistency } from '../harness/consistency';

interface RoundView { id: string; step: number; kind: string; index: number; status: string; accepted: string[]; rejected: string[]; sites: string[] }

describe('a federation under faults', { timeout: 900_000 }, () => {
  const workDir = mkdtempSync(join(tmpdir(), 'e2e-faults-'));
  let pg: PostgresServer;
  let fed: Federation;
  let databaseUrl: string;
  // Polls through coordinator restarts: a refused connection just means "not yet".
  const until = <T>(what: string, fn: () => Promise<T | false | undefined>, ms = 120_000) => poll(what, () => fn().catch(() => undefined), ms, 250);
  /** What a site sent (its outbound audit), in order. */
  const sent = (site: { dir: string }) => readFileSync(join(site.dir, 'work', 'outbound-audit.jsonl'), 'utf8').trim().split('\n')
    .map((l) => JSON.parse(l) as { type: string; detail?: { roundId?: string; resumeOffset?: number } });
  /** The resume offsets of a site's upload headers for a round, and the chunks sent since its first. */
  const uploadOf = (site: { dir: string }, roundId: string) => {
    const records = sent(site);
    const first = records.findIndex((r) => r.type === 'UploadUpdate.header' && r.detail?.roundId === roundId);
    return {
      offsets: records.filter((r) => r.type === 'UploadUpdate.header' && r.detail?.roundId === roundId).map((r) => r.detail!.resumeOffset!),
      chunks: first < 0 ? 0 : records.slice(first).filter((r) => r.type === 'UploadUpdate.chunk').length,
    };
  };
  const rounds = async () => (await fed.api<RoundView[]>('GET', '/api/rounds?step=0')).body.filter((r) => r.kind === 'segmenter').sort((a, b) => a.index - b.index);

  before(async () => {
    pg = await startPostgresServer();
    databaseUrl = pg.createDatabase('faults');
    // The deadline only bounds a round that goes wrong (a killed site is dropped when its heartbeats
    // stop, after 6 s), so it is wide: under a loaded machine (load 9, a benchmark beside the tests)
    // 90 s ran out while the restarted coordinator waited for B's throttled upload, and the round
    // closed at the quorum without it.
    fed = new Federation(tinyFederation(workDir, {
      databaseUrl,
      sites: 4,
      steps: 1,
      coordinatorFlags: ['--quorum', '2', '--segmenter-rounds', '3', '--generator-rounds', '0', '--deadline', '240', '--tick-ms', '200', '--heartbeat-timeout', '6', '--stragglers', 'drop'],
      siteSettings: {
        1: { uploadChunkBytes: 4096, uploadBytesPerSecond: 12_000 },
        2: { uploadChunkBytes: 4096, uploadBytesPerSecond: 4_000 },
      },
      faults: { 0: ['corrupt-chunk'], 3: ['nan-update'] },
    }));
    await fed.startAll();
  });

  after(async () => {
    await fed?.stop();
    pg?.stop();
    if (process.env.FEDCISS_KEEP_E2E !== '1') rmSync(workDir, { recursive: true, force: true });
  });

  test('corrupt chunk, NaN update and a killed agent: the round completes with the quorum', async () => {
    const [a, b, c, d] = fed.sites;
    await fed.addClasses(['liver', 'stomach']);
    // Hospital C uploads slowly; kill it in the middle of its upload.
    await c.program!.waitFor(/upload progress/, 120_000);
    await c.program!.kill('SIGKILL');
    const first = await until('the first round to complete', async () => {
      const r = (await rounds())[0];
      return r?.status === 'completed' && r;
    });
    assert.deepEqual([...first.accepted].sort(), [a.siteId, b.siteId, d.siteId].sort(), 'every site but the killed one counted');
    assert.ok(!first.accepted.includes(c.siteId!));
    // A: the corrupted chunk was refused by the coordinator and the agent sent it again.
    assert.match(a.program!.output, /failed its sha256 check/);
    // D: its NaN update was rejected with the reason recorded, then its next update was accepted.
    const dUpdates = (await fed.api<Array<{ roundId: string; status: string; rejectionReason: string | null }>>('GET', `/api/sites/${d.siteId}/updates`)).body;
    const nan = dUpdates.find((u) => u.roundId === first.id && u.status === 'rejected');
    assert.match(nan?.rejectionReason ?? '', /non-finite value \(NaN\)/);
    assert.ok(dUpdates.some((u) => u.roundId === first.id && u.status === 'accepted'));
    // C comes back (now at full speed) and takes part again.
    const cfg = JSON.parse(readFileSync(c.configFile, 'utf8'));
    delete cfg.uploadBytesPerSecond;
    writeFileSync(c.configFile, JSON.stringify(cfg));
    fed.startSite(c);
  });

  test('the coordinator killed in the middle of a round resumes it and loses nothing', async () => {
    const b = fed.sites[1];
    // Wait until the second round holds an accepted update while B's slow upload is under way
    // (a few of its 4 KiB chunks sent).
    const second = await until('an accepted update in the second round, B uploading', async () => {
      const r = (await rounds())[1];
      return r?.status === 'collecting' && r.accepted.length >= 1 && !r.accepted.includes(b.siteId!) && uploadOf(b, r.id).chunks >= 3 && r;
    });
    const acceptedBefore = (await fed.api<Array<{ id: string; status: string }>>('GET', `/api/sites/${second.accepted[0]}/updates`)).body.filter((u) => u.status === 'accepted').map((u) => u.id);
    const versionsBefore = (await fed.api<Array<{ id: string }>>('GET', '/api/models')).body.map((m) => m.id);
    await fed.coordinator.kill('SIGKILL');
    await fed.startCoordinator();
    const after = await until('the second round to complete after the restart', async () => {
      const r = (await rounds())[1];
      return r?.status === 'completed' && r;
    }, 180_000);
    assert.ok(after.accepted.includes(b.siteId!), 'the interrupted upload was counted');
    // Resumed, not started over: B's own record of what it sent shows the round's upload header
    // sent again after the crash with the offset the coordinator already held, and never from 0 again.
    const headers = uploadOf(b, second.id).offsets;
    assert.equal(headers[0], 0, `B's first attempt starts at byte 0: ${headers.join(', ')}`);
    assert.ok(headers.slice(1).some((o) => o > 0), `B resumed at the offset the coordinator held: ${headers.join(', ')}`);
    assert.ok(headers.slice(1).every((o) => o > 0), `B never started the upload over from 0: ${headers.join(', ')}`);
    for (const id of second.accepted) assert.ok(after.accepted.includes(id), `update of ${id} accepted before the crash still counts`);
    const acceptedAfter = (await fed.api<Array<{ id: string; status: string }>>('GET', `/api/sites/${second.accepted[0]}/updates`)).body.filter((u) => u.status === 'accepted').map((u) => u.id);
    for (const id of acceptedBefore) assert.ok(acceptedAfter.includes(id));
    const versionsAfter = (await fed.api<Array<{ id: string }>>('GET', '/api/models')).body.map((m) => m.id);
    for (const id of versionsBefore) assert.ok(versionsAfter.includes(id), `model version ${id} survived the crash`);
  });

  test('the killed agent rejoins, the step completes, and the database and model store agree', async () => {
    const c = fed.sites[2];
    await fed.waitForStep(0, 240_000);
    const all = await rounds();
    assert.ok(all.slice(1).some((r) => r.accepted.includes(c.siteId!)), 'the restarted agent contributed to a later round');
    const { problems, counts } = await checkConsistency(databaseUrl, fed.coordinatorDir);
    assert.deepEqual(problems, []);
    assert.ok(counts.rejectedUpdates >= 1);
  });

  test('a site cannot act as another, and a certificate from another authority is refused', async () => {
    const [a, b] = fed.sites;
    const address = `localhost:${fed.grpcPort}`;
    // A's own certificate, asking (through metadata) to be B: the metadata is ignored, A stays A.
    const asA = new TestSiteClient(address, grpcChannelCredentials(join(a.dir, 'identity')));
    asA.siteId = b.siteId!;
    try {
      const db = new Client({ connectionString: databaseUrl });
      await db.connect();
      const bKey = (await db.query('SELECT idempotency_key FROM site_updates WHERE site_id = $1 LIMIT 1', [b.siteId])).rows[0].idempotency_key as string;
      await db.end();
      await assert.rejects(asA.uploadStatus(bKey), (e: grpc.ServiceError) => e.code === grpc.status.PERMISSION_DENIED && /belongs to another site/.test(e.details));
      assert.ok(await asA.heartbeat('checking'), 'A itself is served normally');
    } finally {
      asA.close();
    }
    // A certificate signed by a different CA never gets past the TLS handshake.
    const rogueDir = join(workDir, 'rogue');
    const rogueCa = initCertificateAuthority(join(rogueDir, 'ca'), { commonName: 'rogue CA', keyBits: 2048 });
    const { csrPem } = initSiteIdentity(join(rogueDir, 'site'));
    const cert = rogueCa.signSiteCsr(csrPem, { siteId: a.siteId! });
    storeSiteCertificate(join(rogueDir, 'site'), cert.certificatePem, rogueCa.certificatePem);
    const rogue = new TestSiteClient(address, grpc.credentials.createSsl(
      readFileSync(join(fed.coordinatorDir, 'pki', 'ca.cert.pem')),
      readFileSync(join(rogueDir, 'site', 'site.key.pem')),
      Buffer.from(cert.certificatePem),
    ));
    try {
      await assert.rejects(rogue.getTask(), (e: grpc.ServiceError) => e.code === grpc.status.UNAVAILABLE || e.code === grpc.status.UNAUTHENTICATED);
    } finally {
      rogue.close();
    }
  });
});
