import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAgentConfig } from '@fedciss/site-agent';
import { threadsPerSite } from './core-share';
import { Federation } from './federation';

test('agents sharing a machine share its cores: at least one thread each', () => {
  assert.equal(threadsPerSite(3, 2), 1);
  assert.equal(threadsPerSite(2, 2), 1);
  assert.equal(threadsPerSite(1, 2), 2);
  assert.equal(threadsPerSite(2, 16), 8);
  assert.equal(threadsPerSite(3, 16), 5);
});

test("the harness's site config is one the site agent loads, with its share of the cores", () => {
  const dir = mkdtempSync(join(tmpdir(), 'harness-site-config-'));
  try {
    const fed = new Federation({
      workDir: dir, sites: 3, tls: true, trainSurgeriesPerStep: 1, steps: 1, testSurgeries: 1, imagesPerSurgery: 1,
      imageSize: { width: 32, height: 24 }, seed: 1, coordinatorFlags: [], training: {}, siteSettings: { 2: { threads: 5 } },
    });
    const load = (i: number) => {
      const file = join(dir, `site-${i}.json`);
      writeFileSync(file, JSON.stringify(fed.siteConfig(i)));
      return loadAgentConfig({ file, env: {} });
    };
    const a = load(0);
    assert.equal(a.siteName, 'Hospital A');
    assert.equal(a.threads, threadsPerSite(3));
    assert.equal(load(2).threads, 5, "a site's own settings win");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
