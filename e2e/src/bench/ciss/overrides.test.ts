import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTrainingSettings } from '@fedciss/coordinator';
import { parseArgs } from './cli';
import { methodById, PROFILE_TRAINING_KEYS, PROFILES, trainingSettings } from './methods';
import { applyOverrides, checkTrainingSettings } from './overrides';

const quick = PROFILES.quick;

test('--set: a field replaced, or one inside it by a dotted path with its siblings kept; the base profile untouched', () => {
  const p = applyOverrides(quick, { localEpochs: 4, 'segmenter.width': 8 });
  assert.equal(p.localEpochs, 4);
  assert.deepEqual(p.segmenter, { ...quick.segmenter, width: 8 });
  assert.equal(quick.segmenter.width, 16, 'the profile constant is not changed');
  assert.equal(quick.localEpochs, 25);
});

test('--set: an unknown field, at the top or inside an object, or a path through a number, is refused with the key', () => {
  assert.throws(() => applyOverrides(quick, { localEpoch: 4 }), /--set localEpoch: the profile has no field "localEpoch" \(name, sites, .*localEpochs/);
  assert.throws(() => applyOverrides(quick, { 'segmenter.widht': 8 }), /--set segmenter\.widht: the profile's segmenter has no field "widht" \(width, depth/);
  assert.throws(() => applyOverrides(quick, { 'localEpochs.x': 1 }), /--set localEpochs\.x: the profile's localEpochs is not an object/);
  assert.throws(() => applyOverrides(quick, { 'segmenter.': 1 }), /--set segmenter\.: an empty field name/);
  assert.throws(() => applyOverrides(quick, { training: 5 }), /--set training: the profile's training is an object; give a JSON object/);
  assert.throws(() => applyOverrides(quick, { 'segmenter': 'wide' }), /--set segmenter: the profile's segmenter is an object/);
});

test('--set training.*: any path below it, laid over every method\'s own settings key by key', () => {
  const p = applyOverrides(quick, { 'training.lossWeights.kd': 5, 'training.replayFraction': 0.125 });
  assert.deepEqual(p.training, { lossWeights: { kd: 5 }, replayFraction: 0.125 });
  const ours = trainingSettings(methodById('ours'), p, 1);
  assert.deepEqual(ours.lossWeights, { ce: 0, unbiasedCe: 0, separatedCe: 1, replayCe: 0, kd: 5, pod: 0, contrastive: 0, dice: 0, pseudoLabels: 1 }, 'kd replaced, the other weights ours');
  assert.equal(trainingSettings(methodById('ours-plus-replay'), p, 1).replayFraction, 0.125, "the command line wins over the method's own share");
  assert.equal(trainingSettings(methodById('ours-plus-replay'), quick, 1).replayFraction, 0.5, 'without it, the method\'s');
  const { replayFraction, ...rest } = ours;
  assert.equal(replayFraction, 0.125);
  assert.deepEqual(trainingSettings(methodById('ours'), quick, 1), { ...rest, lossWeights: { ...(ours.lossWeights as object), kd: 10 } }, 'nothing else moves');
});

test('--set training.*: a setting the profile owns is refused, pointing at the profile field; each owned key is one trainingSettings writes', () => {
  assert.throws(() => applyOverrides(quick, { 'training.localEpochs': 4 }), /--set training\.localEpochs: the profile's own localEpochs sets that training setting \(--set localEpochs=\.\.\.\)/);
  assert.throws(() => applyOverrides(quick, { 'training.segmenter.width': 8 }), /--set training\.segmenter\.width: the profile's own segmenter sets that training setting \(--set segmenter=/);
  assert.throws(() => applyOverrides(quick, { training: { replayImages: 32 } }), /--set training: the profile's own replayImages/);
  const written = trainingSettings(methodById('ours'), quick, 1);
  for (const k of PROFILE_TRAINING_KEYS) assert.ok(k in written, `${k} is a training setting the profile writes`);
  assert.equal(trainingSettings(methodById('finetune'), quick, 1).replayImages, 0, 'replayImages is the method\'s to switch off: why the profile owns it');
});

test('from the command line to the coordinator: a training setting arrives typed; a typo or a bad value stops the bench naming method, step and key', () => {
  const o = parseArgs(['--quick', '--set', 'training.warmupFraction=0.2', '--set', 'training.lossWeights.kd=2.5']);
  const p = applyOverrides(quick, o.overrides);
  const methods = ['finetune', 'mib', 'ours'].map(methodById);
  checkTrainingSettings(methods, p, 2);
  const parsed = parseTrainingSettings(JSON.stringify(trainingSettings(methodById('ours'), p, 1)), 'test');
  assert.equal(parsed.warmupFraction, 0.2);
  assert.equal(parsed.lossWeights.kd, 2.5);
  assert.throws(() => checkTrainingSettings(methods, applyOverrides(quick, { 'training.warmupFractoin': 0.2 }), 2), /step0's training settings at step 0: warmupFractoin: unknown setting/);
  assert.throws(() => checkTrainingSettings(methods, applyOverrides(quick, { 'training.warmupFraction': 1 }), 2), /warmupFraction/);
});
