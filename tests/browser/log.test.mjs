// Tools → CRM Webhooks log in a real browser: webhooks the CRM (the emulator) really sent, the
// filters (outcome, CRM and action, dates, search), and "Run again" on a failed row once the CRM
// is back. Run through scripts/test-site.sh (or as settings.test.mjs says, with this file's name).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { site, launch, login, configure, emulatorCall, sendWebhook, screenshot, until, freshIds } from './lib.mjs';

let browser;
let page;
let key;
// Two contacts of this run: one the site syncs, one whose fetch the CRM fails.
const ok = String(freshIds());
const down = String(Number(ok) + 1);
const email = (id) => `log-${id}@example.com`;
const logUrl = (query = '') => `${site}/wp-admin/tools.php?page=crmhook-log${query}`;

/** The rows on screen: id, outcome, via, CRM and action as shown, and the row's text. */
const rows = () => page.$$eval('tr.crmhook-log-row', (trs) => trs.map((tr) => ({
  id: tr.dataset.id,
  outcome: tr.dataset.outcome,
  via: tr.dataset.via,
  crm: tr.querySelector('td.column-crm').textContent.trim(),
  action: tr.querySelector('td.column-action').firstChild.textContent.trim(),
  text: tr.textContent,
})));
const rowsOf = async (contact) => (await rows()).filter((r) => r.text.includes(email(contact)) || r.text.includes(contact));

/** Submits the filters form as it is set, and waits for the filtered page. */
async function filter() {
  await Promise.all([page.waitForNavigation(), page.click('#crmhook-log-filter')]);
}

before(async () => {
  ({ browser, page } = await launch());
  await login(page);
  await emulatorCall('POST', '/reset');
  // Immediately: each webhook gets its full answer, so a CRM failure is a failed row at once.
  key = await configure(page, 'activecampaign', 'immediate');
  for (const id of [ok, down]) {
    await emulatorCall('PUT', `/contacts/activecampaign/${id}`, { email: email(id), first_name: 'Log', last_name: `Test ${id}`, tags: ['1'] });
  }
});

after(async () => {
  await emulatorCall('DELETE', '/faults').catch(() => {});
  await browser?.close();
});

test('every webhook the CRM sent is a row: a test, a user created, a failure with Run again', async () => {
  assert.equal((await sendWebhook('activecampaign', 'test', ok, key)).status, 200);
  assert.equal((await sendWebhook('activecampaign', 'add', ok, key)).status, 200);
  await emulatorCall('POST', '/faults', { crm: 'activecampaign', path: `/api/3/contacts/${down}`, mode: 'status', status: 503, body: { message: 'down' } });
  const failed = await sendWebhook('activecampaign', 'add', down, key);
  assert.equal(failed.status, 502, failed.body);

  await page.goto(logUrl());
  assert.equal(await page.textContent('.wrap h1'), 'CRM Webhooks log');
  const created = (await rowsOf(ok)).filter((r) => r.outcome === 'created');
  assert.equal(created.length, 1, 'the add that made the user');
  assert.equal(await page.textContent(`#crmhook-log-${created[0].id} a.crmhook-log-user`), email(ok), 'linked to the user it made');
  const [bad] = await rowsOf(down);
  assert.equal(bad.outcome, 'failed');
  const row = page.locator(`#crmhook-log-${bad.id}`);
  assert.match(await row.getAttribute('class'), /\bcrmhook-log-failure\b/);
  assert.equal(await row.getAttribute('data-status'), '502');
  assert.match(await row.locator('td.column-message').textContent(), /ActiveCampaign/);
  assert.ok(await row.locator('a.crmhook-log-run-again').isVisible(), 'a failed row offers Run again');
  assert.equal(await page.locator(`#crmhook-log-${created[0].id} a.crmhook-log-run-again`).count(), 0, 'a row that worked does not');
  assert.ok(!(await page.content()).includes(key), 'the access key is on no row');
  // At 1280 px the message keeps room to be read (not a letter a line).
  const [table, message] = await page.$$eval('table.wp-list-table, th#message', (els) => els.map((e) => e.getBoundingClientRect().width));
  assert.ok(message >= table / 5, `the message column is ${message} px of ${table}`);
  await screenshot(page, 'log-failed-row.png');
});

test('the filters narrow the rows by outcome, CRM and action, date and contact', async () => {
  await page.goto(logUrl());
  await page.selectOption('#crmhook-log-outcome', 'failed');
  await filter();
  assert.match(page.url(), /[?&]outcome=failed\b/);
  assert.doesNotMatch(page.url(), /_wpnonce/, 'only the filters stay in the address');
  let shown = await rows();
  assert.ok(shown.some((r) => r.text.includes(down)), 'the failed webhook');
  assert.deepEqual([...new Set(shown.map((r) => r.outcome))], ['failed']);
  assert.equal(await page.inputValue('#crmhook-log-outcome'), 'failed', 'the filter stays chosen');

  await page.selectOption('#crmhook-log-outcome', '');
  await page.selectOption('#crmhook-log-crm', 'activecampaign');
  await page.selectOption('#crmhook-log-action', 'test');
  await filter();
  shown = await rows();
  // This run's test call, and whatever tests (also refused ones, with a wrong key) came before.
  assert.ok(shown.some((r) => r.outcome === 'test'));
  assert.deepEqual([...new Set(shown.map((r) => `${r.crm} ${r.action}`))], ['ActiveCampaign test']);

  // Another CRM, any action: none of this run's ActiveCampaign rows.
  await page.selectOption('#crmhook-log-crm', 'keap');
  await page.selectOption('#crmhook-log-action', '');
  await filter();
  assert.match(page.url(), /[?&]crm=keap\b/);
  shown = await rows();
  assert.ok(shown.every((r) => r.crm === 'Infusionsoft / Keap'), 'no ActiveCampaign row under Keap');
  assert.equal(shown.filter((r) => r.text.includes(ok) || r.text.includes(down)).length, 0);

  // The search: a contact id, exactly.
  await page.goto(logUrl());
  await page.fill('#crmhook-log-search-search-input', down);
  await Promise.all([page.waitForNavigation(), page.click('#search-submit')]);
  shown = await rows();
  assert.ok(shown.length >= 1);
  assert.ok(shown.every((r) => r.text.includes(down)), 'only that contact\'s rows');

  // Dates, in the site's time zone (UTC here): today has the rows, tomorrow nothing yet.
  const today = new Date().toISOString().slice(0, 10);
  const tomorrow = new Date(Date.now() + 86400000).toISOString().slice(0, 10);
  await page.goto(logUrl(`&from=${today}&to=${today}`));
  assert.equal((await rowsOf(ok)).length, 1, 'today\'s add');
  assert.ok((await rowsOf(down)).length >= 1, 'and today\'s failure');
  await page.goto(logUrl());
  await page.fill('#crmhook-log-from', tomorrow);
  await filter();
  assert.match(page.url(), new RegExp(`[?&]from=${tomorrow}`));
  assert.equal((await rows()).length, 0);
  assert.match(await page.textContent('#the-list'), /No webhooks logged for these filters/);
});

test('Run again on the failed row, once the CRM is back, queues it and the queue creates the user', async () => {
  await emulatorCall('DELETE', '/faults');
  await page.goto(logUrl(`&s=${down}`));
  const [bad] = (await rows()).filter((r) => r.outcome === 'failed');
  await Promise.all([page.waitForNavigation(), page.click(`#crmhook-log-${bad.id} a.crmhook-log-run-again`)]);
  const notice = await page.textContent('#crmhook-log-notice.notice-success');
  const job = notice.match(/queued again as job (\d+)/);
  assert.ok(job, notice);

  // The queue's runner takes the job: its row appears (via the queue), the user is made.
  const ran = await until(async () => {
    await page.goto(logUrl(`&s=${down}`));
    return (await rows()).find((r) => r.via === 'queue' && r.outcome !== 'queued');
  }, `job ${job[1]} has run`);
  assert.equal(ran.outcome, 'created', ran.text);
  assert.match(ran.text, new RegExp(`job ${job[1]}`));
  assert.equal(await page.textContent(`#crmhook-log-${ran.id} a.crmhook-log-user`), email(down));
  assert.equal(await page.locator(`#crmhook-log-${ran.id} a.crmhook-log-run-again`).count(), 0);
});
