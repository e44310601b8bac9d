// The admin console in real Chromium (Debian's, driven by playwright-core) against a coordinator
// started in-process with in-test gRPC sites: sign-in and roles, adding classes (which opens a new
// incremental step), a round progressing live over server-sent events, sites, models, and the
// evaluation report's charts. Screenshots go to .artifacts/console/.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ReplaySkipReason, TaskKind, UploadState, type Task } from '@fedciss/proto';
import { ADMIN, ARTIFACTS, FakeSite, launchBrowser, newPage, shot, signIn, startFederation, until, VIEWER, type Federation } from './harness';
import { PLAN, siteIoU } from './fixture';

/** Follows a link of the main navigation. */
function nav(page: Page, name: string): Promise<void> {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true }).click();
}

describe('admin console in Chromium', { timeout: 120_000, skip: process.env.FEDCISS_SKIP_BROWSER_TESTS ? 'FEDCISS_SKIP_BROWSER_TESTS is set' : false }, () => {
  let fed: Federation;
  let browser: Browser;
  let admin: Page;
  let a: FakeSite;
  let b: FakeSite;
  let pendingSite: FakeSite;
  const modelOfStep: string[] = [];

  before(async () => {
    [fed, browser] = await Promise.all([startFederation(), launchBrowser()]);
    a = new FakeSite(fed.config.grpcAddress, 'Dresden University Hospital');
    b = new FakeSite(fed.config.grpcAddress, 'Heidelberg University Hospital');
    pendingSite = new FakeSite(fed.config.grpcAddress, 'Leipzig Surgical Centre');
    for (const s of [a, b, pendingSite]) await s.enroll();
    for (const s of [a, b]) assert.equal((await fed.api('POST', `/api/sites/${s.id}/approve`)).status, 201);
    await Promise.all([a.startHeartbeat(), b.startHeartbeat()]);
  });

  after(async () => {
    for (const s of [a, b, pendingSite]) s?.close();
    await browser?.close();
    await fed?.close();
    console.log(`screenshots in ${ARTIFACTS}`);
  });

  /** Replay checks as sites send them at steps > 0: A's generator beats teacher-labelled noise and A
   * replays; at step 1 B's does not, at step 2 B's step images already show the old classes. */
  const REPLAY_USED = { fidelity: 0.71, noiseFidelity: 0.54, foregroundFidelity: 0.59, noiseForegroundFidelity: 0.39, teacherMiou: 0.45, studentMiou: 0.32, noiseStudentMiou: 0.24, margin: 0.05, skipped: false, noiseSeconds: 41, oldClassShare: 0.006, skipReason: ReplaySkipReason.REPLAY_SKIP_REASON_UNSPECIFIED };
  const REPLAY_NO_BETTER_THAN_NOISE = { ...REPLAY_USED, fidelity: 0.52, studentMiou: 0.23, skipped: true, skipReason: ReplaySkipReason.REPLAY_SKIP_REASON_LOW_FIDELITY };
  const REPLAY_OLD_CLASSES_SHOWN = { ...REPLAY_USED, skipped: true, oldClassShare: 0.172, skipReason: ReplaySkipReason.REPLAY_SKIP_REASON_OLD_CLASSES_SHOWN };

  /** Both sites train the open segmenter round (site B's first try optionally poisoned) and evaluate; returns the evaluated model. */
  async function playStep(step: number, page?: Page): Promise<string> {
    const [ta, tb] = await Promise.all([a.task(TaskKind.TASK_KIND_TRAIN_SEGMENTER, 'a training task for A'), b.task(TaskKind.TASK_KIND_TRAIN_SEGMENTER, 'a training task for B')]);
    assert.equal(ta.step, step);
    if (step === 1) {
      const rejected = await b.upload(tb, `b-${step}-nan`, { realImages: 30, poison: true });
      assert.equal(rejected.state, UploadState.UPLOAD_STATE_REJECTED);
    }
    for (const [s, t, n, check] of [[a, ta, 40, REPLAY_USED], [b, tb, 28, step === 1 ? REPLAY_NO_BETTER_THAN_NOISE : REPLAY_OLD_CLASSES_SHOWN]] as const) {
      assert.equal((await s.upload(t, `${s.name}-${step}`, { realImages: n, replayImages: step ? 64 : 0, by: 0.05, replayCheck: step ? check : undefined })).state, UploadState.UPLOAD_STATE_ACCEPTED);
      await s.progress(t.roundId, 'upload', 1, {}, 'update uploaded');
    }
    return evaluate(step, page);
  }

  async function evaluate(step: number, _page?: Page): Promise<string> {
    const tasks: Task[] = await Promise.all([a.task(TaskKind.TASK_KIND_EVALUATE, 'an evaluation task for A'), b.task(TaskKind.TASK_KIND_EVALUATE, 'an evaluation task for B')]);
    await Promise.all([a.evaluate(tasks[0], 24, siteIoU(step, 0)), b.evaluate(tasks[1], 24, siteIoU(step, 1))]);
    await until(`step ${step} to complete`, async () => (await fed.api('GET', '/api/steps')).body.find((s: { index: number }) => s.index === step)?.status === 'completed');
    modelOfStep[step] = tasks[0].globalModel!.versionId;
    return modelOfStep[step];
  }

  test('sign-in refuses a wrong password; a viewer sees every page read-only', async () => {
    const page = await newPage(browser, fed.url);
    await page.goto('/');
    await page.getByRole('heading', { name: 'Sign in to the federation console' }).waitFor();
    await shot(page, '01-sign-in');
    await page.getByLabel('Username').fill(VIEWER.username);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: /invalid|password|credentials/i }).waitFor();

    await signIn(page, VIEWER);
    assert.equal(await page.getByTestId('role').textContent(), 'Viewer · read-only');
    await nav(page, 'Classes');
    await page.getByText('Only administrators can add classes').waitFor();
    assert.equal(await page.getByRole('button', { name: /open step/ }).count(), 0, 'a viewer has no add-classes form');
    // The API refuses a viewer too (the cookie session is what the console uses).
    const forbidden = await page.request.post('/api/roster/classes', { data: { classes: [{ name: 'spleen' }] } });
    assert.equal(forbidden.status(), 403);
    await shot(page, '02-viewer-classes');
    await nav(page, 'Sites');
    await page.getByTestId('sites').getByText(pendingSite.name).waitFor();
    assert.equal(await page.getByRole('button', { name: /Approve|Revoke|Reject/ }).count(), 0, 'a viewer has no site actions');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the federation console' }).waitFor();
    assert.equal((await page.request.get('/api/auth/me')).status(), 401, 'the session is gone');
    await page.context().close();
  });

  test('an admin adds classes, confirms that a new incremental step will open, and sees step 0 open', async () => {
    admin = await newPage(browser, fed.url);
    // Keyboard only: type, Tab to the password, Enter submits.
    await admin.goto('/');
    await admin.getByLabel('Username').focus();
    await admin.keyboard.type(ADMIN.username);
    await admin.keyboard.press('Tab');
    await admin.keyboard.type(ADMIN.password);
    await admin.keyboard.press('Enter');
    await admin.getByRole('navigation', { name: 'Main' }).waitFor();
    assert.equal(await admin.getByTestId('role').textContent(), 'Administrator');

    await nav(admin, 'Classes');
    await admin.getByRole('heading', { name: 'Classes', level: 1 }).waitFor();
    const [liver, stomach] = PLAN[0].classes;
    await admin.getByLabel('Name').fill(liver.name);
    await admin.getByLabel('Description').fill(liver.description!);
    await admin.getByRole('button', { name: 'Add another class' }).click();
    await admin.locator('#class-name-1').fill(stomach.name);
    await admin.locator('#class-desc-1').fill(stomach.description!);
    await admin.getByRole('button', { name: 'Review and open step 0' }).click();
    const dialog = admin.getByRole('dialog', { name: 'Open incremental step 0?' });
    await dialog.waitFor();
    assert.match((await admin.getByTestId('confirm-text').textContent())!, /A new incremental step will open: step 0/);
    await shot(admin, '03-classes-confirm-new-step');
    await dialog.getByRole('button', { name: 'Add 2 classes and open step 0' }).click();
    await admin.getByTestId('step-opened').filter({ hasText: 'Step 0 opened with liver, stomach.' }).waitFor();
    await admin.getByTestId('roster').locator('tr[data-class="stomach"]').waitFor();
    const steps = (await fed.api('GET', '/api/steps')).body;
    assert.equal(steps[0].index, 0);
    assert.deepEqual(steps[0].newClassIds, [1, 2]);
    await shot(admin, '04-classes-step-opened');
  });

  test('the overview shows a round progressing live over server-sent events', async () => {
    await nav(admin, 'Overview');
    await admin.locator('[data-testid="live-state"][data-state="live"]').waitFor();
    await admin.getByTestId('current-step').getByText('Step 0').waitFor();
    const [ta, tb] = await Promise.all([a.task(TaskKind.TASK_KIND_TRAIN_SEGMENTER, 'a training task for A'), b.task(TaskKind.TASK_KIND_TRAIN_SEGMENTER, 'a training task for B')]);
    await admin.getByTestId('current-round').getByText('Round 0', { exact: true }).waitFor();
    await admin.getByTestId('current-round').getByText(/segmenter training/).waitFor();
    const rowA = admin.locator(`li[data-site="${a.id}"]`);
    const rowB = admin.locator(`li[data-site="${b.id}"]`);
    const navigations: string[] = [];
    admin.on('framenavigated', (f) => f === admin.mainFrame() && navigations.push(f.url()));

    await a.progress(ta.roundId, 'train', 0.35, { epoch: 1, loss: 0.812 }, 'epoch 1 of 3');
    await b.progress(tb.roundId, 'replay', 0.2, { images: 13 }, 'generating replay images');
    await rowA.locator('.progress-pct', { hasText: '35%' }).waitFor();
    await rowB.getByText('generating replay images').waitFor();
    await a.progress(ta.roundId, 'train', 0.8, { epoch: 3, loss: 0.455 }, 'epoch 3 of 3');
    await b.progress(tb.roundId, 'train', 0.45, { epoch: 2, loss: 0.701 }, 'epoch 2 of 3');
    await rowA.locator('.progress-pct', { hasText: '80%' }).waitFor();
    assert.equal(await rowA.getByRole('progressbar').getAttribute('aria-valuenow'), '80');
    await rowB.locator('.progress-pct', { hasText: '45%' }).waitFor();
    await shot(admin, '05-overview-round-live');

    assert.equal((await a.upload(ta, 'a-0', { realImages: 40, by: 0.05 })).state, UploadState.UPLOAD_STATE_ACCEPTED);
    await a.progress(ta.roundId, 'upload', 1, {}, 'update uploaded');
    await rowA.getByText('update accepted').waitFor();
    assert.equal((await b.upload(tb, 'b-0', { realImages: 28, by: 0.05 })).state, UploadState.UPLOAD_STATE_ACCEPTED);
    await b.progress(tb.roundId, 'upload', 1, {}, 'update uploaded');
    await admin.getByTestId('live-feed').getByText(`Round ${ta.roundId} is completed`).waitFor();
    await evaluate(0);
    await admin.getByTestId('live-feed').getByText('Step 0 is completed').waitFor();
    await admin.getByTestId('current-step').getByText('completed').waitFor();
    assert.deepEqual(navigations, [], 'everything arrived without reloading the page');
    await shot(admin, '06-overview-step-completed');
  });

  test('sites: heartbeats, samples contributed, rejected updates with reasons; an admin approves a pending site', async () => {
    // Step 1 (opened over the API) has a poisoned update from site B that the coordinator rejects.
    assert.equal((await fed.api('POST', '/api/roster/classes', { classes: PLAN[1].classes })).body.step, 1);
    await playStep(1);
    await nav(admin, 'Sites');
    const table = admin.getByTestId('sites');
    const rowB = table.locator(`tr[data-site="${b.id}"]`);
    await rowB.getByText('Online').waitFor();
    assert.equal(await rowB.locator('td.num').nth(0).textContent(), '2', 'two accepted updates');
    assert.equal(await rowB.locator('td.num').nth(1).textContent(), '56', 'real images 28 + 28');
    assert.equal(await rowB.locator('td.num').nth(3).textContent(), '1', 'one rejected update');
    await admin.getByTestId('rejected-updates').getByText(/non-finite value \(NaN\)/).waitFor();
    await rowB.getByRole('button', { name: /Heidelberg University Hospital\W+show updates/ }).click();
    await admin.getByTestId('site-updates').getByText('rejected').first().waitFor();
    await shot(admin, '07-sites', true);

    const pendingRow = table.locator(`tr[data-site="${pendingSite.id}"]`);
    await pendingRow.getByText('pending').waitFor();
    await pendingRow.getByRole('button', { name: 'Approve' }).click();
    await admin.getByRole('dialog').getByRole('button', { name: 'Approve' }).click();
    await pendingRow.getByText('approved').waitFor();
    assert.equal((await fed.api('GET', '/api/sites')).body.find((s: { id: string }) => s.id === pendingSite.id).status, 'approved');
  });

  test('models: versions with their lineage and downloads', async () => {
    await nav(admin, 'Models');
    const table = admin.getByTestId('models');
    const row = table.locator(`tr[data-version="${modelOfStep[1]}"]`);
    await row.waitFor();
    const onnx = row.getByRole('link', { name: `Download ${modelOfStep[1]} as ONNX` });
    assert.equal(await onnx.getAttribute('href'), `/api/models/${modelOfStep[1]}/model.onnx`);
    const card = row.getByRole('link', { name: `Download the model card of ${modelOfStep[1]}` });
    assert.equal(await card.getAttribute('href'), `/api/models/${modelOfStep[1]}/model-card.md`);
    const weights = await admin.request.get(`/api/models/${modelOfStep[1]}/weights.safetensors`);
    assert.equal(weights.status(), 200);
    assert.ok((await weights.body()).length > 8);
    const parent = (await fed.api('GET', `/api/models/${modelOfStep[1]}`)).body.parentId;
    assert.ok(parent, 'a trained version has a parent');
    await row.getByText(`from ${parent}`).waitFor();
    await shot(admin, '08-models');
  });

  test('a report shows per-class IoU across steps, old/new/all mIoU, a forgetting heat map, the per-site matrix and why there are no overlays', async () => {
    assert.equal((await fed.api('POST', '/api/roster/classes', { classes: PLAN[2].classes })).body.step, 2);
    await playStep(2);
    // The real report, computed by the coordinator from what the sites reported.
    const report = (await fed.api('GET', '/api/reports')).body;
    assert.deepEqual(report.steps.map((s: { step: number }) => s.step), [0, 1, 2]);
    assert.ok(Math.abs(report.steps[2].perClassIoU[5] - PLAN[2].iou[5]) < 0.03, 'the pooled IoU of the new class');
    // This federation trains no generator, so there are no images to draw predictions on: the
    // coordinator says so, and the page shows its answer.
    const overlays = await fed.api('GET', `/api/reports/overlays/${modelOfStep[2]}`);
    assert.equal(overlays.status, 404);
    assert.match(JSON.stringify(overlays.body), /no generator has been trained yet/);
    await nav(admin, 'Reports');
    const iou = admin.getByTestId('iou-chart');
    await iou.waitFor();
    assert.equal(await admin.locator('.legend-item').count(), 5, 'one line per class');
    assert.ok((await iou.locator('circle').count()) >= 2 + 4 + 5, 'a point per class and step');
    assert.ok((await admin.getByTestId('miou-chart').locator('rect').count()) >= 7, 'old/new/all bars for three steps');
    const forgetting = admin.getByTestId('forgetting-map');
    await forgetting.getByRole('rowheader', { name: 'liver' }).waitFor();
    const matrix = admin.getByTestId('site-matrix');
    assert.equal(await matrix.locator('tbody tr').count(), 3, 'the federated row and one per site');
    await matrix.getByRole('rowheader', { name: a.name }).waitFor();
    await admin.getByTestId('report-summary').waitFor();
    await admin.getByText(/No overlays for this model version: no generator has been trained yet/).waitFor();
    // The replay check: fidelity next to the noise floor, and who skipped replay and why.
    const replay = admin.getByTestId('replay-report');
    await replay.getByText(/replay skipped \(no better than noise\)/).first().waitFor();
    await replay.getByText(/replay skipped \(its step images show the old classes: 17\.2% of pixels\)/).waitFor();
    await replay.getByText(/needs > 0\.59/).first().waitFor();
    await shot(admin, '09-reports-top');
    await shot(admin, '10-reports-full', true);
    // The detail step can be switched; the per-site matrix follows.
    await admin.getByLabel('Step shown in detail').selectOption('0');
    await admin.getByRole('heading', { name: 'Per-site matrix · step 0' }).waitFor();
    assert.deepEqual((admin as Page & { consoleErrors?: string[] }).consoleErrors, []);
  });

  test('an admin archives a class; it stays in the roster, marked archived', async () => {
    await nav(admin, 'Classes');
    const row = admin.getByTestId('roster').locator('tr[data-class="ureter"]');
    await row.getByRole('button', { name: 'Archive ureter' }).click();
    await row.getByText('archived', { exact: true }).waitFor();
    assert.equal((await fed.api('GET', '/api/roster')).body.find((c: { name: string }) => c.name === 'ureter').archived, true);
    await shot(admin, '11-classes-archived');
    await admin.getByLabel('Show archived').uncheck();
    await row.waitFor({ state: 'detached' });
    await admin.getByLabel('Show archived').check();
    await row.getByRole('button', { name: 'Restore ureter' }).waitFor();
  });
});
