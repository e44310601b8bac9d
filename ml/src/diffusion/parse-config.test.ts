import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDiffusionConfig } from './parse-config';
import { DEFAULT_DIFFUSION_CONFIG } from './unet';
import { replayGeneratorConfig } from './recipe';

test('a diffusion configuration from JSON: defaults fill in, a stored one reads back equal', () => {
  assert.deepEqual(parseDiffusionConfig({}, 'f'), DEFAULT_DIFFUSION_CONFIG);
  const stored = replayGeneratorConfig([48, 64]);
  assert.deepEqual(parseDiffusionConfig(JSON.parse(JSON.stringify(stored)), 'f'), stored);
  assert.deepEqual(parseDiffusionConfig({ imageSize: 16, imageWidth: 32, prediction: 'v', schedule: { kind: 'linear', timesteps: 10, betaEnd: 0.01 } }, 'f'),
    { ...DEFAULT_DIFFUSION_CONFIG, imageSize: 16, imageWidth: 32, prediction: 'v', schedule: { kind: 'linear', timesteps: 10, betaEnd: 0.01 } });
});

test('a malformed diffusion configuration: the error names the key and where', () => {
  assert.throws(() => parseDiffusionConfig({ imageSise: 32 }, 'model v2'), /^Error: model v2: unknown diffusion setting 'imageSise'$/);
  assert.throws(() => parseDiffusionConfig({ baseChannels: '32' }, 'model v2'), /model v2: diffusion baseChannels must be an integer, got "32"/);
  assert.throws(() => parseDiffusionConfig({ channelMults: [1, 'x'] }, 'model v2'), /model v2: diffusion channelMults must be a list of integers/);
  assert.throws(() => parseDiffusionConfig({ prediction: 'x0' }, 'model v2'), /model v2: diffusion prediction must be 'eps' or 'v', got "x0"/);
  assert.throws(() => parseDiffusionConfig({ schedule: { kind: 'cosine', steps: 10 } }, 'model v2'), /model v2: unknown diffusion setting 'schedule.steps'/);
  assert.throws(() => parseDiffusionConfig({ schedule: { timesteps: 10 } }, 'model v2'), /model v2: diffusion schedule.kind must be 'linear' or 'cosine'/);
  assert.throws(() => parseDiffusionConfig({ imageSize: 30 }, 'model v2'), /model v2: diffusion config: imageSize 30 must be a multiple of 4/);
  assert.throws(() => parseDiffusionConfig(null, 'model v2'), /model v2: the diffusion configuration is not an object/);
});
