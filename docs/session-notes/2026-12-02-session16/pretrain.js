// node pretrain.js SEED SURGERIES STEPS CHECKPOINTS(comma) NAME
const root = '/work/main';
const ml = require(`${root}/ml/dist/index.js`);
const { siteData } = require(`${root}/e2e/dist/bench/replay/data.js`);
const { resizeImage, planarToPng } = require(`${root}/ml/dist/images/index.js`);
const fs = require('fs');
(async () => {
  const [seed, surg, steps, cps, name] = [Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4]), process.argv[5].split(',').map(Number), process.argv[6]];
  const config = ml.replayGeneratorConfig([48, 64], JSON.parse(process.env.CFG || '{}'));
  const geo = ml.diffusionGeometry(config);
  const segGeo = { channels: 3, height: 48, width: 64 };
  const t0 = Date.now();
  const d = await siteData({ dir: `/tmp/pretrain-data-${seed}-${surg}`, seed, frame: { width: 160, height: 128 }, trainSurgeries: surg, testSurgeries: 2, imagesPerSurgery: 24, classes: ['liver', 'stomach', 'small_intestine', 'abdominal_wall'], inputSize: [48, 64] });
  const train = ml.diffusion.fitImages(d.train.map((s) => s.image), segGeo, geo, 'squash');
  const test = ml.diffusion.fitImages(d.test.map((s) => s.image), segGeo, geo, 'squash');
  console.log(JSON.stringify({ data: train.length, test: test.length, secs: (Date.now() - t0) / 1000 }));
  const T = { ...ml.REPLAY_GENERATOR_TRAINING, ...JSON.parse(process.env.TRAIN || '{}') };
  const threads = Number(process.env.THREADS || 2);
  const grid = async (weights, tag) => {
    const samples = await ml.sampleImages({ config, weights, count: 64, steps: ml.REPLAY_SAMPLING_STEPS, seed: 7, runtime: { threads } });
    const { height: H, width: W } = geo; const SC = 4, cols = 8, rows = 2;
    const OH = rows * (H * SC + 2), OW = cols * (W * SC + 2); const out = new Float32Array(3 * OH * OW).fill(1); const px = 3 * H * W;
    for (let i = 0; i < rows * cols; i++) {
      const big = resizeImage(samples.subarray(i * px, (i + 1) * px), 3, H, W, H * SC, W * SC);
      const rr = Math.floor(i / cols), q = i % cols;
      for (let c = 0; c < 3; c++) for (let y = 0; y < H * SC; y++) for (let x = 0; x < W * SC; x++) out[c * OH * OW + (rr * (H * SC + 2) + y) * OW + q * (W * SC + 2) + x] = big[c * H * SC * W * SC + y * W * SC + x];
    }
    fs.writeFileSync(`pre-${name}-${tag}.png`, planarToPng(out, 3, OH, OW));
    return ml.realismReport(samples, test, geo).frechetDistance;
  };
  const res = await ml.trainDiffusion({ config, images: train, steps, batchSize: T.batchSize, learningRate: T.learningRate, lossWeighting: T.lossWeighting, minSnrGamma: T.minSnrGamma, emaDecay: T.emaDecay, seed: 1, runtime: { threads }, checkpoints: cps,
    onCheckpoint: async (step, w, ema) => {
      fs.writeFileSync(`pre-${name}-${step}.safetensors`, ml.encodeSafetensors(ema));
      const realism = await grid(ema, step);
      console.log(JSON.stringify({ step, realism: Number(realism.toFixed(4)), secs: Math.round((Date.now() - t0) / 1000) }));
    } });
  console.log(JSON.stringify({ done: res.steps, stepMs: res.stepMs }));
})().catch((e) => { console.error(e); process.exit(1); });
