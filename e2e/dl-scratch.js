// scratch: repeated gRPC TLS downloads against the transfer bench's peer, for perf
const { join } = require('node:path');
const { mkdtempSync } = require('node:fs');
const { fork } = require('node:child_process');
const grpc = require('@grpc/grpc-js');
const { initCertificateAuthority, issueServerCertificate } = require('@fedciss/coordinator');
const P = require('@fedciss/proto');
const dir = mkdtempSync('/tmp/s22/ca-');
const ca = initCertificateAuthority(join(dir, 'ca'), { commonName: 'x', keyBits: 2048 });
const server = issueServerCertificate(ca);
const tls = { caPem: ca.certificatePem, certPem: server.certificatePem, keyPem: server.keyPem };
const kind = process.argv[2] ?? 'down';
const n = Number(process.argv[3] ?? 20);
P.growHeapForTransfers();
const bytes = 64 << 20;
const blob = require('node:crypto').randomBytes(bytes);
const digests = P.chunkDigestsOf(blob);
const child = fork('/work/main/e2e/dist/bench/scale/transfer.js', ['--peer', String(bytes), digests.sha256], { env: P.withMallocTunables({ ...process.env, FEDCISS_BENCH_TRANSFER_TLS: JSON.stringify(tls) }) });
child.once('message', async (ready) => {
  console.log('peer pid', child.pid);
  const client = new P.ChunkCodecFederationClient(`127.0.0.1:${ready.grpcPort}`, grpc.credentials.createSsl(Buffer.from(tls.caPem)), P.TRANSFER_CHANNEL_OPTIONS);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    if (kind === 'down') {
      let a;
      for await (const m of client.downloadModel({ versionId: 'v', offset: 0 })) {
        if (m.header) a = new P.ChunkVerifier(m.header.totalBytes, ready.sha256, 1 << 30);
        else await a.check(m.chunk);
      }
      await a.finish();
    } else {
      await new Promise((resolve, reject) => {
        const call = client.uploadUpdate((e) => (e ? reject(e) : resolve()));
        call.write({ header: { idempotencyKey: 'k', roundId: 'r', baseVersionId: 'v', kind: 'segmenter', samples: undefined, totalBytes: blob.length, sha256: digests.sha256, trainMetrics: {}, resumeOffset: 0 } });
        const it = P.chunkBlob(blob, P.DEFAULT_CHUNK_BYTES, 0, digests);
        const pump = () => { for (let c = it.next(); !c.done; c = it.next()) if (!call.write({ chunk: c.value })) return void call.once('drain', pump); call.end(); };
        pump();
      });
    }
    times.push(performance.now() - t0);
  }
  const order = times.map((t) => (64000 / t).toFixed(0)).join(" "); console.log("in order", order); times.sort((a, b) => a - b);
  console.log(kind, 'median MB/s', (64 / (times[n >> 1] / 1000)).toFixed(1), 'all', times.map((t) => (64000 / t).toFixed(0)).join(' '));
  client.close(); child.kill(); process.exit(0);
});
