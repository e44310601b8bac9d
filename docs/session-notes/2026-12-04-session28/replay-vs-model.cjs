// What a model predicts on a site's replay images, against the teacher's labels stored with them:
// for each teacher label, the share of its pixels the model gives to each class (>= 2 %).
// Usage: node replay-vs-model.cjs REPLAY_DIR MODEL_SAFETENSORS
const { readFileSync } = require('node:fs');
const ml = require('/work/main/ml/dist/index.js');
const { DSAD_STRUCTURES } = require('/work/main/ml/dist/classes/dsad.js');
(async () => {
  const set = await ml.loadReplaySet(process.argv[2]);
  const { tensors, metadata } = ml.decodeSafetensors(readFileSync(process.argv[3]));
  const seg = ml.parseSegmenterConfig(JSON.parse(metadata.config), 'model');
  const K = ml.classCountOf(tensors);
  const samples = ml.unpackSamples(set.images, set.labels, set.manifest).map((s) => ml.toInputSize(s, seg));
  const [H, W] = seg.inputSize;
  const runner = await ml.SegmenterRunner.create(seg, tensors, K, { batch: 1, runtime: { threads: 1 } });
  const names = ['background', ...DSAD_STRUCTURES];
  const rows = new Map();
  for (const s of samples) {
    const { logits } = await runner.run(s.image, 1);
    for (let p = 0; p < H * W; p++) {
      const c = s.label[p];
      let best = 0; for (let k = 1; k < K; k++) if (logits[k * H * W + p] > logits[best * H * W + p]) best = k;
      const r = rows.get(c) ?? new Array(K).fill(0); r[best]++; rows.set(c, r);
    }
  }
  for (const [c, r] of [...rows].sort((a, b) => a[0] - b[0])) {
    const n = r.reduce((a, b) => a + b, 0);
    console.log(c === 255 ? 'ignored' : names[c], n, JSON.stringify(Object.fromEntries(r.map((v, k) => [names[k], +(v / n).toFixed(3)]).filter(([, v]) => v >= 0.02))));
  }
  await runner.release();
})();
