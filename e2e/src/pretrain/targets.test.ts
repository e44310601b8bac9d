import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDiffusionWeights, encodeSafetensors } from '@fedciss/ml';
import { Federation } from '../harness/federation';
import { PRETRAIN_TARGETS, targetConfig, type PretrainTarget } from './targets';

/** A federation with the target's training settings, not started: what `models import` runs against. */
function federationOf(target: PretrainTarget, workDir: string): Federation {
  return new Federation({ workDir, sites: 1, tls: false, trainSurgeriesPerStep: 1, steps: 2, testSurgeries: 1, imagesPerSurgery: 2, imageSize: target.frame, seed: 1, coordinatorFlags: [], training: target.training });
}

test('each pretraining target is the generator its federation builds: the coordinator imports a file of its architecture before step 0', { timeout: 120_000 }, async () => {
  const workDir = mkdtempSync(join(tmpdir(), 'pretrain-targets-'));
  try {
    for (const [name, target] of Object.entries(PRETRAIN_TARGETS)) {
      const config = targetConfig(target);
      const file = join(workDir, `${name}.safetensors`);
      writeFileSync(file, encodeSafetensors(createDiffusionWeights(config, 1), { kind: 'generator', config: JSON.stringify(config) }));
      const out = await federationOf(target, join(workDir, name)).runCoordinatorCommand(['models', 'import', '--file', file, '--kind', 'generator']);
      assert.match(out, /imported generator \S+ \(step 0\)/, name);
    }
    // The check above can fail: the demo's generator (24x32) is not the quick profile's (32x40).
    const mismatch = federationOf(PRETRAIN_TARGETS['ciss-quick'], join(workDir, 'mismatch'));
    await assert.rejects(mismatch.runCoordinatorCommand(['models', 'import', '--file', join(workDir, 'demo.safetensors'), '--kind', 'generator']), /architecture differs[^]*imageSize/);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
});
