// Runs the transfer bench over TLS only (as bench:scale's transferTls section does).
const { join } = require('node:path');
const { mkdtempSync } = require('node:fs');
const { initCertificateAuthority, issueServerCertificate } = require('/work/main/coordinator/dist/index.js');
const { benchTransfer } = require('/work/main/e2e/dist/bench/scale/transfer.js');
const { growHeapForTransfers } = require('/work/main/proto/dist/index.js');
growHeapForTransfers();
const dir = mkdtempSync('/tmp/s29/ca-');
const ca = initCertificateAuthority(join(dir, 'ca'), { commonName: 'x', keyBits: 2048 });
const server = issueServerCertificate(ca);
benchTransfer(Number(process.argv[2] ?? 64), Number(process.argv[3] ?? 5), { caPem: ca.certificatePem, certPem: server.certificatePem, keyPem: server.keyPem })
  .then((r) => { const { cpuSecondsPerGiB, note, ...rest } = r; console.log(JSON.stringify({ ...rest, cpu: { up: cpuSecondsPerGiB.up, rawUp: cpuSecondsPerGiB.rawUp, down: cpuSecondsPerGiB.down, rawDown: cpuSecondsPerGiB.rawDown } })); });
