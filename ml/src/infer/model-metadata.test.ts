import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { metadataProps, readModelMetadata, type ModelMetadata } from './model-metadata';

const META: ModelMetadata = {
  classes: [{ id: 0, name: 'background', color: '#000000' }, { id: 1, name: 'liver', color: '#aa3311' }],
  input: { name: 'image', layout: 'NCHW', colorOrder: 'RGB', channels: 3, height: 48, width: 64, scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
  version: 'v1', lineage: ['v0'], federation: 'test', step: 1, round: null,
  createdAt: '2026-11-30T00:00:00Z', exportedAt: '2026-11-30T00:00:00Z', weightsSha256: 'ab', opset: 17, dynamicBatch: true,
};
const bytesWith = (props: [string, string][]) => onnx.ModelProto.encode({ metadataProps: props.map(([key, value]) => ({ key, value })) }).finish();

test('metadata written by metadataProps reads back field by field', () => {
  assert.deepEqual(readModelMetadata(bytesWith(metadataProps(META))), META);
});

test('a field of the wrong type is refused with its key', () => {
  const tampered = (key: string, value: string) => metadataProps(META).map(([k, v]): [string, string] => [k, k === key ? value : v]);
  assert.throws(() => readModelMetadata(bytesWith(tampered('fedciss.step', '"one"'))), /'fedciss\.step' is malformed: expected a number/);
  assert.throws(() => readModelMetadata(bytesWith(tampered('fedciss.input', '{"name":"image"}'))), /'fedciss\.input' is malformed/);
  assert.throws(() => readModelMetadata(bytesWith(tampered('fedciss.classes', '[{"id":0}]'))), /'fedciss\.classes' is malformed/);
});
