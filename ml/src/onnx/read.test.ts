/** Reading an exported .onnx back: the weights bit for bit, the metadata and the architecture the
 * segmenter export writes, float_data as well as raw_data, and clear refusals of what is not a
 * self-contained float32 ONNX model. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onnx } from 'onnx-proto';
import { gaussian, seededRandom } from '../init/initializers';
import { metadataProps } from '../infer/model-metadata';
import { createSegmenterWeights, exportSegmenterOnnx, segmenterConfig, segmenterInputSpec, segmenterSpecs, segmenterTrainingOnlyNames, type SegmenterProvenance } from '../segmentation/network';
import { readOnnxModel, SEGMENTER_CONFIG_KEY } from './read';

const PROVENANCE: SegmenterProvenance = {
  classes: [{ id: 0, name: 'background', color: '#000000' }, { id: 1, name: 'liver', color: '#aa3311' }, { id: 2, name: 'colon', color: '#12ab34' }],
  version: 'seg-0-test', lineage: [], federation: 'test', step: 0, round: null,
  createdAt: '2026-11-30T00:00:00Z', exportedAt: '2026-11-30T00:00:00Z', weightsSha256: 'ab',
};

const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const modelWith = (initializer: onnx.ITensorProto[], metadataProps: onnx.IStringStringEntryProto[] = []) =>
  onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ version: 17 }], graph: { name: 'g', initializer }, metadataProps }).finish();

for (const norm of ['group', 'batch'] as const) {
  test(`an exported ${norm}-norm segmenter reads back: every tensor it carries bit for bit, classes, input and architecture`, () => {
    const config = segmenterConfig({ width: 4, depth: 1, inputSize: [16, 16], embedDim: 4, groups: 2, norm });
    const weights = createSegmenterWeights(config, 3, 7);
    const rand = seededRandom(3);
    for (const t of weights.values()) for (let i = 0; i < t.data.length; i++) t.data[i] += 0.1 * gaussian(rand);
    const file = readOnnxModel(exportSegmenterOnnx(weights, config, 3, { provenance: PROVENANCE }).bytes);
    assert.deepEqual(file.segmenter, config);
    assert.deepEqual(file.metadata?.classes, PROVENANCE.classes);
    assert.deepEqual([file.metadata?.input.height, file.metadata?.input.width, file.metadata?.input.scale], [16, 16, 1 / 255]);
    // The inference model has no projection head; everything else (BatchNorm's running statistics included) is inside.
    const trainingOnly = segmenterTrainingOnlyNames(config, 3);
    assert.deepEqual(trainingOnly, ['proj.conv1.weight', 'proj.conv1.bias', 'proj.conv2.weight', 'proj.conv2.bias']);
    if (norm === 'batch') assert.ok(file.initializerNames.includes('enc0.norm1.running_mean'));
    const names = segmenterSpecs(config, 3).map((s) => s.name);
    const read = file.weights(names);
    assert.deepEqual([...read.keys()].sort(), names.filter((n) => !trainingOnly.includes(n)).sort());
    for (const [name, t] of read) {
      assert.deepEqual(t.shape, weights.get(name)!.shape, name);
      assert.deepEqual(bytesOf(t.data), bytesOf(weights.get(name)!.data), name);
    }
  });
}

test('float_data initializers read like raw_data ones; names the file lacks are left out', () => {
  const values = [1.5, -2.25, 3e-8, 0];
  const file = readOnnxModel(modelWith([
    { name: 'a', dims: [2, 2], dataType: onnx.TensorProto.DataType.FLOAT, floatData: values },
    { name: 'b', dims: [4], dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytesOf(Float32Array.from(values)) },
  ]));
  const w = file.weights(['a', 'b', 'missing']);
  assert.deepEqual([...w.keys()], ['a', 'b']);
  assert.deepEqual(w.get('a'), { shape: [2, 2], data: Float32Array.from(values) });
  assert.deepEqual(w.get('b')!.data, Float32Array.from(values));
  assert.equal(file.metadata, null, 'no fedciss.* metadata: not exported by fedciss');
  assert.equal(file.segmenter, undefined);
});

test('refuses what is not a self-contained float32 ONNX model, naming the tensor', () => {
  assert.throws(() => readOnnxModel(new Uint8Array(0)), /not an ONNX model \(no graph\)/);
  assert.throws(() => readOnnxModel(new TextEncoder().encode('{"not": "onnx"}\n')), /not an ONNX model/);
  const small = segmenterConfig({ width: 4, depth: 1, inputSize: [16, 16], embedDim: 4, groups: 2 });
  const exported = exportSegmenterOnnx(createSegmenterWeights(small, 3), small, 3, { provenance: PROVENANCE }).bytes;
  assert.throws(() => readOnnxModel(exported.subarray(0, Math.floor(exported.length / 2))), /not an ONNX model \(/);
  const T = onnx.TensorProto.DataType;
  const double = readOnnxModel(modelWith([{ name: 'enc0.conv1.weight', dims: [1], dataType: T.DOUBLE, doubleData: [1] }]));
  assert.throws(() => double.weights(['enc0.conv1.weight']), /initializer 'enc0\.conv1\.weight' holds DOUBLE values: only float32/);
  const half = readOnnxModel(modelWith([{ name: 'head.bias', dims: [2], dataType: T.FLOAT16, rawData: new Uint8Array(4) }]));
  assert.throws(() => half.weights(['head.bias']), /'head\.bias' holds FLOAT16 values/);
  const short = readOnnxModel(modelWith([{ name: 'head.bias', dims: [3], dataType: T.FLOAT, rawData: new Uint8Array(8) }]));
  assert.throws(() => short.weights(['head.bias']), /'head\.bias' \[3\] needs 12 bytes, raw_data has 8/);
  const external = readOnnxModel(modelWith([{ name: 'head.bias', dims: [3], dataType: T.FLOAT, dataLocation: onnx.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: 'location', value: 'w.bin' }] }]));
  assert.throws(() => external.weights(['head.bias']), /'head\.bias' keeps its values in an external file/);
  const props = metadataProps({ ...PROVENANCE, input: segmenterInputSpec(segmenterConfig()), opset: 17, dynamicBatch: true }).map(([key, value]) => ({ key, value }));
  assert.equal(readOnnxModel(modelWith([], props)).metadata?.version, 'seg-0-test');
  assert.throws(() => readOnnxModel(modelWith([], [...props, { key: SEGMENTER_CONFIG_KEY, value: '{width' }])), /'fedciss\.segmenter' is not valid JSON/);
  // Some fedciss keys but not all: the metadata reader names the missing one.
  assert.throws(() => readOnnxModel(modelWith([], props.slice(1))), /no 'fedciss\.version' metadata/);
});
