// The Reports page's per-round chart in real Chromium, on a coordinator whose training settings turn
// evaluateEveryRound on: two steps of two segmenter rounds each, played by in-test gRPC sites that
// evaluate every round's aggregate. The chart draws the coordinator's own series
// (GET /api/reports/steps/:step/rounds), its legend works from the keyboard, its data table holds
// the same numbers, and axe-core finds no WCAG A/AA violation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Locator, Page } from 'playwright-core';
import { TaskKind, UploadState } from '@fedciss/proto';
import { approvedSite, FakeSite, launchBrowser, newPage, shot, signIn, startFederation, until, ADMIN, type Federation } from './harness';
import { PLAN, siteIoU } from './fixture';
import { axeViolations } from './axe';

const fmt = (v: number | null) => (v === null ? '—' : v.toFixed(2));

describe('reports page: mIoU after every round', { timeout: 120_000, skip: process.env.FEDCISS_SKIP_BROWSER_TESTS ? 'FEDCISS_SKIP_BROWSER_TESTS is set' : false }, () => {
  let fed: Federation;
  let browser: Browser;
  let page: Page;
  const sites: FakeSite[] = [];

  /** One segmenter round trained by both sites, then its aggregate evaluated by both at `scale` × the plan's IoU. */
  async function playRound(step: number, round: number, scale: number): Promise<void> {
    for (const s of sites) {
      const t = await s.task(TaskKind.TASK_KIND_TRAIN_SEGMENTER, `step ${step} round ${round} for ${s.name}`);
      assert.equal(t.roundIndex, round);
      assert.equal((await s.upload(t, `${s.name}-${step}-${round}`, { realImages: 20, by: 0.05 })).state, UploadState.UPLOAD_STATE_ACCEPTED);
    }
    for (const [i, s] of sites.entries()) {
      const t = await s.task(TaskKind.TASK_KIND_EVALUATE, `the evaluation of step ${step} round ${round} for ${s.name}`);
      const iou = Object.fromEntries(Object.entries(siteIoU(step, i)).map(([id, v]) => [id, v * scale]));
      await s.evaluate(t, 12, iou);
    }
  }

  before(async () => {
    [fed, browser] = await Promise.all([startFederation({ segmenterRounds: 2, training: { evaluateEveryRound: true } }), launchBrowser()]);
    for (const name of ['Dresden University Hospital', 'Heidelberg University Hospital']) sites.push(await approvedSite(fed, name));
    for (const step of [0, 1]) {
      assert.equal((await fed.api('POST', '/api/roster/classes', { classes: PLAN[step].classes })).body.step, step);
      await playRound(step, 0, 0.6);
      await playRound(step, 1, 1);
      await until(`step ${step} to complete`, async () => (await fed.api('GET', '/api/steps')).body.find((s: { index: number }) => s.index === step)?.status === 'completed');
    }
    page = await newPage(browser, fed.url);
    await signIn(page, ADMIN);
  });

  after(async () => {
    for (const s of sites) s.close();
    await browser?.close();
    await fed?.close();
  });

  const chartFigure = (): Locator => page.locator('figure', { has: page.getByTestId('round-series-chart') });

  test('the chart draws old, new and all mIoU of each round from the coordinator\'s series; legend and data table work from the keyboard', async () => {
    const series = (await fed.api('GET', '/api/reports/steps/1/rounds')).body;
    assert.deepEqual(series.points.map((p: { round: number }) => p.round), [0, 1]);
    assert.ok(series.points.every((p: { mIoU: Record<string, number | null> }) => p.mIoU.old !== null && p.mIoU.new !== null), 'step 1 has old and new classes');
    assert.ok(series.points[1].mIoU.new > series.points[0].mIoU.new, 'the second round scored higher, as the sites reported');

    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Reports', exact: true }).click();
    const figure = chartFigure();
    await figure.waitFor();
    await page.getByRole('heading', { name: 'mIoU after every round · step 1' }).waitFor();
    assert.match((await page.getByTestId('round-series-chart').getAttribute('aria-label'))!, /after each of 2 evaluated rounds of step 1/);
    assert.equal(await figure.locator('circle').count(), 3 * 2, 'old, new and all at two rounds');

    // The legend highlights a line on keyboard focus.
    const newLine = figure.getByRole('button', { name: 'New classes' });
    await newLine.focus();
    assert.equal(await newLine.getAttribute('aria-pressed'), 'true');
    await page.keyboard.press('Tab');
    assert.equal(await newLine.getAttribute('aria-pressed'), 'false');
    assert.equal(await figure.getByRole('button', { name: 'All classes' }).getAttribute('aria-pressed'), 'true', 'Tab moves to the next line');

    // The text alternative: the data table, opened with the keyboard, holds the series' numbers.
    await figure.locator('summary').focus();
    await page.keyboard.press('Enter');
    const row = (label: string) => figure.getByRole('row').filter({ has: page.getByRole('rowheader', { name: label }) });
    for (const [label, key] of [['Old classes', 'old'], ['New classes', 'new'], ['All classes', 'all']] as const) {
      assert.deepEqual(await row(label).locator('td').allTextContents(), series.points.map((p: { mIoU: Record<string, number | null> }) => fmt(p.mIoU[key])), `${label} in the data table`);
    }
    await shot(page, 'round-series-step-1');
    assert.deepEqual(await axeViolations(page), [], 'axe-core violations on the reports page');

    // The chart follows the step shown in detail: step 0 has no old classes, so two lines.
    await page.getByLabel('Step shown in detail').selectOption('0');
    await page.getByRole('heading', { name: 'mIoU after every round · step 0' }).waitFor();
    await until('the chart of step 0', async () => (await chartFigure().locator('circle').count()) === 2 * 2);
    assert.deepEqual((page as Page & { consoleErrors?: string[] }).consoleErrors, []);
  });
});
