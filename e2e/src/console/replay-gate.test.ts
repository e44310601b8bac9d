// The Reports page's Diffusion replay card in real Chromium when every site withholds its generator
// at the memorisation gate: the coordinator (rounds.generatorFailuresPerStep 1) gives up the step's
// generator rounds after one failed round, the step goes on to its evaluation, and the card names
// each withheld generator with its reason, the failed round and the decision.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { TaskKind, UploadState } from '@fedciss/proto';
import { approvedSite, FakeSite, launchBrowser, newPage, shot, signIn, startFederation, until, ADMIN, type Federation } from './harness';
import { PLAN, siteIoU } from './fixture';

const GATE = 'memorisation gate: 3 of 8 generated samples lie within the threshold 0.0332 (RMS) of this site\'s training images';

describe('reports page: a step whose generators were all withheld', { timeout: 120_000, skip: process.env.FEDCISS_SKIP_BROWSER_TESTS ? 'FEDCISS_SKIP_BROWSER_TESTS is set' : false }, () => {
  let fed: Federation;
  let browser: Browser;
  let page: Page;
  const sites: FakeSite[] = [];

  before(async () => {
    [fed, browser] = await Promise.all([startFederation(), launchBrowser()]);
    Object.assign(fed.config.rounds, { generatorRounds: 1, generatorFailuresPerStep: 1 });
    for (const name of ['Dresden University Hospital', 'Heidelberg University Hospital']) sites.push(await approvedSite(fed, name));
    assert.equal((await fed.api('POST', '/api/roster/classes', { classes: PLAN[0].classes })).body.step, 0);
    for (const s of sites) {
      const t = await s.task(TaskKind.TASK_KIND_TRAIN_SEGMENTER, `the segmenter round for ${s.name}`);
      assert.equal((await s.upload(t, `${s.name}-seg`, { realImages: 20, by: 0.05 })).state, UploadState.UPLOAD_STATE_ACCEPTED);
    }
    for (const s of sites) {
      const t = await s.task(TaskKind.TASK_KIND_TRAIN_GENERATOR, `the generator round for ${s.name}`);
      const ack = await s.client.reportWithheld({ roundId: t.roundId, kind: 'generator', reason: `${GATE} (${s.name})`, metrics: { privacyFlagged: 3 } });
      assert.equal(ack.ok, true, ack.message);
    }
    for (const [i, s] of sites.entries()) await s.evaluate(await s.task(TaskKind.TASK_KIND_EVALUATE, `the evaluation for ${s.name}`), 12, siteIoU(0, i));
    await until('step 0 to complete', async () => (await fed.api('GET', '/api/steps')).body[0]?.status === 'completed');
    page = await newPage(browser, fed.url);
    await signIn(page, ADMIN);
  });

  after(async () => {
    for (const s of sites) s.close();
    await browser?.close();
    await fed?.close();
  });

  test('the replay card shows each withheld generator with why, the failed round, and that the step went on with the generator it had', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports', exact: true }).click();
    const card = page.getByTestId('replay-report');
    await card.waitFor();
    // The table's row: no sample flagged (nothing was accepted), two generators withheld, one round failed.
    await card.locator('tbody tr').first().getByText('0 · 2 withheld · 1 round failed').waitFor();
    const gate = page.getByTestId('replay-gate-step-0');
    for (const s of sites) await gate.getByRole('listitem').filter({ hasText: `${s.name} withheld its generator in round` }).filter({ hasText: `${GATE} (${s.name})` }).waitFor();
    const decision = gate.getByTestId('generator-given-up');
    assert.match((await decision.textContent())!, /^Went on with the generator it had: 1 generator round of step 0 failed \(the last: every site has answered but the quorum cannot be reached: 0 of 2 sites uploaded \(quorum 2\), 2 withheld\); the step goes on with generator version \S+ \(rounds\.generatorFailuresPerStep 1\)$/);
    await shot(page, 'replay-generators-withheld', true);
    assert.deepEqual((page as Page & { consoleErrors?: string[] }).consoleErrors, []);
  });
});
