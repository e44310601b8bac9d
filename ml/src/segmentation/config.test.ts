import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SEGMENTER_CONFIG, parseSegmenterConfig } from './network';

test('a segmenter configuration from JSON: defaults fill in, each key checked, the error names it and where', () => {
  assert.deepEqual(parseSegmenterConfig({}, 'f'), DEFAULT_SEGMENTER_CONFIG);
  assert.deepEqual(parseSegmenterConfig(JSON.parse('{"width":8,"depth":2,"inputSize":[32,48],"norm":"batch"}'), 'f'), { ...DEFAULT_SEGMENTER_CONFIG, width: 8, depth: 2, inputSize: [32, 48], norm: 'batch' });
  assert.throws(() => parseSegmenterConfig({ widht: 8 }, 'model v1'), /model v1: unknown segmenter setting 'widht'/);
  assert.throws(() => parseSegmenterConfig({ width: '8' }, 'model v1'), /model v1: segmenter width must be an integer, got "8"/);
  assert.throws(() => parseSegmenterConfig({ inputSize: [32] }, 'model v1'), /inputSize must be \[height, width\]/);
  assert.throws(() => parseSegmenterConfig({ norm: 'layer' }, 'model v1'), /norm must be 'group' or 'batch'/);
  assert.throws(() => parseSegmenterConfig([], 'model v1'), /not an object/);
  assert.throws(() => parseSegmenterConfig({ inputSize: [30, 48], depth: 2 }, 'model v1'), /not divisible by 2\^depth/);
});
