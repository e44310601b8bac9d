// A settings typo stops the real `coordinator serve` process at start-up, naming the key's path;
// `--check-config` validates the same settings and exits without starting anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'coordinator.js');

function serve(dir: string, training: unknown, ...extra: string[]) {
  const file = join(dir, 'training.json');
  writeFileSync(file, typeof training === 'string' ? training : JSON.stringify(training));
  const r = spawnSync(process.execPath, [BIN, 'serve', '--insecure', '--data-dir', join(dir, 'data'), '--grpc-address', '127.0.0.1:0', '--http-port', '0', '--training-file', file, ...extra], {
    encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH },
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

test('a typo in the training settings stops coordinator serve at start-up with the key\'s path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-settings-'));
  try {
    const typo = serve(dir, { localEpochs: 2, generatorTraining: { epocs: 3 } });
    assert.equal(typo.status, 1, typo.out + typo.err);
    assert.match(typo.err, /training\.json: generatorTraining\.epocs: unknown setting/);
    assert.doesNotMatch(typo.out, /coordinator ready/);
    const several = serve(dir, { lossWeight: { ce: 1 }, batchSize: -1, aggregation: { strategy: 'fedmedian' } });
    assert.equal(several.status, 1);
    assert.match(several.err, /3 problems/);
    assert.match(several.err, /lossWeight: unknown setting/);
    assert.match(several.err, /batchSize: Too small/);
    assert.match(several.err, /aggregation: unknown strategy "fedmedian"/);
    const arch = serve(dir, { segmenter: { widht: 8, depth: 2 } });
    assert.equal(arch.status, 1);
    assert.match(arch.err, /segmenter\.widht: unknown setting \(a typo\? known: .*width/);
    const notJson = serve(dir, '{ "localEpochs": ');
    assert.equal(notJson.status, 1);
    assert.match(notJson.err, /not valid JSON/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('coordinator serve --check-config validates, prints the merged settings and exits', () => {
  const dir = mkdtempSync(join(tmpdir(), 'serve-settings-'));
  try {
    const ok = serve(dir, { generatorTraining: { epochs: 3 }, aggregation: { strategy: 'trimmed-mean', trimFraction: 0.2 }, segmenter: { width: 8, depth: 2, inputSize: [32, 40] } }, '--check-config');
    assert.equal(ok.status, 0, ok.err);
    assert.match(ok.out, /configuration valid/);
    const effective = JSON.parse(ok.out.slice(ok.out.indexOf('{')));
    assert.deepEqual(effective.generatorTraining, { epochs: 3, batchSize: 16, learningRate: 1e-3, seconds: 0 }, 'a partial nested object keeps its other defaults');
    assert.equal(effective.aggregation.trimFraction, 0.2);
    const bad = serve(dir, { serverDistillation: { images: 0 } }, '--check-config');
    assert.equal(bad.status, 1);
    assert.match(bad.err, /serverDistillation\.images: Too small/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
