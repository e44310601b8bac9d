// What the step-0 teacher says on the step-1 training pixels of each new class (6-5, seed 1, one site):
// mean probability per teacher class, and the share of the class's pixels the teacher confidently
// (>= 0.7) gives to an old foreground class. Usage: node ureter-teacher.cjs SITE_JSON STEP0_SAFETENSORS
const { readFileSync } = require('node:fs');
const ml = require('/work/main/ml/dist/index.js');
const { DSAD_STRUCTURES } = require('/work/main/ml/dist/classes/dsad.js');
const { loadAgentConfig } = require('/work/main/site-agent/dist/config/agent-config.js');
const { SiteData } = require('/work/main/site-agent/dist/work/site-data.js');
(async () => {
  const config = loadAgentConfig({ file: process.argv[2], env: {} });
  const { tensors, metadata } = ml.decodeSafetensors(readFileSync(process.argv[3]));
  const seg = ml.parseSegmenterConfig(JSON.parse(metadata.config), 'step 0');
  const K = ml.classCountOf(tensors);
  const roster = DSAD_STRUCTURES.map((name, i) => ({ id: i + 1, name }));
  const [H, W] = seg.inputSize;
  const real = await new SiteData(config).training(roster, [7, 8, 9, 10, 11], 1, { height: H, width: W });
  const runner = await ml.SegmenterRunner.create(seg, tensors, K, { batch: 1, runtime: { threads: 1 } });
  const stats = new Map();
  for (const s of real) {
    const { logits } = await runner.run(s.image, 1);
    for (let p = 0; p < H * W; p++) {
      const c = s.label[p];
      if (c === 255) continue;
      let m = -Infinity; for (let k = 0; k < K; k++) m = Math.max(m, logits[k * H * W + p]);
      let z = 0; const q = []; for (let k = 0; k < K; k++) { q.push(Math.exp(logits[k * H * W + p] - m)); z += q[k]; }
      const st = stats.get(c) ?? { n: 0, mean: new Array(K).fill(0), confidentOld: 0 };
      let best = 0; for (let k = 0; k < K; k++) { st.mean[k] += q[k] / z; if (q[k] > q[best]) best = k; }
      if (best > 0 && q[best] / z >= 0.7) st.confidentOld++;
      st.n++; stats.set(c, st);
    }
  }
  const names = ['background', ...DSAD_STRUCTURES];
  const out = {};
  for (const [c, st] of [...stats].sort((a, b) => a[0] - b[0])) {
    out[names[c]] = { pixels: st.n, teacherMean: Object.fromEntries(st.mean.map((v, k) => [names[k], +(v / st.n).toFixed(3)]).filter(([, v]) => v >= 0.02)), confidentOldShare: +(st.confidentOld / st.n).toFixed(3) };
  }
  console.log(JSON.stringify({ images: real.length, size: [H, W], classes: out }, null, 1));
  await runner.release();
})();
