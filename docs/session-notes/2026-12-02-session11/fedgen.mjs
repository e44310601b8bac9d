// The eleventh session's experiment (README "Federated generators: average often"), kept as the
// record of how its figures were made; not part of the build. In-process FedAvg of the demo's
// generator: 3 sites of the demo's size, R rounds of S steps each, the sites' EMA weights averaged
// after every round; writes OUTPREFIX.safetensors (score it with `npm run bench:replay -- --quick
// --seeds 1 --load-generator OUTPREFIX.safetensors`) and OUTPREFIX.png (16 samples, DDIM 20).
// After `npm run build`: cp this file to e2e/ and run `node fedgen.mjs R S OUTPREFIX [SEED]` there.
import { writeFileSync } from 'node:fs';
import { PNG } from 'pngjs';
import * as ml from '@fedciss/ml';
import { siteData } from './dist/bench/replay/data.js';
const [R, S] = process.argv.slice(2, 4).map(Number); const out = process.argv[4]; const SEED = Number(process.argv[5] ?? 1);
const config = ml.replayGeneratorConfig([48, 64]);
const geo = ml.diffusionGeometry(config);
const segGeo = { channels: 3, height: 48, width: 64 };
const sites = [];
for (const seed of [11, 12, 13]) {
  const d = await siteData({ dir: `/tmp/s11/fedgen-data-${seed}`, seed, frame: { width: 160, height: 128 }, trainSurgeries: 2, testSurgeries: 1, imagesPerSurgery: 12, classes: ['liver', 'stomach', 'small_intestine', 'abdominal_wall'], inputSize: [48, 64] });
  sites.push(ml.diffusion.fitImages(d.train.map((s) => s.image), segGeo, geo, 'squash'));
}
let global = ml.createDiffusionWeights(config, SEED);
const T = ml.REPLAY_GENERATOR_TRAINING;
const t0 = Date.now();
for (let r = 0; r < R; r++) {
  const locals = [];
  for (let k = 0; k < sites.length; k++) {
    const res = await ml.trainDiffusion({ config, weights: global, images: sites[k], steps: S, batchSize: T.batchSize, learningRate: T.learningRate, lossWeighting: T.lossWeighting, minSnrGamma: T.minSnrGamma, emaDecay: T.emaDecay, seed: 1000 * (SEED - 1) + 100 * r + k + 1 });
    locals.push(res.emaWeights);
  }
  const avg = new Map();
  for (const [name, t] of locals[0]) { const d = new Float32Array(t.data.length); for (const l of locals) { const x = l.get(name).data; for (let i = 0; i < d.length; i++) d[i] += x[i] / locals.length; } avg.set(name, { shape: t.shape, data: d }); }
  global = avg;
  console.error(`round ${r + 1}/${R} ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
writeFileSync(`${out}.safetensors`, ml.encodeSafetensors(global, { kind: 'generator', numClasses: '0', config: JSON.stringify(config) }));
const imgs = await ml.sampleImages({ config, weights: global, count: 16, steps: ml.REPLAY_SAMPLING_STEPS, seed: 7 });
const { channels, height, width } = geo; const cw = width * 2, ch = height * 2, gw = 8;
const png = new PNG({ width: cw * gw + gw - 1, height: ch * 2 + 1 }); png.data.fill(255); const px = channels * height * width;
for (let k = 0; k < 16; k++) { const ox = (k % gw) * (cw + 1), oy = Math.floor(k / gw) * (ch + 1);
  for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) { const i = ((oy + y) * png.width + ox + x) * 4; for (let c = 0; c < 3; c++) png.data[i + c] = Math.round(255 * imgs[k * px + c * height * width + Math.floor(y / 2) * width + Math.floor(x / 2)]); png.data[i + 3] = 255; } }
writeFileSync(`${out}.png`, PNG.sync.write(png));
console.error('done', ((Date.now() - t0) / 1000).toFixed(0), 's');
