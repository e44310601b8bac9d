const { readFileSync } = require('fs');
const { decodeSafetensors } = require('/work/main/node_modules/@fedciss/ml');
const { StreamingWeightedMean } = require('/work/main/coordinator/dist/aggregation/streaming-mean.js');
const A = '/tmp/s22/q/work/seed-1/runs/step0/coordinator/models/sha256/', B = '/tmp/s23/s0a/seed-1/runs/step0/coordinator/models/sha256/';
const ld = (p) => decodeSafetensors(readFileSync(p)).tensors;
const fd = ld(A + 'fd/fd41942741d75c80d1170bb4242af37cae0c3a5df85d700624bd469a01ec43ec');
const c3 = ld(A + '3c/3c6ce159eb0fe912a16d2f2c81f7c7f5bcfeeb264686587f5ea000c2cfe9452c');
const s22 = ld(A + '4c/4cb886c3715fe879138a361402e78315c8c97f0c5a3b576892f031f1e98737e7');
const s23 = ld(B + '69/6905d380c0d4899c17f6cd2f8f0ab5785cc116abe1943121dc1808a6282804b5');
const diff = (x, y) => { let d = 0; for (const [n, t] of x) { const u = y.get(n).data; t.data.forEach((v, i) => { if (v !== u[i]) d++; }); } return d; };
console.log('s22 vs s23', diff(s22, s23));
for (const [wf, wc] of [[67, 71], [71, 67]]) for (const simd of [false, true]) {
  const run = (l) => { const m = new StreamingWeightedMean(fd, 'weights', null, simd); for (const u of l) m.add(u); return m.result(); };
  const F = { siteId: 'f', sampleCount: wf, kind: 'weights', tensors: fd }, C = { siteId: 'c', sampleCount: wc, kind: 'weights', tensors: c3 };
  const x = run([F, C]), y = run([C, F]);
  console.log({ wf, wc, simd, fc_vs_s22: diff(x, s22), fc_vs_s23: diff(x, s23), cf_vs_s22: diff(y, s22), cf_vs_s23: diff(y, s23) });
}
const t = 'enc0.conv1.weight';
const x1 = fd.get(t).data, x2 = c3.get(t).data, g = s22.get(t).data;
console.log([0,1,2,3,4,5].map((i) => (g[i] - x1[i]) / (x2[i] - x1[i])));
