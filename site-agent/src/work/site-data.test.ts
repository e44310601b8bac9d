import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '../config/agent-config';
import { defaultDsadRoster } from '../data/roster';
import { generateSynthetic } from '../synthetic/generate';
import { SiteData } from './site-data';

test("a step trains on the images annotated for its classes (or fully), never on other structures' single-folder images", async () => {
  const base = await mkdtemp(join(tmpdir(), 'site-data-'));
  try {
    await generateSynthetic({ out: join(base, 'data'), surgeries: 1, surgeryIds: ['01'], seed: 3, size: { width: 48, height: 32 }, imagesPerSurgery: 12, multilabelFraction: 0.25, structureFolders: 'one-folder' });
    const config = loadAgentConfig({ flags: { siteName: 'A', dataRoot: join(base, 'data'), workDir: join(base, 'work'), trainSurgeries: ['01'] } });
    const data = new SiteData(config);
    const roster = defaultDsadRoster();
    const liver = roster.find((c) => c.name === 'liver')!.id;
    const all = await data.training(roster, [], 0, { width: 24, height: 16 });
    const step = await data.training(roster, [liver], 0, { width: 24, height: 16 });
    assert.equal(all.length, 12, 'the generator (no classes) sees every image');
    assert.ok(step.length > 0 && step.length < all.length, `liver step: ${step.length} of ${all.length} images`);
    for (const s of step) {
      assert.ok(s.complete || s.annotated.includes(liver), `${s.key} is annotated for ${s.annotated.join(',')} only`);
      assert.ok(s.label.every((v) => v === 0 || v === liver || v === 255), 'labels of the step only');
    }
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
