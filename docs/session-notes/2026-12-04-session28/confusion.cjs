// Confusion rows of a segmenter on a site's test (or step-1 training) images at the input size:
// for each labelled class, the share of its pixels the model gives to each class (>= 2 %).
// Usage: node confusion.cjs SITE_JSON MODEL_SAFETENSORS [test|train]
const { readFileSync } = require('node:fs');
const ml = require('/work/main/ml/dist/index.js');
const { DSAD_STRUCTURES } = require('/work/main/ml/dist/classes/dsad.js');
const { loadAgentConfig } = require('/work/main/site-agent/dist/config/agent-config.js');
const { SiteData } = require('/work/main/site-agent/dist/work/site-data.js');
(async () => {
  const config = loadAgentConfig({ file: process.argv[2], env: {} });
  const { tensors, metadata } = ml.decodeSafetensors(readFileSync(process.argv[3]));
  const seg = ml.parseSegmenterConfig(JSON.parse(metadata.config), 'model');
  const K = ml.classCountOf(tensors);
  const roster = DSAD_STRUCTURES.map((name, i) => ({ id: i + 1, name }));
  const [H, W] = seg.inputSize;
  const data = new SiteData(config);
  const imgs = process.argv[4] === 'train' ? await data.training(roster, [7, 8, 9, 10, 11], 1, { height: H, width: W }) : await data.test(roster, { height: H, width: W });
  const runner = await ml.SegmenterRunner.create(seg, tensors, K, { batch: 1, runtime: { threads: 1 } });
  const names = ['background', ...DSAD_STRUCTURES];
  const rows = new Map();
  for (const s of imgs) {
    const { logits } = await runner.run(s.image, 1);
    for (let p = 0; p < H * W; p++) {
      const c = s.label[p];
      if (c === 255) continue;
      let best = 0; for (let k = 1; k < K; k++) if (logits[k * H * W + p] > logits[best * H * W + p]) best = k;
      const r = rows.get(c) ?? new Array(K).fill(0); r[best]++; rows.set(c, r);
    }
  }
  const out = {};
  for (const [c, r] of [...rows].sort((a, b) => a[0] - b[0])) {
    const n = r.reduce((a, b) => a + b, 0);
    out[names[c]] = { pixels: n, predicted: Object.fromEntries(r.map((v, k) => [names[k], +(v / n).toFixed(3)]).filter(([, v]) => v >= 0.02)) };
  }
  console.log(JSON.stringify({ images: imgs.length, classes: out }));
  await runner.release();
})();
