import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REPLAY_GENERATOR_TRAINING } from '@fedciss/ml';
import { parseTrainingSettings } from './coordinator-config';
import { DEFAULT_TRAINING } from './training-settings.schema';

test('generator rounds: a time budget by default, epochs when a file sets them without seconds, bad values named', () => {
  assert.equal(DEFAULT_TRAINING.generatorTraining.seconds, REPLAY_GENERATOR_TRAINING.seconds);
  assert.equal(parseTrainingSettings('{}', 'f.json').generatorTraining.seconds, REPLAY_GENERATOR_TRAINING.seconds);
  const byEpochs = parseTrainingSettings('{"generatorTraining":{"epochs":3,"batchSize":4,"learningRate":0.001}}', 'f.json').generatorTraining;
  assert.deepEqual(byEpochs, { epochs: 3, batchSize: 4, learningRate: 0.001, seconds: 0 });
  assert.equal(parseTrainingSettings('{"generatorTraining":{"seconds":90}}', 'f.json').generatorTraining.seconds, 90);
  assert.throws(() => parseTrainingSettings('{"generatorTraining":{"seconds":-1}}', 'f.json'), /seconds/);
  assert.equal(parseTrainingSettings('{"replayFidelityThreshold":0.5}', 'f.json').replayFidelityThreshold, 0.5);
  assert.equal(DEFAULT_TRAINING.replayFidelityThreshold, 0, 'the noise floor alone decides');
  assert.equal(DEFAULT_TRAINING.replayCheck, true, 'each site checks its replay set');
  assert.throws(() => parseTrainingSettings('{"replayCheck":false,"replayFidelityThreshold":0.5}', 'f.json'), /replayFidelityThreshold: needs the replay check/);
  assert.equal(parseTrainingSettings('{"replayCheck":false}', 'f.json').replayCheck, false);
  assert.throws(() => parseTrainingSettings('{"replayFidelityThreshold":-1}', 'f.json'), /replayFidelityThreshold/);
  assert.equal(DEFAULT_TRAINING.replayFraction, 0.25);
  assert.equal(parseTrainingSettings('{"replayFraction":0.25}', 'f.json').replayFraction, 0.25);
  for (const bad of [0, 1, 1.5]) assert.throws(() => parseTrainingSettings(`{"replayFraction":${bad}}`, 'f.json'), /replayFraction/, `share ${bad}`);
  assert.equal(DEFAULT_TRAINING.replayBelowOldClassShare, 0.04);
  assert.equal(parseTrainingSettings('{"replayBelowOldClassShare":0}', 'f.json').replayBelowOldClassShare, 0);
  for (const bad of [-0.1, 1.5]) assert.throws(() => parseTrainingSettings(`{"replayBelowOldClassShare":${bad}}`, 'f.json'), /replayBelowOldClassShare/, `share ${bad}`);
});
