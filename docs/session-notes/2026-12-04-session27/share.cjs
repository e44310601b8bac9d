// Labelled-pixel share of replay vs real images at a site's step 1 (seed 1, kdreal run's site-0).
const { loadReplaySet } = require('/work/main/ml/dist/index.js');
(async () => {
  const set = await loadReplaySet(process.argv[2]);
  const { count, height: H, width: W } = set.manifest;
  let labelled = 0; const per = new Map();
  for (const v of set.labels) { if (v !== 255) { labelled++; per.set(v, (per.get(v) ?? 0) + 1); } }
  console.log(JSON.stringify({ count, H, W, labelledPerImage: +(labelled / count).toFixed(1), ofPixels: +(labelled / count / (H * W)).toFixed(3), byClass: Object.fromEntries([...per].sort((a, b) => a[0] - b[0]).map(([k, n]) => [k, +(n / labelled).toFixed(3)])) }));
})();
