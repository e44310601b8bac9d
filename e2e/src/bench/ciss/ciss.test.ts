import { test } from 'node:test';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { parseArgs } from './cli';
import { coreListFor } from './cores';
import { METHODS, trainingSettings, PROFILES, coordinatorFlags, methodById } from './methods';
import { classGroups, parseSetting } from './settings';
import { reusedStep0 } from './step0-reuse';
import { finalFigures, gates, stepFigures, summarise, toMarkdown, type BenchResult, type ReportLike } from './table';

const ORDER = ['a', 'b', 'c', 'd', 'e'];

test('X-Y settings follow the class order; the last step may be shorter', () => {
  assert.deepEqual(parseSetting('2-2', ORDER).steps, [['a', 'b'], ['c', 'd'], ['e']]);
  assert.deepEqual(parseSetting('3-1', ORDER).steps, [['a', 'b', 'c'], ['d'], ['e']]);
  assert.deepEqual(parseSetting('5-0', ORDER).steps, [ORDER]);
  assert.deepEqual(parseSetting('2-0', ORDER).steps, [['a', 'b']]);
  const dsad = parseSetting('6-5');
  assert.equal(dsad.steps.length, 2);
  assert.deepEqual(dsad.steps.map((s) => s.length), [6, 5]);
  assert.equal(dsad.steps[1][4], 'vesicular_glands');
  assert.equal(parseSetting('6-1').steps.length, 6);
  assert.equal(parseSetting('11-0').steps.length, 1);
  assert.throws(() => parseSetting('12-1'), /1\.\.11/);
});

test('explicit settings: steps by ";", classes by ","; unknown or repeated classes are refused', () => {
  assert.deepEqual(parseSetting('liver, stomach;ureter').steps, [['liver', 'stomach'], ['ureter']]);
  assert.throws(() => parseSetting('liver;kidney'), /unknown class 'kidney'/);
  assert.throws(() => parseSetting('liver;liver'), /twice/);
  assert.throws(() => parseSetting('liver;;ureter'), /at least one class/);
  assert.deepEqual(classGroups(parseSetting('liver,stomach;ureter;colon')), { old: ['background', 'liver', 'stomach'], new: ['ureter', 'colon'] });
});

test('command line', () => {
  const o = parseArgs(['--setting', '6-1', '--quick', '--methods', 'finetune,ours', '--sites=3', '--json', 'r.json']);
  assert.equal(o.setting, '6-1');
  assert.equal(o.quick, true);
  assert.deepEqual(o.methods, ['finetune', 'ours']);
  assert.equal(o.sites, 3);
  assert.equal(o.json, 'r.json');
  assert.deepEqual(o.seeds, [1, 2, 3], 'three seeds by default');
  assert.deepEqual(parseArgs(['--seeds', '4,5']).seeds, [4, 5]);
  assert.deepEqual(parseArgs(['--seed', '7']).seeds, [7]);
  assert.throws(() => parseArgs(['--seeds', '1,1']), /twice/);
  assert.equal(parseArgs([]).methods.length, METHODS.length);
  assert.throws(() => parseArgs(['--methods', 'nope']), /unknown method/);
  assert.throws(() => parseArgs(['--sites', '0']), /positive/);
  assert.throws(() => parseArgs(['--json']), /needs a value/);
  assert.throws(() => parseArgs(['--frobnicate']), /unknown option/);
});

test('method recipes: what each method turns on', () => {
  const p = PROFILES.quick;
  const ft = trainingSettings(methodById('finetune'), p, 1);
  assert.deepEqual(ft.lossWeights, { ce: 1, unbiasedCe: 0, kd: 0, pod: 0, contrastive: 0, pseudoLabels: 0 });
  assert.equal(ft.replayImages, 0);
  assert.equal(ft.serverDistillSteps, 0);
  const mib = methodById('mib');
  assert.equal((trainingSettings(mib, p, 0).lossWeights as { ce: number }).ce, 1, 'plain CE at step 0 (no teacher yet)');
  assert.deepEqual(trainingSettings(mib, p, 1).lossWeights, { ce: 0, unbiasedCe: 1, kd: 10, pod: 0, contrastive: 0, pseudoLabels: 0 });
  const plop = trainingSettings(methodById('plop'), p, 1).lossWeights as Record<string, number>;
  assert.equal(plop.pseudoLabels, 1);
  assert.ok(plop.pod > 0 && plop.kd === 0);
  const ours = trainingSettings(methodById('ours'), p, 1);
  assert.equal(ours.replayImages, 0, 'replay is an ablation, not the default recipe');
  assert.ok((ours.serverDistillSteps as number) > 0);
  assert.equal((ours.lossWeights as { contrastive: number }).contrastive, 0);
  assert.ok((trainingSettings(methodById('ours-plus-replay'), p, 1).replayImages as number) > 0);
  assert.equal(trainingSettings(methodById('ours-no-server-distill'), p, 1).serverDistillSteps, 0);
  assert.ok((trainingSettings(methodById('ours-plus-contrastive'), p, 1).lossWeights as { contrastive: number }).contrastive > 0);
  const plusPod = trainingSettings(methodById('ours-plus-pod'), p, 1).lossWeights as Record<string, number>;
  assert.deepEqual({ ...plusPod, pod: 0 }, ours.lossWeights, 'ours-plus-pod changes POD only');
  assert.equal(plusPod.pod, 0.5);
  assert.deepEqual(trainingSettings(methodById('ours-mib-ce'), p, 1).lossWeights, { ...(ours.lossWeights as object), ce: 0, unbiasedCe: 1, pseudoLabels: 0 });
  const flags = coordinatorFlags(methodById('finetune'), p, 2);
  assert.equal(flags[flags.indexOf('--generator-rounds') + 1], '0');
  const gen = (generatorNeeded: boolean) => { const f = coordinatorFlags(methodById('ours'), p, 2, generatorNeeded); return f[f.indexOf('--generator-rounds') + 1]; };
  assert.equal(gen(true), String(p.generatorRounds));
  assert.equal(gen(false), '0', 'no generator rounds when no later step uses the generator');
  assert.equal(flags[flags.indexOf('--quorum') + 1], '2');
});

const classes = [
  { id: 0, name: 'background', stepAdded: 0 },
  { id: 1, name: 'liver', stepAdded: 0 },
  { id: 2, name: 'stomach', stepAdded: 0 },
  { id: 3, name: 'ureter', stepAdded: 1 },
];
const reports: ReportLike[] = [
  { step: 0, classes: classes.slice(0, 3), images: 4, perClassIoU: { 0: 0.9, 1: 0.5, 2: 0.4 }, mIoU: { old: null, new: 0.45, all: 0.6 } },
  { step: 1, classes, images: 4, perClassIoU: { 0: 0.8, 1: 0.3, 2: null, 3: 0.1 }, mIoU: { old: 0.55, new: 0.1, all: 0.4 } },
];

test('final figures: percent, by class name, old = background + step-0 classes, nulls left out of the means', () => {
  const f = finalFigures(reports, parseSetting('liver,stomach;ureter'));
  assert.deepEqual(f.perClass, { background: 80, liver: 30, stomach: null, ureter: 10 });
  assert.equal(f.old, 55);
  assert.equal(f.new, 10);
  assert.equal(f.all, 40);
  const steps = stepFigures(reports, [12.5, 20]);
  assert.deepEqual(steps.map((s) => [s.step, s.classesAdded, s.all, s.seconds]), [[0, ['liver', 'stomach'], 60, 12.5], [1, ['ureter'], 40, 20]]);
  assert.deepEqual(finalFigures([], parseSetting('liver;ureter')), { old: null, new: null, all: null, perClass: {} });
});

test('summaries over seeds: mean and sample sd; gates with margins against the spread; Markdown', () => {
  const run = (seed: number, old: number, nw: number, all: number, extra: object = {}) => ({ id: 'ours', label: 'Ours', recipe: 'r', old, new: nw, all, perClass: { liver: old, ureter: nw }, steps: [], seconds: 10 * seed, seed, ...extra });
  const ours = summarise([run(1, 50, 20, 40), run(2, 52, 22, 42), run(3, 54, 24, 44), run(4, 0, 0, 0, { error: 'boom', old: null, new: null, all: null })]);
  assert.deepEqual([ours.old, ours.new, ours.all, ours.oldSd, ours.newSd, ours.allSd], [52, 22, 42, 2, 2, 2]);
  assert.deepEqual(ours.perClass, { liver: 52, ureter: 22 });
  assert.deepEqual(ours.perClassSd, { liver: 2, ureter: 2 });
  assert.deepEqual(ours.errors, ['seed 4: boom']);
  assert.equal(ours.perSeed.length, 4);
  const f = (old: number, nw: number, all: number, s = 1) => ({ old, new: nw, all, oldSd: s, newSd: s, allSd: s });
  const g = gates({ joint: f(60, 40, 45), finetune: f(5, 30, 12), mib: f(40, 10, 30), ours: f(52, 22, 42) }, f(50, 0, 45), 40);
  const by = Object.fromEntries(g.map((x) => [x.name, x]));
  assert.deepEqual([by['joint learns'].margin, by['joint learns'].met], [5, true]);
  assert.deepEqual([by['fine-tuning learns the new classes'].margin, by['fine-tuning learns the new classes'].met], [10, true]);
  assert.deepEqual([by['fine-tuning forgets'].margin, by['fine-tuning forgets'].met], [35, true]);
  assert.deepEqual([by['ours keeps the old classes'].margin, by['ours keeps the old classes'].spread, by['ours keeps the old classes'].met], [7, 2, true]);
  assert.deepEqual([by['ours near joint'].margin, by['ours near joint'].met], [2, false], 'within 5 of joint but by less than the spread (2 < 2 fails)');
  assert.equal(gates({ ours: f(52, 22, 42) }, null, 40).find((x) => x.name === 'ours keeps the old classes')!.met, null);
  const nothingNew = gates({ joint: f(60, 0, 45, 0), finetune: f(5, 0, 12, 0), mib: f(40, 0, 30, 0), ours: f(52, 0, 42, 0) }, f(50, 0, 45), 40);
  for (const name of ['fine-tuning learns the new classes', 'ours learns the new classes']) assert.equal(nothingNew.find((x) => x.name === name)!.met, false, `${name}: 0 >= 0 is not learning`);
  const r: BenchResult = {
    setting: 'liver,stomach;ureter', schedule: [['liver', 'stomach'], ['ureter']], profile: 'quick', sites: 2, seeds: [1, 2, 3, 4], step0: null,
    methods: { ours }, machine: { cpus: 2, cpuModel: 'x', memoryGiB: 8, node: 'v20', platform: 'linux x64' }, startedAt: 'now', seconds: 50, gates: g, options: {},
  };
  const md = toMarkdown(r);
  assert.match(md, /\| Ours \(1 failed\) \| 52\.0 ± 2\.0 \| 22\.0 ± 2\.0 \| 42\.0 ± 2\.0 \| 25 \|/);
  assert.match(md, /\| Method \| bg \| liver \| stomach \| \*\*ureter\*\* \|/);
  assert.match(md, /\| ours near joint \| .* \| 2\.0 \| 2\.0 \| NO \|/);
});

test('site agents get their own cores', () => {
  assert.deepEqual([0, 1].map((i) => coreListFor(i, 2, 2)), ['0', '1']);
  assert.deepEqual([0, 1].map((i) => coreListFor(i, 2, 16)), ['0-7', '8-15']);
  assert.deepEqual([0, 1, 2].map((i) => coreListFor(i, 3, 2)), ['0', '1', '0']);
  assert.equal(coreListFor(0, 2, 1), undefined);
});

test('--reuse-step0: a seed the earlier run lacks trains its own step 0; a folder missing a file is an error naming it', () => {
  const root = mkdtempSync(join(tmpdir(), 'ciss-reuse-'));
  assert.equal(reusedStep0(join(root, 'seed-3'), true), undefined);
  const dir = join(root, 'seed-1', 'runs', 'step0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'step0-segmenter.safetensors'), '');
  assert.equal(reusedStep0(join(root, 'seed-1'), false)?.segmenterFile, join(dir, 'step0-segmenter.safetensors'));
  assert.throws(() => reusedStep0(join(root, 'seed-1'), true), /step0-generator\.safetensors does not exist/);
});

test('quick profile: at least 1500 optimizer steps a site and step (at 450 joint stayed at 23 ± 4 all-class mIoU)', () => {
  const p = PROFILES.quick;
  const stepsPerEpoch = Math.ceil((p.imagesPerSurgery * p.trainSurgeriesPerStep) / p.batchSize);
  assert.ok(stepsPerEpoch * p.localEpochs * p.segmenterRounds >= 1500);
});
