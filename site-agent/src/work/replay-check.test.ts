import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadReplaySet } from '@fedciss/ml';
import { ReplaySkipReason } from '@fedciss/proto';
import { loadAgentConfig } from '../config/agent-config';
import { HYPER, noiseGeneratorTask, siteData } from '../testing/step-task';
import { MlSiteWork } from './ml-site-work';

test('a site skips replay from a generator of pure noise without any absolute threshold: the same student on teacher-labelled noise does as well; the check travels typed', async () => {
  const base = await mkdtemp(join(tmpdir(), 'replay-check-'));
  try {
    const config = loadAgentConfig({ flags: { siteName: 'A', dataRoot: await siteData(base), workDir: join(base, 'work'), trainSurgeries: ['01'], testSurgeries: ['02'], threads: 1 } });
    const { task, fetch } = noiseGeneratorTask();
    const work = new MlSiteWork(config, () => undefined);
    const update = await work.trainSegmenter(task, fetch, () => undefined);
    const c = update.replayCheck;
    assert.ok(c, 'the update carries its replay check');
    assert.equal(c.skipped, true, `fidelity ${c.fidelity}, noise ${c.noiseFidelity}, margin ${c.margin}`);
    assert.equal(c.skipReason, ReplaySkipReason.REPLAY_SKIP_REASON_LOW_FIDELITY);
    assert.ok(c.oldClassShare >= 0 && c.oldClassShare <= 1, `old-class share ${c.oldClassShare}`);
    assert.ok(c.fidelity < c.noiseFidelity + c.margin);
    assert.ok(c.noiseSeconds > 0);
    assert.equal(update.samples.replayImages, 0, 'skipped: no replay image in the training');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('with the replay check off a site replays from the same noise generator, unmeasured', async () => {
  const base = await mkdtemp(join(tmpdir(), 'replay-unchecked-'));
  try {
    const config = loadAgentConfig({ flags: { siteName: 'A', dataRoot: await siteData(base), workDir: join(base, 'work'), trainSurgeries: ['01'], testSurgeries: ['02'], threads: 1 } });
    const { task, fetch } = noiseGeneratorTask({ ...HYPER, replayCheck: false });
    const update = await new MlSiteWork(config, () => undefined).trainSegmenter(task, fetch, () => undefined);
    assert.equal(update.replayCheck, undefined, 'no check, no figures');
    assert.ok(update.samples.replayImages > 0, 'replay images in the training');
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('each site draws its own replay images from the same global generator', async () => {
  const base = await mkdtemp(join(tmpdir(), 'replay-sites-'));
  try {
    const data = await siteData(base);
    const { task, fetch } = noiseGeneratorTask();
    const images: Float32Array[] = [];
    for (const site of ['A', 'B']) {
      const workDir = join(base, `work-${site}`);
      const config = loadAgentConfig({ flags: { siteName: site, dataRoot: data, workDir, trainSurgeries: ['01'], testSurgeries: ['02'], threads: 1 } });
      await new MlSiteWork(config, () => undefined).trainSegmenter(task, fetch, () => undefined);
      const set = await loadReplaySet(join(workDir, 'replay', 'step-1'));
      assert.ok(set, `site ${site} kept its replay set`);
      images.push(set.images);
    }
    assert.equal(images[0].length, images[1].length);
    // With one sampling seed for every site, both drew these images exactly alike.
    assert.notDeepEqual(images[0], images[1]);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
