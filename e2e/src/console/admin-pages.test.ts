// The console's Audit log and Users pages in Chromium, driven with the keyboard only, with axe-core
// checks on each state: filtering the audit log by actor, action and time; adding a user, changing
// a role and disabling an account (whose sign-in then fails); viewers are not offered either page.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { ADMIN, launchBrowser, newPage, shot, signIn, startFederation, VIEWER, type Federation } from './harness';
import { axeViolations } from './axe';
import { signIn as signInApi } from '@fedciss/coordinator/testing';

async function assertAccessible(page: Page, where: string): Promise<void> {
  assert.deepEqual(await axeViolations(page), [], `axe-core violations on ${where}`);
}

/** Tabs until the focused element matches `selector` (at most `max` presses): keyboard only, no clicks. */
async function tabTo(page: Page, selector: string, max = 40): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate(`document.activeElement?.matches(${JSON.stringify(selector)}) ?? false`)) return;
  }
  throw new Error(`${selector} not reached with Tab`);
}

describe('console: audit log and users pages', { timeout: 180_000, skip: process.env.FEDCISS_SKIP_BROWSER_TESTS ? 'FEDCISS_SKIP_BROWSER_TESTS is set' : false }, () => {
  let fed: Federation;
  let browser: Browser;
  let page: Page;

  before(async () => {
    [fed, browser] = await Promise.all([startFederation(), launchBrowser()]);
    // Some history to filter: classes added by the admin (a step opens), sign-ins of both users.
    assert.equal((await fed.api('POST', '/api/roster/classes', { classes: [{ name: 'liver' }] })).status, 201);
    page = await newPage(browser, fed.url);
    await signIn(page, ADMIN);
  });

  after(async () => {
    await browser?.close();
    await fed?.close();
  });

  test('the audit log filters by actor, action and time, with the keyboard', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit log' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Audit log', level: 1 }).waitFor();
    const rows = page.getByTestId('audit').locator('tbody tr');
    await rows.first().waitFor();
    assert.ok((await rows.count()) >= 3, 'sign-ins, user creations and the roster change are logged');
    await assertAccessible(page, 'the audit log');

    await page.getByLabel('Action').focus();
    await page.getByLabel('Action').selectOption('roster.add');
    await tabTo(page, 'button[type=submit]');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid=audit] tbody tr[data-action="roster.add"]').first().waitFor();
    await page.waitForFunction(`[...document.querySelectorAll('[data-testid=audit] tbody tr')].every((r) => r.getAttribute('data-action') === 'roster.add')`);

    await page.getByRole('button', { name: 'Clear' }).focus();
    await page.keyboard.press('Enter');
    await page.getByLabel('Actor').focus();
    await page.keyboard.type('admin');
    await page.keyboard.press('Enter');
    // the admin's sign-in and roster change, not the harness's user creations (actor "test")
    await page.waitForFunction(`(() => {
      const cells = [...document.querySelectorAll('[data-testid=audit] tbody tr td:nth-child(2)')].map((c) => c.textContent ?? '');
      return cells.length >= 2 && cells.every((c) => c === 'admin');
    })()`);

    // a time window in the future matches nothing
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('From').fill('2099-01-01T00:00');
    await page.getByLabel('From').press('Enter');
    await page.getByText('No entry matches.').waitFor();
    await assertAccessible(page, 'the filtered audit log');
    await shot(page, 'audit-log');
  });

  test('users: add, change role and disable with the keyboard; a disabled user cannot sign in', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Users' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Users', level: 1 }).waitFor();
    await page.getByTestId('users').locator('tr[data-user="viewer"]').waitFor();
    await assertAccessible(page, 'the users page');

    await page.getByLabel('Username').focus();
    await page.keyboard.type('surgeon.lead');
    await page.keyboard.press('Tab');
    await page.keyboard.type('a long enough password 42');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab'); // past the role select (viewer), to "Add user"
    await page.keyboard.press('Enter');
    const row = page.getByTestId('users').locator('tr[data-user="surgeon.lead"]');
    await row.waitFor();
    const roleCell = row.locator('td').first();
    assert.equal((await roleCell.textContent())?.trim(), 'Viewer');
    assert.ok(await signInApi(fed.url, 'surgeon.lead', 'a long enough password 42'), 'the new user signs in');

    // make administrator: a harmless change, the confirm button has focus
    await row.getByRole('button', { name: /Make administrator/ }).focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    await assertAccessible(page, 'the role dialog');
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Make administrator');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    await page.waitForFunction(`document.querySelector('[data-testid=users] tr[data-user="surgeon.lead"] td')?.textContent === 'Administrator'`);

    // disable: a harmful change, Cancel has focus; Tab to Disable
    await row.getByRole('button', { name: /^Disable/ }).focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor();
    assert.equal(await page.evaluate('document.activeElement?.textContent'), 'Cancel');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    await row.getByText('disabled', { exact: true }).waitFor();
    await assert.rejects(signInApi(fed.url, 'surgeon.lead', 'a long enough password 42'), 'a disabled account cannot sign in');

    // the own account offers no change (nobody locks themself out)
    assert.equal(await page.getByTestId('users').locator('tr[data-user="admin"] button').count(), 0);
    const audit = (await fed.api<Array<{ action: string; target: string }>>('GET', '/api/audit?actor=admin')).body;
    for (const action of ['user.create', 'user.role', 'user.disable']) assert.ok(audit.some((e) => e.action === action && e.target === 'surgeon.lead'), `${action} audited`);
    await shot(page, 'users');
  });

  test('a viewer is offered neither page', async () => {
    const viewer = await newPage(browser, fed.url);
    await signIn(viewer, VIEWER);
    const nav = viewer.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Overview' }).waitFor();
    assert.equal(await nav.getByRole('link', { name: 'Audit log' }).count(), 0);
    assert.equal(await nav.getByRole('link', { name: 'Users' }).count(), 0);
    assert.equal((await fed.api('GET', '/api/users', undefined)).status, 200, 'the admin may list users');
    await viewer.context().close();
  });
});
