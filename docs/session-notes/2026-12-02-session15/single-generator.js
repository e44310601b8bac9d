// The fifteenth session's single-generator experiment (not part of the build): trains the replay
// recipe with config / training overrides on bench:replay's quick site (96 images) and writes a
// 16-sample grid. After `npm run build`: [LIMIT=N] node single-generator.js NAME STEPS '{config}' '{training}'
const root = require('node:path').resolve(__dirname, '../../..');
const ml = require(`${root}/ml/dist/index.js`);
const { siteData } = require(`${root}/e2e/dist/bench/replay/data.js`);
const fs = require('fs');
(async () => {
  const [name, stepsS, cfgS, trS] = process.argv.slice(2);
  const steps = Number(stepsS);
  const site = await siteData({ dir: '/tmp/single-generator-data', seed: 2025, frame: { width: 160, height: 128 }, trainSurgeries: 4, testSurgeries: 2, imagesPerSurgery: 24, classes: ['liver', 'stomach', 'small_intestine', 'abdominal_wall'], inputSize: [48, 64] });
  const config = ml.replayGeneratorConfig([48, 64], JSON.parse(cfgS || '{}'));
  const geo = ml.diffusionGeometry(config);
  const segGeo = { channels: 3, height: 48, width: 64 };
  // LIMIT=N: the first N training images only (a site of the demo's size has 24).
  const imgs = site.train.map((s) => s.image);
  const train = ml.diffusion.fitImages(process.env.LIMIT ? imgs.slice(0, Number(process.env.LIMIT)) : imgs, segGeo, geo, 'squash');
  const test = ml.diffusion.fitImages(site.test.map((s) => s.image), segGeo, geo, 'squash');
  const T = { ...ml.REPLAY_GENERATOR_TRAINING, ...JSON.parse(trS || '{}') };
  const t0 = Date.now(); const c0 = process.cpuUsage();
  const r = await ml.trainDiffusion({ config, weights: ml.createDiffusionWeights(config, 1), images: train, steps, batchSize: T.batchSize, learningRate: T.learningRate, lossWeighting: T.lossWeighting, minSnrGamma: T.minSnrGamma, emaDecay: T.emaDecay, seed: 1, runtime: { threads: 1 } });
  const secs = (Date.now() - t0) / 1000; const cu = process.cpuUsage(c0);
  const samples = await ml.sampleImages({ config, weights: r.emaWeights, count: 64, steps: ml.REPLAY_SAMPLING_STEPS, seed: 7, runtime: { threads: 1 } });
  const realism = ml.realismReport(samples, test, geo).frechetDistance;
  const { height: H, width: W } = geo; const S = 4, cols = 8, rows = 2;
  const OH = rows * (H * S + 2), OW = cols * (W * S + 2); const out = new Float32Array(3 * OH * OW).fill(1); const px = 3 * H * W;
  for (let i = 0; i < rows * cols; i++) {
    const big = ml.resizeImage ? ml.resizeImage(samples.subarray(i * px, (i + 1) * px), 3, H, W, H * S, W * S) : require(`${root}/ml/dist/images/index.js`).resizeImage(samples.subarray(i * px, (i + 1) * px), 3, H, W, H * S, W * S);
    const rr = Math.floor(i / cols), q = i % cols;
    for (let c = 0; c < 3; c++) for (let y = 0; y < H * S; y++) for (let x = 0; x < W * S; x++) out[c * OH * OW + (rr * (H * S + 2) + y) * OW + q * (W * S + 2) + x] = big[c * H * S * W * S + y * W * S + x];
  }
  fs.writeFileSync(`g-${name}.png`, require(`${root}/ml/dist/images/index.js`).planarToPng(out, 3, OH, OW));
  console.log(JSON.stringify({ name, steps, secs: Math.round(secs), cpu: Math.round((cu.user + cu.system) / 1e6), msPerStep: Math.round(r.stepMs), params: ml.totalParameters ? undefined : undefined, realism: Number(realism.toFixed(4)), loss: Number((r.losses.slice(-100).reduce((a, b) => a + b, 0) / 100).toFixed(4)) }));
})().catch((e) => { console.error(e); process.exit(1); });
