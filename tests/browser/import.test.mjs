// Tools → Import from CRM in a real browser: the tag's contact count, Start import, and the
// progress bar the page polls from the REST API running to 100 %, with a user for every contact.
// Run through scripts/test-site.sh (or as settings.test.mjs says, with this file's name).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { site, launch, login, configure, emulatorCall, screenshot, freshIds } from './lib.mjs';

const COUNT = 40;
const TAG = '5'; // "Website Access" in FluentCRM's seed: no seeded contact carries it

let browser;
let page;

before(async () => {
  ({ browser, page } = await launch());
  await login(page);
  await emulatorCall('POST', '/reset');
});

after(async () => {
  await browser?.close();
});

test('an import of a tag runs to 100 % in the page and makes a user for every contact', async () => {
  await configure(page, 'fluentcrm');
  const from = freshIds();
  await emulatorCall('POST', '/contacts/fluentcrm/tagged', { tag: TAG, count: COUNT, from });

  await page.goto(`${site}/wp-admin/tools.php?page=crmhook-import`);
  assert.equal(await page.textContent('.wrap h1'), 'Import users from CRM');
  await page.selectOption('#crmhook-import-tag', TAG);
  // The count comes from the CRM's first page, fetched by the page's script.
  await page.waitForSelector('#crmhook-import-tag-count[data-total]');
  assert.equal(await page.textContent('#crmhook-import-tag-count'), `${COUNT} contacts have this tag.`);
  await page.selectOption('#crmhook-import-role', 'subscriber');
  await Promise.all([page.waitForURL(/[?&]import=\d+/), page.click('#crmhook-import-start')]);

  const box = page.locator('#crmhook-import-status-box');
  assert.match(await box.locator('h2').textContent(), /contacts tagged “Website Access”/);
  // Every value the bar takes from here on, as the page's script sets it.
  await page.evaluate(() => {
    const bar = document.getElementById('crmhook-import-progress');
    window.crmhookSeen = [bar.value];
    new MutationObserver(() => window.crmhookSeen.push(bar.value)).observe(bar, { attributes: true, childList: true });
  });
  // 40 contacts at FluentCRM's pace take seconds: the page opens on a running import (and if a
  // slow machine ever showed it finished, the counts below still hold).
  const running = ['listing', 'running'].includes(await box.getAttribute('data-status'));
  if (running) {
    assert.ok(await page.locator('#crmhook-import-cancel').isVisible(), 'a running import can be cancelled');
    assert.ok(await page.locator('#crmhook-import-start').isDisabled(), 'one import at a time');
  }

  await page.waitForSelector('#crmhook-import-status-box[data-status="done"]', { timeout: 180000 });
  assert.equal(await page.evaluate(() => document.getElementById('crmhook-import-progress').value), 100);
  assert.equal(await page.textContent('#crmhook-import-percent'), '100 %');
  assert.equal(await page.textContent('#crmhook-import-status'), 'Import finished.');
  const counts = {};
  for (const k of ['found', 'created', 'updated', 'skipped', 'failed', 'waiting']) {
    counts[k] = Number(await page.textContent(`#crmhook-import-${k}`));
  }
  assert.deepEqual(counts, { found: COUNT, created: COUNT, updated: 0, skipped: 0, failed: 0, waiting: 0 });
  const seen = await page.evaluate(() => window.crmhookSeen);
  assert.deepEqual(seen, [...seen].sort((a, b) => a - b), `the bar only grows: ${seen}`);
  if (running) {
    assert.ok(seen.length > 1 && seen.at(-1) === 100, `the page's script moved the bar to the end: ${seen}`);
  }
  assert.ok(!(await page.locator('#crmhook-import-cancel').isVisible()), 'nothing left to cancel');
  assert.ok(await page.locator('#crmhook-import-start').isEnabled());
  await box.scrollIntoViewIfNeeded();
  await screenshot(page, 'import-done.png');

  // The users are there: the first and the last contact, each a subscriber.
  for (const id of [from, from + COUNT - 1]) {
    await page.goto(`${site}/wp-admin/users.php?s=${encodeURIComponent(`import-${id}@example.com`)}`);
    const row = page.locator('#the-list tr', { hasText: `import-${id}@example.com` });
    assert.equal(await row.count(), 1, `a user for contact ${id}`);
    assert.equal((await row.locator('td.role').textContent()).trim(), 'Subscriber');
  }
});
