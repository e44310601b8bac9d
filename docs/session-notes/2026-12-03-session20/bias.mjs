// Post-hoc diagnostic: the final global segmenter of a run, scored on the seed's test patients with
// the head's bias of some classes shifted (a logit offset), to see how much of the new classes' loss
// is a bias toward the step's frequent classes. usage: node bias.mjs SEED METHOD BASE 'JSON {class: [offsets]}'
import { PGlite } from '/work/main/node_modules/@electric-sql/pglite/dist/index.js';
import { readFileSync, cpSync, rmSync } from 'node:fs';
import * as ml from '/work/main/ml/dist/index.js';
import { openDataset } from '/work/main/site-agent/dist/data/index.js';
const [seed, method, base, spec] = process.argv.slice(2);
const dir = `/tmp/s20/dbc-${method}${seed}-${Date.now()}`;
cpSync(`${base}/seed-${seed}/runs/${method}/coordinator/db`, dir, { recursive: true });
const db = new PGlite(dir);
const roster = (await db.query(`select id, name from roster_classes where id > 0 order by id`)).rows;
const v = (await db.query(`select storage_uri from model_versions where kind='segmenter' and num_classes=12 order by created_at desc limit 1`)).rows[0];
await db.close(); rmSync(dir, { recursive: true, force: true });
const sha = v.storage_uri.slice(7);
const { tensors, metadata } = ml.decodeSafetensors(readFileSync(`${base}/seed-${seed}/runs/${method}/coordinator/models/sha256/${sha.slice(0,2)}/${sha}`));
const config = ml.parseSegmenterConfig(JSON.parse(metadata.config), 'model');
const K = ml.classCountOf(tensors);
const samples = [];
for (const site of ['site-0', 'site-1']) {
  const sj = JSON.parse(readFileSync(`${base}/seed-${seed}/data/${site}/site.json`));
  const { dataset } = await openDataset(`${base}/seed-${seed}/data/${site}/data`, { roster, size: { width: 80, height: 64 }, unknown: 'ignore', memoryCache: false });
  const want = new Set(sj.testSurgeries);
  for await (const s of dataset.filter((r) => want.has(r.surgery)).epoch()) samples.push(s);
}
const idOf = Object.fromEntries(roster.map((r) => [r.name, r.id]));
const offsets = JSON.parse(spec); // {name: [o1, o2, ...]} all lists the same length; column i applies together
const n = Object.values(offsets)[0].length;
for (let i = 0; i < n; i++) {
  const w = new Map(tensors);
  const b = tensors.get('head.bias');
  const data = Float32Array.from(b.data);
  for (const [name, os] of Object.entries(offsets)) data[idOf[name]] += os[i];
  w.set('head.bias', { ...b, data });
  const cm = await ml.evaluateSegmenter({ config, weights: w, numClasses: K }, samples);
  const iou = (c) => { let tp = cm.matrix[c * K + c], fn = 0, fp = 0; for (let j = 0; j < K; j++) { if (j !== c) { fn += cm.matrix[c * K + j]; fp += cm.matrix[j * K + c]; } } return tp + fn + fp ? 100 * tp / (tp + fn + fp) : 0; };
  const ious = Array.from({ length: K }, (_, c) => iou(c));
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  const old = mean(ious.slice(0, 7)), neu = mean(ious.slice(7)), all = mean(ious);
  console.log(JSON.stringify({ offsets: Object.fromEntries(Object.entries(offsets).map(([k, v]) => [k, v[i]])), old: +old.toFixed(2), new: +neu.toFixed(2), all: +all.toFixed(2), perClass: ious.map((x) => +x.toFixed(1)) }));
}
process.exit(0);
