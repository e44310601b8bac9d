const { StreamingWeightedMean } = require('/work/main/coordinator/dist/aggregation/streaming-mean.js');
const n = 100000;
const rnd = (s) => { let x = s; return () => { x = (x * 1103515245 + 12345) % 2147483648; return x / 2147483648 - 0.5; }; };
const r = rnd(7);
const g = new Map([['w', { shape: [n], data: new Float32Array(n).map(() => r()) }]]);
const upd = (id, d, w = 80) => ({ siteId: id, sampleCount: w, kind: 'weights', tensors: new Map([['w', { shape: [n], data: g.get('w').data.map((v) => v + d * r()) }]]) });
for (const simd of [true, false]) {
  const a = upd('a', 0.05, 78), b = upd('b', 0.05, 80), c = upd('c', 0.05);
  const run = (list) => { const m = new StreamingWeightedMean(g, 'weights', null, simd); for (const u of list) m.add(u); return m.result ? m.result() : m; };
  const x = run([a, b]), y = run([b, a]);
  const get = (res) => (res.get ? res.get('w') : res.weights.get('w')).data;
  const X = get(x), Y = get(y);
  let diff = 0; for (let i = 0; i < n; i++) if (X[i] !== Y[i]) diff++;
  console.log({ simd, diff });
}
