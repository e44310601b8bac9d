const root = '/work/main';
const ml = require(`${root}/ml/dist/index.js`);
const { resizeImage, planarToPng } = require(`${root}/ml/dist/images/index.js`);
const fs = require('fs');
(async () => {
  const [file, tag] = [process.argv[2], process.argv[3]];
  const config = ml.replayGeneratorConfig([48, 64]);
  const geo = ml.diffusionGeometry(config);
  const weights = ml.decodeSafetensors(fs.readFileSync(file)).tensors;
  const variants = JSON.parse(process.argv[4]);
  const { height: H, width: W } = geo; const SC = 4, cols = 8, rows = variants.length;
  const OH = rows * (H * SC + 2), OW = cols * (W * SC + 2); const out = new Float32Array(3 * OH * OW).fill(1); const px = 3 * H * W;
  let rr = 0;
  for (const v of variants) {
    const t0 = Date.now();
    const samples = await ml.sampleImages({ config, weights, count: cols, seed: 7, runtime: { threads: 1 }, ...v });
    console.log(JSON.stringify({ ...v, ms: Date.now() - t0 }));
    for (let i = 0; i < cols; i++) {
      const big = resizeImage(samples.subarray(i * px, (i + 1) * px), 3, H, W, H * SC, W * SC);
      for (let c = 0; c < 3; c++) for (let y = 0; y < H * SC; y++) for (let x = 0; x < W * SC; x++) out[c * OH * OW + (rr * (H * SC + 2) + y) * OW + i * (W * SC + 2) + x] = big[c * H * SC * W * SC + y * W * SC + x];
    }
    rr++;
  }
  fs.writeFileSync(`samp-${tag}.png`, planarToPng(out, 3, OH, OW));
})().catch((e) => { console.error(e); process.exit(1); });
