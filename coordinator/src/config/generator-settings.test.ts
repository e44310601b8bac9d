import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_TRAINING, parseTrainingSettings } from './coordinator-config';

test('generator rounds: a time budget by default, epochs when a file sets them without seconds, bad values named', () => {
  assert.ok(DEFAULT_TRAINING.generatorTraining.seconds > 0);
  assert.deepEqual(parseTrainingSettings('{}', 'f.json').generatorTraining, DEFAULT_TRAINING.generatorTraining);
  const byEpochs = parseTrainingSettings('{"generatorTraining":{"epochs":3,"batchSize":4,"learningRate":0.001}}', 'f.json').generatorTraining;
  assert.deepEqual(byEpochs, { epochs: 3, batchSize: 4, learningRate: 0.001, seconds: 0 });
  assert.equal(parseTrainingSettings('{"generatorTraining":{"seconds":90}}', 'f.json').generatorTraining.seconds, 90);
  assert.throws(() => parseTrainingSettings('{"generatorTraining":{"seconds":0,"epochs":0}}', 'f.json'), /f\.json: generatorTraining needs seconds > 0/);
  assert.throws(() => parseTrainingSettings('{"generatorTraining":{"seconds":"ten"}}', 'f.json'), /generatorTraining needs seconds/);
  assert.equal(parseTrainingSettings('{"replayFidelityThreshold":0.5}', 'f.json').replayFidelityThreshold, 0.5);
  assert.throws(() => parseTrainingSettings('{"replayFidelityThreshold":-1}', 'f.json'), /replayFidelityThreshold must be a number >= 0/);
});
