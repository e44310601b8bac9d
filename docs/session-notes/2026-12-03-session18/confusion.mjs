// Full confusion matrix of a run's last global segmenter on one seed's test patients (both sites),
// split by nothing: rows true, columns predicted, row-normalised percent.
import { PGlite } from '/work/main/node_modules/@electric-sql/pglite/dist/index.js';
import { readFileSync, cpSync, rmSync } from 'node:fs';
import * as ml from '/work/main/ml/dist/index.js';
import { openDataset } from '/work/main/site-agent/dist/data/index.js';
const [seed, method, base = '/tmp/s17/gated'] = process.argv.slice(2);
const dir = `/tmp/s18/dbc-${method}${seed}-${Date.now()}`;
cpSync(`${base}/seed-${seed}/runs/${method}/coordinator/db`, dir, { recursive: true });
const db = new PGlite(dir);
const roster = (await db.query(`select id, name from roster_classes where id > 0 order by id`)).rows;
const v = (await db.query(`select storage_uri from model_versions where kind='segmenter' and num_classes=12 order by created_at desc limit 1`)).rows[0];
await db.close(); rmSync(dir, { recursive: true, force: true });
const sha = v.storage_uri.slice(7);
const { tensors, metadata } = ml.decodeSafetensors(readFileSync(`${base}/seed-${seed}/runs/${method}/coordinator/models/sha256/${sha.slice(0,2)}/${sha}`));
const config = ml.parseSegmenterConfig(JSON.parse(metadata.config), 'model');
const K = ml.classCountOf(tensors);
const cm = ml.emptyConfusion(K);
for (const site of ['site-0', 'site-1']) {
  const sj = JSON.parse(readFileSync(`${base}/seed-${seed}/data/${site}/site.json`));
  const { dataset } = await openDataset(`${base}/seed-${seed}/data/${site}/data`, { roster, size: { width: 80, height: 64 }, unknown: 'ignore', memoryCache: false });
  const want = new Set(sj.testSurgeries);
  const samples = [];
  for await (const s of dataset.filter((r) => want.has(r.surgery)).epoch()) samples.push(s);
  const c = await ml.evaluateSegmenter({ config, weights: tensors, numClasses: K }, samples);
  for (let i = 0; i < cm.matrix.length; i++) cm.matrix[i] += c.matrix[i];
}
const names = ['backgr', ...roster.map((r) => r.name.slice(0, 6))];
console.log(`${method} seed ${seed}: rows true, cols predicted, % of row`);
console.log('        ' + names.map((n) => n.padStart(6)).join(' ') + '   pixels');
for (let t = 0; t < K; t++) {
  const row = cm.matrix.slice(t * K, t * K + K); const n = row.reduce((a, b) => a + b, 0);
  console.log(names[t].padEnd(8) + row.map((x) => (n ? (100 * x / n).toFixed(0) : '-').padStart(6)).join(' ') + '   ' + n);
}
const col = (p) => { let s = 0; for (let t = 0; t < K; t++) s += cm.matrix[t * K + p]; return s; };
console.log('predicted pixels per class: ' + names.map((n, p) => `${n}:${col(p)}`).join(' '));
process.exit(0);
