// The sixteenth session's experiment (not part of the build; the fifteenth's federated-generator.js extended):
// [INIT=weights.safetensors] [TRAIN='{"learningRate":2e-4}'] [CFG='{...}'] node fedgen.js MODE R S NAME
// mode 'central': one generator on the three sites' images pooled, R x S steps (the reference without averaging);
// mode 'adam': as 'ema', each site keeping its Adam moments across rounds (needed a trainDiffusion `optimizer`
// option that was reverted after this measurement: it made no difference).
// In-process FedAvg of the demo's generator, 3 sites x 24 images, R rounds x S steps.
// mode 'ema': sites train from the averaged EMA weights and send their EMA (what the platform does);
// mode 'both': sites send raw and EMA weights, both averaged; training continues from the averaged raw
// weights and the EMA from the averaged EMA (a single run's semantics);
// mode 'raw': sites send their raw weights, training continues from their average, which is sampled.
const root = '/work/main';
const ml = require(`${root}/ml/dist/index.js`);
const { siteData } = require(`${root}/e2e/dist/bench/replay/data.js`);
const { resizeImage, planarToPng } = require(`${root}/ml/dist/images/index.js`);
const fs = require('fs');
(async () => {
  const [mode, R, S, name] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4]), process.argv[5]];
  const config = ml.replayGeneratorConfig([48, 64], JSON.parse(process.env.CFG || '{}'));
  const geo = ml.diffusionGeometry(config);
  const segGeo = { channels: 3, height: 48, width: 64 };
  const sites = [];
  for (const seed of [11, 12, 13]) {
    const d = await siteData({ dir: `/tmp/federated-generator-data-${seed}`, seed, frame: { width: 160, height: 128 }, trainSurgeries: 2, testSurgeries: 1, imagesPerSurgery: 12, classes: ['liver', 'stomach', 'small_intestine', 'abdominal_wall'], inputSize: [48, 64] });
    sites.push({ train: ml.diffusion.fitImages(d.train.map((s) => s.image), segGeo, geo, 'squash'), test: ml.diffusion.fitImages(d.test.map((s) => s.image), segGeo, geo, 'squash') });
  }
  const T = { ...ml.REPLAY_GENERATOR_TRAINING, ...JSON.parse(process.env.TRAIN || '{}') };
  let raw = process.env.INIT ? ml.decodeSafetensors(fs.readFileSync(process.env.INIT)).tensors : ml.createDiffusionWeights(config, 1);
  let ema = raw;
  const imgs = (set) => { const px = 3 * geo.height * geo.width; if (Array.isArray(set)) return set; const out = []; for (let i = 0; i < set.length / px; i++) out.push(set.subarray(i * px, (i + 1) * px)); return out; };
  const avg = (sets) => { const out = new Map(); for (const [n, t] of sets[0]) { const d = new Float32Array(t.data.length); for (const s of sets) { const x = s.get(n).data; for (let i = 0; i < d.length; i++) d[i] += x[i] / sets.length; } out.set(n, { shape: t.shape, data: d }); } return out; };
  const t0 = Date.now();
  if (mode === 'central') {
    const res = await ml.trainDiffusion({ config, images: sites.flatMap((s) => [...imgs(s.train)]), steps: R * S, batchSize: T.batchSize, learningRate: T.learningRate, lossWeighting: T.lossWeighting, minSnrGamma: T.minSnrGamma, emaDecay: T.emaDecay, seed: 1, runtime: { threads: 1 } });
    ema = res.emaWeights; raw = res.weights;
  }
  const opts = [undefined, undefined, undefined];
  for (let r = 0; r < (mode === 'central' ? 0 : R); r++) {
    const raws = [], emas = [];
    for (let k = 0; k < 3; k++) {
      const res = await ml.trainDiffusion({ config, weights: mode === 'ema' ? ema : raw, ...(mode === 'both' && r > 0 ? { emaWeights: ema } : {}), images: sites[k].train, steps: S, batchSize: T.batchSize, learningRate: T.learningRate, lossWeighting: T.lossWeighting, minSnrGamma: T.minSnrGamma, emaDecay: T.emaDecay, seed: 100 * r + k + 1, runtime: { threads: 1 }, ...(mode === 'adam' && opts[k] ? { optimizer: opts[k] } : {}) });
      opts[k] = res.optimizer;
      raws.push(res.weights); emas.push(res.emaWeights);
    }
    // SERVER_LR=eta: the global moves eta times the averaged update (1: plain FedAvg).
    const eta = Number(process.env.SERVER_LR || 1);
    const step = (prev, next) => { if (eta === 1) return next; const out = new Map(); for (const [n, t] of next) { const p = prev.get(n).data, d = new Float32Array(t.data.length); for (let i = 0; i < d.length; i++) d[i] = p[i] + eta * (t.data[i] - p[i]); out.set(n, { shape: t.shape, data: d }); } return out; };
    raw = step(raw, avg(raws)); ema = step(ema, avg(emas));
  }
  fs.writeFileSync(`w-${name}.safetensors`, ml.encodeSafetensors(mode === 'raw' ? raw : ema));
  const secs = Math.round((Date.now() - t0) / 1000);
  const samples = await ml.sampleImages({ config, weights: mode === 'raw' ? raw : ema, count: 64, steps: ml.REPLAY_SAMPLING_STEPS, seed: 7, runtime: { threads: 1 } });
  const { height: H, width: W } = geo; const SC = 4, cols = 8, rows = 2;
  const OH = rows * (H * SC + 2), OW = cols * (W * SC + 2); const out = new Float32Array(3 * OH * OW).fill(1); const px = 3 * H * W;
  for (let i = 0; i < rows * cols; i++) {
    const big = resizeImage(samples.subarray(i * px, (i + 1) * px), 3, H, W, H * SC, W * SC);
    const rr = Math.floor(i / cols), q = i % cols;
    for (let c = 0; c < 3; c++) for (let y = 0; y < H * SC; y++) for (let x = 0; x < W * SC; x++) out[c * OH * OW + (rr * (H * SC + 2) + y) * OW + q * (W * SC + 2) + x] = big[c * H * SC * W * SC + y * W * SC + x];
  }
  fs.writeFileSync(`fed-${name}.png`, planarToPng(out, 3, OH, OW));
  const realism = ml.realismReport(samples, sites.flatMap((s) => s.test), geo).frechetDistance;
  console.log(JSON.stringify({ name, mode, R, S, secs, realism: Number(realism.toFixed(4)) }));
})().catch((e) => { console.error(e); process.exit(1); });
