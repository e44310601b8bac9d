import { test } from 'node:test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { parseArgs } from './cli';
import { coreListFor } from './cores';
import { METHODS, trainingSettings, PROFILES, coordinatorFlags, methodById } from './methods';
import { absentByStep, classGroups, othersByStep, parseSetting } from './settings';
import { keepStep0Result, reusedStep0 } from './step0-reuse';
import { lastRoundResult } from './step-result';
import { tempFolder } from '../../harness/temp-folder';
import { finalFigures, gates, pairedDifference, roundEvaluationSeconds, roundFigures, stepFigures, summarise, toMarkdown, type BenchResult, type ReportLike, type RoundFigures, type RoundLike, type RoundSeriesLike } from './table';

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
  assert.throws(() => parseArgs(['--sites', '0']), /--sites must be a positive integer, got '0'/);
  assert.throws(() => parseArgs(['--dp-clip', '0']), /--dp-clip must be a positive number, got '0'/);
  assert.equal(parseArgs(['--dp-clip', '0.5']).dpClip, 0.5);
  assert.throws(() => parseArgs(['--json']), /needs a value/);
  assert.throws(() => parseArgs(['--frobnicate']), /unknown option/);
  assert.equal(parseArgs([]).scenes, 'disjoint');
  assert.equal(parseArgs(['--scenes', 'overlapped']).scenes, 'overlapped');
  assert.throws(() => parseArgs(['--scenes', 'apart']), /--scenes must be one of overlapped, disjoint, got 'apart'/);
});

test('disjoint scenes: a step\'s training surgeries never show the earlier steps\' structures; overlapped leaves every step whole', () => {
  const schedule = parseSetting('liver,stomach;ureter;colon,spleen');
  assert.deepEqual(absentByStep(schedule, 'disjoint'), [[], ['liver', 'stomach'], ['liver', 'stomach', 'ureter']]);
  assert.deepEqual(absentByStep(schedule, 'overlapped'), [[], [], []]);
});

test("joint on the steps' labels: every class at once, each step's patients annotated for that step's classes only", () => {
  const schedule = parseSetting('liver,stomach;ureter;colon,spleen');
  assert.deepEqual(othersByStep(schedule), [['ureter', 'colon', 'spleen'], ['liver', 'stomach', 'colon', 'spleen'], ['liver', 'stomach', 'ureter']]);
  const bound = methodById('joint-own-step-labels');
  assert.deepEqual([bound.joint, bound.ownStepLabels, bound.losses(0)], [true, true, methodById('joint').losses(0)]);
  assert.ok(METHODS.filter((m) => m.ownStepLabels).every((m) => m.joint), 'own-step labels only change what a joint run learns from');
});

test('method recipes: what each method turns on', () => {
  const p = PROFILES.quick;
  const ft = trainingSettings(methodById('finetune'), p, 1);
  assert.deepEqual(ft.lossWeights, { ce: 1, unbiasedCe: 0, separatedCe: 0, replayCe: 0, kd: 0, pod: 0, contrastive: 0, dice: 0, pseudoLabels: 0 });
  assert.equal(ft.replayImages, 0);
  assert.equal(ft.serverDistillSteps, 0);
  const mib = methodById('mib');
  assert.equal((trainingSettings(mib, p, 0).lossWeights as { ce: number }).ce, 1, 'plain CE at step 0 (no teacher yet)');
  assert.deepEqual(trainingSettings(mib, p, 1).lossWeights, { ce: 0, unbiasedCe: 1, separatedCe: 0, replayCe: 0, kd: 10, pod: 0, contrastive: 0, dice: 0, pseudoLabels: 0 });
  const plop = trainingSettings(methodById('plop'), p, 1).lossWeights as Record<string, number>;
  assert.equal(plop.pseudoLabels, 1);
  assert.ok(plop.pod > 0 && plop.kd === 0);
  const ours = trainingSettings(methodById('ours'), p, 1);
  assert.ok((ours.replayImages as number) > 0, 'replay where needed is part of the default recipe');
  assert.equal(ours.replayBelowOldClassShare, undefined, "ours takes the coordinator's default share at which sites skip replay");
  assert.equal(trainingSettings(methodById('ours-no-replay'), p, 1).replayImages, 0);
  for (const id of ['ours-plus-replay', 'ours-plus-light-replay']) assert.equal(trainingSettings(methodById(id), p, 1).replayBelowOldClassShare, 0, `${id} replays whatever the step's images show`);
  assert.equal(ours.replayFidelityThreshold, undefined, "ours takes the coordinator's default: the noise floor alone gates replay");
  assert.equal(ours.replayCheck, undefined, "ours takes the coordinator's default replay check");
  assert.equal(trainingSettings(methodById('ours-no-replay-check'), p, 1).replayCheck, false, 'the replay check off: every site replays');
  assert.equal(trainingSettings(methodById('ours-fidelity-gate'), p, 1).replayFidelityThreshold, 0.5, 'the former absolute fidelity gate');
  assert.equal(ours.serverDistillSteps, 0, 'server-side distillation is out of the default recipe');
  assert.equal((ours.lossWeights as { contrastive: number }).contrastive, 0);
  assert.deepEqual(ours.lossWeights, { ce: 0, unbiasedCe: 0, separatedCe: 1, replayCe: 0, kd: 10, pod: 0, contrastive: 0, dice: 0, pseudoLabels: 1 }, 'the separated cross-entropy in place of the plain one');
  assert.deepEqual(trainingSettings(methodById('ours-plain-ce'), p, 1).lossWeights, { ...(ours.lossWeights as object), ce: 1, separatedCe: 0 }, 'ours-plain-ce changes the cross-entropy only');
  assert.ok((trainingSettings(methodById('ours-plus-replay'), p, 1).replayImages as number) > 0);
  assert.ok((trainingSettings(methodById('ours-plus-server-distill'), p, 1).serverDistillSteps as number) > 0);
  assert.ok((trainingSettings(methodById('ours-plus-contrastive'), p, 1).lossWeights as { contrastive: number }).contrastive > 0);
  const plusPod = trainingSettings(methodById('ours-plus-pod'), p, 1).lossWeights as Record<string, number>;
  assert.deepEqual({ ...plusPod, pod: 0 }, ours.lossWeights, 'ours-plus-pod changes POD only');
  assert.equal(plusPod.pod, 0.5);
  assert.deepEqual(trainingSettings(methodById('ours-mib-ce'), p, 1).lossWeights, { ...(ours.lossWeights as object), ce: 0, separatedCe: 0, unbiasedCe: 1, pseudoLabels: 0 });
  const flags = coordinatorFlags(methodById('finetune'), p, 2);
  assert.equal(flags[flags.indexOf('--generator-rounds') + 1], '0');
  const gen = (generatorNeeded: boolean) => { const f = coordinatorFlags(methodById('ours'), p, 2, generatorNeeded); return f[f.indexOf('--generator-rounds') + 1]; };
  assert.equal(gen(true), String(p.generatorRounds));
  assert.equal(gen(false), '0', 'no generator rounds when no later step uses the generator');
  const later = (id: string, generatorNeeded: boolean) => { const f = coordinatorFlags(methodById(id), p, 2, generatorNeeded); return f[f.indexOf('--later-step-generator-rounds') + 1]; };
  assert.equal(later('ours', true), '0', 'ours keeps the step-0 generator: no generator rounds in later steps');
  assert.equal(later('ours-retrain-generator', true), String(p.generatorRounds), 'the ablation trains it on in every later step');
  assert.equal(later('ours-retrain-generator', false), '0', 'unless no later step uses it');
  assert.ok((trainingSettings(methodById('ours-retrain-generator'), p, 1).replayImages as number) > 0);
  assert.equal(flags[flags.indexOf('--quorum') + 1], '2');
  // Endpoint fusion: off in the published baselines and in ours; the *-plus-fusion methods add it and nothing else.
  for (const id of ['finetune', 'mib', 'plop', 'ours']) assert.equal(trainingSettings(methodById(id), p, 1).endpointFusion, 0, `${id} is not fused`);
  for (const [id, base, weight] of [['mib-plus-fusion', 'mib', 0.1], ['ours-plus-fusion', 'ours', 0.1]] as const) {
    assert.deepEqual(trainingSettings(methodById(id), p, 1), { ...trainingSettings(methodById(base), p, 1), endpointFusion: weight }, `${id} is ${base} with fusion, nothing else`);
  }
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

test("the sites' replay check per step: taken from GET /api/reports/replay, summarised over the seeds in the Markdown", () => {
  // Each skipped site is skipped for its generator's fidelity unless it says its step images show the old classes.
  const check = (step: number, fidelity: number | null, skipped: string[], generatorSteps: number, failed = 0, givenUp: string | null = null, shown: string[] = []) =>
    ({
      step, fidelity, noiseFidelity: fidelity === null ? null : 0.5, skippedSites: skipped, realism: 0.1, generatorSteps, generatorRoundsFailed: failed, generatorGivenUp: givenUp,
      fidelityBySite: fidelity === null ? [] : ['site-a', 'site-b'].map((id, i) => ({ skipReason: shown.includes(id) ? 'old-classes-shown' as const : skipped.includes(id) ? 'low-fidelity' as const : null, oldClassShare: i ? 0.004 : 0.126 })),
    });
  const seed1 = stepFigures(reports, [], [check(0, null, [], 600), check(1, 0.8, ['site-a'], 0, 1, null, ['site-a'])]);
  assert.deepEqual(seed1.map((s) => s.replay), [
    { fidelity: null, noiseFidelity: null, sitesSkipping: 0, sitesSkippingOldClassesShown: 0, oldClassSharePercent: null, realism: 0.1, generatorSteps: 600, generatorRoundsFailed: 0, generatorGivenUp: false },
    { fidelity: 0.8, noiseFidelity: 0.5, sitesSkipping: 1, sitesSkippingOldClassesShown: 1, oldClassSharePercent: 6.5, realism: 0.1, generatorSteps: 0, generatorRoundsFailed: 1, generatorGivenUp: false },
  ]);
  assert.deepEqual(stepFigures(reports, [], [check(1, null, [], 0)]).map((s) => s.replay), [null, null], 'a step that neither replayed nor trained the generator has no replay figures');
  assert.equal(stepFigures(reports, [], [check(1, null, [], 0, 3, 'gave up')])[1].replay?.generatorGivenUp, true, 'a step whose generator rounds all failed has figures');
  const seed2 = stepFigures(reports, [], [check(1, 0.6, ['site-b'], 0, 3, '3 generator rounds of step 1 failed')]);
  const run = (seed: number, steps: typeof seed1) => ({ id: 'ours-plus-replay', label: 'Ours + replay', recipe: 'r', old: 1, new: 1, all: 1, perClass: {}, steps, rounds: [], roundEvaluationSeconds: null, seconds: 1, seed });
  const bench: BenchResult = { setting: 'x', scenes: 'overlapped', schedule: [['liver', 'stomach'], ['ureter']], profile: 'quick', sites: 2, seeds: [1, 2], machine: { cpus: 2, cpuModel: 'c', memoryGiB: 1, node: 'v', platform: 'p' }, startedAt: 't', seconds: 1, methods: { 'ours-plus-replay': summarise([run(1, seed1), run(2, seed2)]) }, step0: null, gates: [], options: {} };
  const md = toMarkdown(bench);
  assert.match(md, /\| Ours \+ replay \| 0 \| – \| – \| – \| 0 \/ 0 \| 0\.1000 ± 0\.0000 \| 600 ± 0 \| 0 \(0\) \|/);
  assert.match(md, /\|  \| 1 \| 0\.700 ± 0\.141 \| 0\.500 ± 0\.000 \| 6\.5 ± 0\.0 \| 1 \/ 1 \| 0\.1000 ± 0\.0000 \| 0 ± 0 \| 4 \(1\) \|/, 'step 1: mean ± sd of 0.8 and 0.6, the old-class share, one site skipping for fidelity and one for old classes shown, 1 + 3 failed generator rounds and one seed that gave up');
});

test('summaries over seeds: mean and sample sd; gates with margins against the spread; Markdown', () => {
  const run = (seed: number, old: number, nw: number, all: number, extra: object = {}) => ({ id: 'ours', label: 'Ours', recipe: 'r', old, new: nw, all, perClass: { liver: old, ureter: nw }, steps: [], rounds: [], roundEvaluationSeconds: null, seconds: 10 * seed, seed, ...extra });
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
  // Paired by seed: a seed that is hard for every method moves both sides; the spread is the sd of
  // the per-seed differences (ours − MiB old: 8, 10, 12 → sd 2), not the sum of the sds (~20.8).
  const seeds = (olds: number[]) => ({ ...f(olds.reduce((a, b) => a + b) / 3, 20, 30, 10.4), perSeed: olds.map((old, i) => ({ seed: i + 1, old, new: 20, all: 30 })) });
  const paired = gates({ mib: seeds([20, 40, 30]), ours: seeds([28, 50, 42]) }, null, 40).find((x) => x.name === 'ours keeps the old classes')!;
  assert.deepEqual([paired.margin, paired.spread, paired.met], [5, 2, true]);
  assert.deepEqual(pairedDifference(seeds([28, 50, 42]), { ...seeds([20, 40, 30]), perSeed: [{ seed: 1, old: 20, new: 0, all: 0 }] }, 'old'), null, 'one shared seed is no spread');
  const nothingNew = gates({ joint: f(60, 0, 45, 0), finetune: f(5, 0, 12, 0), mib: f(40, 0, 30, 0), ours: f(52, 0, 42, 0) }, f(50, 0, 45), 40);
  for (const name of ['fine-tuning learns the new classes', 'ours learns the new classes']) assert.equal(nothingNew.find((x) => x.name === name)!.met, false, `${name}: 0 >= 0 is not learning`);
  const r: BenchResult = {
    setting: 'liver,stomach;ureter', scenes: 'overlapped', schedule: [['liver', 'stomach'], ['ureter']], profile: 'quick', sites: 2, seeds: [1, 2, 3, 4], step0: null,
    methods: { ours }, machine: { cpus: 2, cpuModel: 'x', memoryGiB: 8, node: 'v20', platform: 'linux x64' }, startedAt: 'now', seconds: 50, gates: g, options: {},
  };
  const md = toMarkdown(r);
  assert.match(md, /\| Ours \(1 failed\) \| 52\.0 ± 2\.0 \| 22\.0 ± 2\.0 \| 42\.0 ± 2\.0 \| 25 \|/);
  assert.match(md, /\| Method \| bg \| liver \| stomach \| \*\*ureter\*\* \|/);
  assert.match(md, /\| ours near joint \| .* \| 2\.0 \| 2\.0 \| NO \|/);
  assert.doesNotMatch(md, /offline bounds/, 'no bound measured, no section');
  // Against both offline bounds, paired by seed: ours − joint all 40-45, 42-47, 44-49 → -5.0 ± 0.0.
  const joint = summarise([1, 2, 3].map((sd) => ({ ...run(sd, 56, 30, 40 + 2 * sd + 3), id: 'joint', label: 'Joint (offline)' })));
  const bound = summarise([1, 2, 3].map((sd) => ({ ...run(sd, 52, 20 + sd, 40 + 2 * sd), id: 'joint-own-step-labels', label: 'Joint on the steps\' labels' })));
  const withBounds = toMarkdown({ ...r, seeds: [1, 2, 3], methods: { ours: summarise([1, 2, 3].map((sd) => run(sd, 50 + 2 * (sd - 1), 20 + 2 * (sd - 1), 40 + 2 * (sd - 1)))), joint, 'joint-own-step-labels': bound } });
  assert.match(withBounds, /### Ours against the offline bounds \(ours − bound/);
  assert.match(withBounds, /\| Joint \(offline\) \| -4\.0 ± 2\.0 \| -8\.0 ± 2\.0 \| -5\.0 ± 0\.0 \|/);
  assert.match(withBounds, /\| Joint on the steps' labels \| 0\.0 ± 2\.0 \| 0\.0 ± 1\.0 \| -2\.0 ± 0\.0 \|/);
});

// Three steps: liver, stomach (step 0); ureter (step 1); colon (step 2). Old = bg + liver + stomach.
const roster = [...classes, { id: 4, name: 'colon', stepAdded: 2 }];
const threeSteps = parseSetting('liver,stomach;ureter;colon');
const step2Report: ReportLike = { step: 2, classes: roster, images: 4, perClassIoU: {}, mIoU: { old: null, new: null, all: null } };
const noMiou = { old: null, new: null, all: null };

test('per-round figures: the final figures\' groups from each point\'s per-class IoU, a class added after the step left out, in step and round order', () => {
  const series: RoundSeriesLike[] = [
    { step: 2, points: [
      { round: 1, images: 4, mIoU: noMiou, perClassIoU: { 0: 0.9, 1: 0.5, 2: 0.1, 3: 0.2, 4: 0 } },
      { round: 0, images: 4, mIoU: noMiou, perClassIoU: { 0: 0.8, 1: 0.4, 2: 0.2, 3: 0.1, 4: 0.3 } },
    ] },
    { step: 1, points: [{ round: 0, images: 4, mIoU: noMiou, perClassIoU: { 0: 0.7, 1: 0.3, 2: 0.2, 3: 0.5 } }] },
  ];
  const f = roundFigures(series, [step2Report], threeSteps);
  // By hand: old = mean(bg, liver, stomach), new = mean of the later classes the step's model has.
  assert.deepEqual(f, [
    { step: 1, round: 0, images: 4, groups: 'final', old: 40, new: 50, all: 42.5 },
    { step: 2, round: 0, images: 4, groups: 'final', old: 46.67, new: 20, all: 36 },
    { step: 2, round: 1, images: 4, groups: 'final', old: 50, new: 10, all: 34 },
  ]);
  // The last point of the last step is the step's final model: the same function, the same figures.
  const last = finalFigures([{ ...step2Report, perClassIoU: series[0].points[0].perClassIoU! }], threeSteps);
  assert.deepEqual([f[2].old, f[2].new, f[2].all], [last.old, last.new, last.all]);
  // Without per-class IoU (the coordinator's answer today): its own step-relative figures, in percent, marked so.
  const coordinatorOnly = roundFigures([{ step: 1, points: [{ round: 0, images: 4, mIoU: { old: 0.4, new: 0.123456, all: 0.3 } }] }], [step2Report], threeSteps);
  assert.deepEqual(coordinatorOnly, [{ step: 1, round: 0, images: 4, groups: 'step', old: 40, new: 12.35, all: 30 }]);
});

test('per-round summaries: mean and sd per step and round over the seeds (round 0 of step 1 is not round 0 of step 2)', () => {
  const at = (step: number, round: number, old: number, nw: number): RoundFigures => ({ step, round, images: 4, groups: 'final', old, new: nw, all: (old + nw) / 2 });
  const run = (seed: number, rounds: RoundFigures[]) => ({ id: 'ours', label: 'Ours', recipe: 'r', old: 1, new: 1, all: 1, perClass: {}, steps: [], rounds, roundEvaluationSeconds: seed, seconds: 10, seed });
  const s = summarise([
    run(1, [at(1, 0, 40, 0), at(1, 1, 42, 4), at(2, 0, 10, 20)]),
    run(2, [at(2, 0, 14, 24), at(1, 1, 46, 8), at(1, 0, 44, 2)]),
    { ...run(3, [at(1, 0, 99, 99)]), error: 'boom' },
  ]);
  assert.deepEqual(s.rounds.map((r) => [r.step, r.round, r.old, r.oldSd, r.new, r.newSd, r.seeds]), [
    [1, 0, 42, 2.83, 1, 1.41, 2],
    [1, 1, 44, 2.83, 6, 2.83, 2],
    [2, 0, 12, 2.83, 22, 2.83, 2],
  ]);
  assert.equal(s.roundEvaluationSeconds, 2, 'mean of the three runs\' per-round evaluation seconds');
  const markdown = (ours: typeof s) => toMarkdown({
    setting: 'liver,stomach;ureter;colon', scenes: 'disjoint', schedule: threeSteps.steps, profile: 'quick', sites: 2, seeds: [1, 2], step0: null,
    methods: { ours }, machine: { cpus: 2, cpuModel: 'x', memoryGiB: 8, node: 'v20', platform: 'linux x64' }, startedAt: 'now', seconds: 50, gates: [], options: {},
  });
  const md = markdown(s);
  assert.match(md, /\| Ours \| 1 \| 42\.0 ± 2\.8 → 44\.0 ± 2\.8 \| 1\.0 ± 1\.4 → 6\.0 ± 2\.8 \| .* \| 2 \|\n\|  \| 2 \| 12\.0 ± 2\.8 \| 22\.0 ± 2\.8 \| 17\.0 ± 2\.8 \|  \|/);
  assert.match(md, /over the same classes as above/);
  assert.match(md, /Scenes: disjoint \(a step's training images never show an earlier step's structures\)/);
  assert.match(markdown(summarise([run(1, [{ ...at(1, 0, 40, 0), groups: 'step' }])])), /as the coordinator reports a step/, 'the Markdown names the groups it shows');
});

test('per-round evaluation seconds: the evaluation rounds of every segmenter round\'s result but each step\'s last', () => {
  const t = (s: number) => new Date(Date.UTC(2026, 10, 30, 12) + s * 1000).toISOString();
  const round = (step: number, kind: string, index: number, base: string | null, result: string | null, opened: number, closed: number | null): RoundLike => ({
    step, kind, index, status: closed === null ? 'collecting' : 'completed', baseVersionId: base, resultVersionId: result, openedAt: t(opened), closedAt: closed === null ? null : t(closed),
  });
  const rounds = [
    round(1, 'segmenter', 0, 'v0', 'v1', 0, 10), round(1, 'evaluate', 0, 'v1', null, 10, 13.5),
    round(1, 'segmenter', 1, 'v1', 'v2', 14, 24), round(1, 'generator', 2, null, 'g1', 24, 30), round(1, 'evaluate', 1, 'v2', null, 30, 35),
    round(2, 'segmenter', 0, 'v2', 'v3', 40, 50), round(2, 'evaluate', 0, 'v3', null, 50, 51.5),
    round(2, 'segmenter', 1, 'v3', 'v4', 52, 60), round(2, 'evaluate', 1, 'v4', null, 60, null),
  ];
  assert.equal(roundEvaluationSeconds(rounds), 5, '3.5 s (v1) + 1.5 s (v3); v2 and v4 are the steps\' own evaluations');
  assert.equal(roundEvaluationSeconds(rounds.filter((r) => r.kind !== 'evaluate' || r.baseVersionId === 'v2' || r.baseVersionId === 'v4')), 0, 'evaluateEveryRound off: nothing');
});

test('site agents get their own cores', () => {
  assert.deepEqual([0, 1].map((i) => coreListFor(i, 2, 2)), ['0', '1']);
  assert.deepEqual([0, 1].map((i) => coreListFor(i, 2, 16)), ['0-7', '8-15']);
  assert.deepEqual([0, 1, 2].map((i) => coreListFor(i, 3, 2)), ['0', '1', '0']);
  assert.equal(coreListFor(0, 2, 1), undefined);
});

test('--reuse-step0: a seed the earlier run lacks trains its own step 0; a folder missing a file is an error naming it', (t) => {
  const root = tempFolder(t, 'ciss-reuse-');
  assert.equal(reusedStep0(join(root, 'seed-3'), true), undefined);
  const dir = join(root, 'seed-1', 'runs', 'step0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'step0-segmenter.safetensors'), '');
  assert.equal(reusedStep0(join(root, 'seed-1'), false)?.segmenterFile, join(dir, 'step0-segmenter.safetensors'));
  assert.throws(() => reusedStep0(join(root, 'seed-1'), true), /step0-generator\.safetensors does not exist/);
});

test('--reuse-step0: step 0\'s figures kept beside its models come back with it (the step-0 row, the forgetting gate); a damaged file is an error naming it', (t) => {
  const root = tempFolder(t, 'ciss-reuse-');
  const dir = join(root, 'seed-2', 'runs', 'step0');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'step0-segmenter.safetensors'), '');
  // A folder from before the figures were kept: the models, no figures.
  assert.equal(reusedStep0(join(root, 'seed-2'), false)?.result.old, null);
  const trained = { id: 'step0', label: 'Step 0 (shared)', recipe: 'r', old: 50, new: null, all: 50, perClass: { background: 70, liver: 30 }, steps: [], rounds: [], roundEvaluationSeconds: null, seconds: 1432.2 };
  keepStep0Result(dir, trained);
  const reused = reusedStep0(join(root, 'seed-2'), false)!.result;
  assert.deepEqual({ ...reused, label: trained.label }, trained);
  assert.match(reused.label, /reused from .*seed-2/);
  // The forgetting gate reads it: fine-tuning's old 9 against step 0's 50, 10 points of forgetting asked: margin 31.
  const finetune = { ...trained, id: 'finetune', old: 9, new: 20, all: 12 };
  const forgets = gates({ finetune: summarise([{ ...finetune, seed: 2 }]) }, summarise([{ ...reused, seed: 2 }]), 40).find((g) => g.name === 'fine-tuning forgets')!;
  assert.equal(forgets.margin, 31);
  writeFileSync(join(dir, 'step0-result.json'), '{"id": "ours"}');
  assert.throws(() => reusedStep0(join(root, 'seed-2'), false), /step0-result\.json is not a step-0 result/);
  writeFileSync(join(dir, 'step0-result.json'), '{');
  assert.throws(() => reusedStep0(join(root, 'seed-2'), false), /step0-result\.json is not JSON/);
});

test('quick profile: ~1500 optimizer steps a site and step (at 450 joint stayed at 23 ± 4 all-class mIoU), in rounds of at most ~250 (two of 750 lost what the sites learnt when averaged)', () => {
  const p = PROFILES.quick;
  const stepsPerEpoch = Math.ceil((p.imagesPerSurgery * p.trainSurgeriesPerStep) / p.batchSize);
  assert.ok(stepsPerEpoch * p.localEpochs * p.segmenterRounds >= 1490);
  assert.ok(stepsPerEpoch * p.localEpochs <= 250);
});

test('the shared step 0 is the result of the step\'s last round, not of the first the API lists', () => {
  // GET /api/rounds lists newest first; the step-0 export took the array's last entry (round 0).
  const round = (index: number, kind: string, status = 'completed', step = 0) => ({ step, kind, index, status, resultVersionId: `${kind}-${step}-${index}` });
  const newestFirst = [round(2, 'segmenter', 'collecting'), round(1, 'segmenter'), round(0, 'generator'), round(0, 'segmenter'), round(3, 'segmenter', 'completed', 1)];
  assert.equal(lastRoundResult(newestFirst, 0, 'segmenter'), 'segmenter-0-1');
  assert.equal(lastRoundResult([...newestFirst].reverse(), 0, 'segmenter'), 'segmenter-0-1');
  assert.equal(lastRoundResult(newestFirst, 0, 'generator'), 'generator-0-0');
  assert.equal(lastRoundResult(newestFirst, 2, 'segmenter'), undefined);
});

test("each profile's generator draws its replay images at its network's input size (at half of it, most sites measured replay fidelity under the threshold)", () => {
  for (const p of Object.values(PROFILES)) {
    const g = p.generator as { imageSize: number; imageWidth: number };
    const [height, width] = p.segmenter.inputSize as [number, number];
    assert.deepEqual([g.imageSize, g.imageWidth], [height, width], `${p.name}: generator ${g.imageSize}x${g.imageWidth}, network ${height}x${width}`);
  }
});
