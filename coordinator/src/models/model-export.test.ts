// A coordinator on the real learning core: the segmenter of step 0 downloaded over REST carries its
// roster in its metadata, its card says the same, a bad opset is a 400, and the offline
// `coordinator models export` writes the same model, its weights and its card from the data folder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { InferenceRunner, readModelMetadata } from '@fedciss/ml';
import { resolveConfig, type CoordinatorConfig } from '../config/coordinator-config';
import { startCoordinator, type RunningCoordinator } from '../main';
import { AdminAuthService } from '../auth/admin-auth.service';
import { restClient, signIn } from '../testing/rest-client';
import { MlModelFactory } from './ml-model-factory';
import { register, runModelsExport, type ModelsExportContext } from '../cli/commands/models-export.command';

const PASSWORD = 'correct horse battery staple';
const SMALL = { width: 8, depth: 2, inputSize: [48, 64], embedDim: 8, groups: 4 };

describe('segmenter export: REST, model card and the offline CLI', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'coord-export-'));
  const outDir = mkdtempSync(join(tmpdir(), 'coord-export-out-'));
  let config: CoordinatorConfig;
  let coordinator: RunningCoordinator | undefined;
  let token = '';
  let version = '';
  const api = restClient(() => coordinator!.httpUrl, () => token);
  const download = async (path: string) => {
    const res = await fetch(`${coordinator!.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, type: res.headers.get('content-type') ?? '', bytes: new Uint8Array(await res.arrayBuffer()) };
  };

  before(async () => {
    config = resolveConfig({ env: {}, flags: { dataDir, insecure: true, grpcAddress: '127.0.0.1:0', httpPort: '0', generatorRounds: '0' } });
    config.training = { ...config.training, segmenter: SMALL };
    coordinator = await startCoordinator(config, new MlModelFactory(), { logLevels: ['error'] });
    await coordinator.app.get(AdminAuthService).createUser('test', 'admin', PASSWORD, 'admin');
    token = await signIn(coordinator.httpUrl, 'admin', PASSWORD);
    const opened = await api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }, { name: 'colon', color: '#12ab34' }] });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    const list = await api('GET', '/api/models?kind=segmenter');
    version = list.body[0].id;
  });

  after(async () => {
    await coordinator?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  });

  test('model.onnx carries the roster at that version, the input spec and the provenance, and runs at any batch', async () => {
    const res = await download(`/api/models/${version}/model.onnx`);
    assert.equal(res.status, 200);
    const m = readModelMetadata(res.bytes);
    const roster = (await api('GET', '/api/roster')).body as Array<{ id: number; name: string; color: string }>;
    assert.deepEqual(m.classes, roster.map(({ id, name, color }) => ({ id, name, color })));
    assert.deepEqual(m.classes.map((c) => c.name), ['background', 'liver', 'colon']);
    assert.equal(m.classes[2].color, '#12ab34');
    assert.deepEqual([m.version, m.step, m.opset, m.input.height, m.input.width], [version, 0, 11, 48, 64]);
    assert.deepEqual(m.lineage, []);
    assert.match(m.federation, /insecure demo/);
    const runner = await InferenceRunner.fromBytes(res.bytes);
    const out = await runner.run({ image: { shape: [2, 3, 48, 64], data: new Float32Array(2 * 3 * 48 * 64).fill(0.5) } });
    assert.deepEqual(out.logits.shape, [2, 3, 48, 64]);
    await runner.release();
  });

  test('the model card is Markdown with the classes; a chosen opset is honoured, a bad one is a 400', async () => {
    const card = await download(`/api/models/${version}/model-card.md`);
    assert.equal(card.status, 200);
    assert.match(card.type, /text\/markdown/);
    const text = Buffer.from(card.bytes).toString('utf8');
    assert.match(text, new RegExp(`^# Segmentation model ${version}`));
    assert.ok(text.includes('| 2 | colon | `#12ab34` |'), text);
    assert.equal(readModelMetadata((await download(`/api/models/${version}/model.onnx?opset=17`)).bytes).opset, 17);
    for (const bad of ['9', 'x', '99999999999999999999']) {
      const r = await api('GET', `/api/models/${version}/model.onnx?opset=${bad}`);
      assert.equal(r.status, 400);
      assert.match(JSON.stringify(r.body), /opset/);
    }
    assert.equal((await api('GET', '/api/models/nope/model-card.md')).status, 404);
  });

  test('`coordinator models export` parses its flags into the context', async () => {
    const seen: ModelsExportContext[] = [];
    const program = new Command().exitOverride().configureOutput({ writeErr: () => undefined });
    register(program, async (ctx) => (seen.push(ctx), { files: { onnx: 'a', weights: 'b', card: 'c' }, opset: 11, classes: 3 }));
    await program.parseAsync(['node', 'coordinator', 'models', 'export', 'seg-0-x', '--out', '/tmp/o', '--opset', '13', '--data-dir', '/d']);
    assert.deepEqual(seen, [{ version: 'seg-0-x', outDir: '/tmp/o', opset: 13, dataDir: '/d', databaseUrl: undefined }]);
    await assert.rejects(program.parseAsync(['node', 'coordinator', 'models', 'export', 'seg-0-x']), /--out/);
  });

  test('`coordinator models export` writes the same model, its weights and its card offline', async () => {
    const weights = (await download(`/api/models/${version}/weights.safetensors`)).bytes;
    await coordinator!.close(); // offline: only the data folder
    coordinator = undefined;
    const r = await runModelsExport({ dataDir, version, outDir, opset: undefined });
    assert.equal(r.opset, 11);
    const m = readModelMetadata(readFileSync(r.files.onnx));
    assert.deepEqual(m.classes.map((c) => c.name), ['background', 'liver', 'colon']);
    assert.deepEqual(new Uint8Array(readFileSync(r.files.weights)), weights);
    assert.ok(readFileSync(r.files.card, 'utf8').includes('| 1 | liver |'));
    await assert.rejects(runModelsExport({ dataDir, version: 'seg-9-missing', outDir }), /seg-9-missing/);
  });
});
