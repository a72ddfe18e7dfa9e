// Settings → CRM Webhooks in a real browser: log in, fill the connection, save, test it, read
// the URL builder, regenerate the key. Screenshots go to $SCREENSHOTS_DIR ($RUN_DIR/screenshots,
// so a test run changes no tracked file); `make screenshots` writes them to docs/ for the README.
//
//   SITE_URL=http://127.0.0.1:8088 EMULATOR_URL=http://127.0.0.1:8790 node --test settings.test.mjs
//
// Needs the harness site (scripts/site/up.sh) and the CRM emulator running, Debian's chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const site = process.env.SITE_URL || 'http://127.0.0.1:8088';
const emulator = process.env.EMULATOR_URL || 'http://127.0.0.1:8790';
const runDir = process.env.RUN_DIR || join(root, '.run');
const password = readFileSync(join(runDir, 'admin-password'), 'utf8').trim();
const docs = process.env.SCREENSHOTS_DIR || join(runDir, 'screenshots');
mkdirSync(docs, { recursive: true });

let browser;
let page;

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // As root on a closed network: no sandbox, and none of Chromium's own background calls.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15000);
});

after(async () => {
  await browser?.close();
});

test('an admin logs in and opens Settings → CRM Webhooks', async () => {
  await page.goto(`${site}/wp-login.php`);
  await page.fill('#user_login', 'admin');
  await page.fill('#user_pass', password);
  await Promise.all([page.waitForURL(/wp-admin/), page.click('#wp-submit')]);
  await page.goto(`${site}/wp-admin/options-general.php?page=crmhook`);
  assert.equal(await page.textContent('.wrap h1'), 'CRM Webhooks');
});

test('saving the connection keeps the key hidden and Test connection reaches the CRM', async () => {
  await page.selectOption('#crmhook-crm', 'activecampaign');
  await page.fill('#crmhook-api-url', `${emulator}/activecampaign`);
  await page.fill('#crmhook-api_key', 'ac-test-key');
  await page.check('input[name="crmhook_settings[allowed_roles][]"][value="subscriber"]');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  assert.match(await page.textContent('.wrap'), /Settings saved/);
  assert.equal(await page.inputValue('#crmhook-api-url'), `${emulator}/activecampaign`);
  // The saved key is never printed back into the page.
  assert.equal(await page.inputValue('#crmhook-api_key'), '');
  assert.ok(!(await page.content()).includes('ac-test-key'));

  await page.click('#crmhook-test-connection');
  await page.waitForSelector('#crmhook-test-result.crmhook-ok, #crmhook-test-result.crmhook-fail');
  const result = await page.textContent('#crmhook-test-result');
  assert.match(result, /Connected to ActiveCampaign: \d+ tags found/);
  await page.screenshot({ path: join(docs, 'settings-connection.png'), fullPage: false });
});

test('markup in a CRM error stays text in Test connection\'s answer', async () => {
  // Short enough to survive the 40-character echo of a CRM's answer whole.
  const markup = '<img src=x onerror=crmhookXss=1>';
  const fault = { crm: 'activecampaign', path: '/api/3/tags', mode: 'status', status: 400, body: { message: markup } };
  await fetch(`${emulator}/_emulator/faults`, { method: 'POST', body: JSON.stringify(fault), headers: { 'Content-Type': 'application/json' } });
  try {
    await page.click('#crmhook-test-connection');
    await page.waitForSelector('#crmhook-test-result.crmhook-fail');
    assert.ok((await page.textContent('#crmhook-test-result')).includes(markup), 'the CRM\'s message is shown as it is');
    assert.equal(await page.locator('#crmhook-test-result img').count(), 0, 'no element was made from it');
    assert.equal(await page.evaluate(() => window.crmhookXss ?? 0), 0, 'no script ran');
  } finally {
    await fetch(`${emulator}/_emulator/faults`, { method: 'DELETE' });
  }
});

test('the URL builder prints the exact webhook URLs with the access key', async () => {
  const key = await page.inputValue('#crmhook-access-key');
  assert.match(key, /^[A-Za-z0-9]{32}$/);
  const add = await page.textContent('#crmhook-url-add');
  assert.equal(add, `${site}/?wpf_action=add&access_key=${key}`);
  assert.equal(await page.textContent('#crmhook-url-update_tags'), `${site}/?wpf_action=update_tags&access_key=${key}`);
  await page.check('#crmhook-opt-notify');
  assert.equal(await page.textContent('#crmhook-url-add'), `${site}/?wpf_action=add&access_key=${key}&send_notification=true`);
  await page.locator('#crmhook-webhooks').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(docs, 'settings-url-builder.png'), fullPage: false });

  // The URL the builder shows really works.
  const answer = await fetch(`${site}/?wpf_action=test&access_key=${key}`);
  assert.equal(answer.status, 200);
  assert.equal((await answer.json()).success, true);
});

test('regenerating the key replaces it everywhere and the old URL stops working', async () => {
  const old = await page.inputValue('#crmhook-access-key');
  await Promise.all([page.waitForNavigation(), page.click('#crmhook-regenerate-key')]);
  const fresh = await page.inputValue('#crmhook-access-key');
  assert.match(fresh, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(fresh, old);
  assert.ok((await page.textContent('#crmhook-url-add')).endsWith(`access_key=${fresh}`));
  assert.match(await page.textContent('.wrap'), /new access key/);
  assert.equal((await fetch(`${site}/?wpf_action=test&access_key=${old}`)).status, 403);
  assert.equal((await fetch(`${site}/?wpf_action=test&access_key=${fresh}`)).status, 200);
  await page.screenshot({ path: join(docs, 'settings-new-key.png'), fullPage: true });
});

test('Keap shows name/value pairs to paste instead of URLs', async () => {
  await page.selectOption('#crmhook-crm', 'keap');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  // ActiveCampaign's saved key is not kept for Keap, and the page says so.
  assert.match(await page.textContent('.wrap'), /credentials saved for ActiveCampaign were cleared/);
  const key = await page.inputValue('#crmhook-access-key');
  assert.equal(await page.textContent('#crmhook-url-add'), `contactId = ~Contact.Id~\nwpf_action = add\naccess_key = ${key}`);
  // Back to ActiveCampaign for whoever runs next.
  await page.selectOption('#crmhook-crm', 'activecampaign');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
});

// The Connection section follows the CRM select before anything is saved.
const visible = (selector) => page.locator(selector).isVisible();

test('the CRM select shows only that CRM\'s credential fields, its API URL and its builder text', async () => {
  const key = await page.inputValue('#crmhook-access-key');
  await page.selectOption('#crmhook-crm', 'keap');
  assert.ok(await visible('#crmhook-api_key'));
  assert.ok(!(await visible('#crmhook-password')), 'no application password for Keap');
  assert.ok(!(await visible('#crmhook-username')));
  assert.ok(!(await visible('#crmhook-api_secret')));
  assert.equal(await page.getAttribute('#crmhook-api-url', 'placeholder'), 'https://api.infusionsoft.com/crm/rest');
  assert.match(await page.textContent('#crmhook-builder-intro'), /Send HTTP Post/);
  assert.ok(await visible('#crmhook-site-url'), 'the site URL to post to');
  assert.equal(await page.textContent('#crmhook-url-add'), `contactId = ~Contact.Id~\nwpf_action = add\naccess_key = ${key}`);

  await page.selectOption('#crmhook-crm', 'fluentcrm');
  assert.ok(await visible('#crmhook-username'));
  assert.ok(await visible('#crmhook-password'));
  assert.ok(!(await visible('#crmhook-api_key')));
  assert.match(await page.textContent('#crmhook-api-url-help'), /WordPress site that runs FluentCRM/);
  assert.match(await page.textContent('#crmhook-builder-intro'), /webhook of FluentCRM/);
  assert.ok(!(await visible('#crmhook-site-url')));
  assert.equal(await page.textContent('#crmhook-url-add'), `${site}/?wpf_action=add&access_key=${key}`);

  await page.selectOption('#crmhook-crm', 'convertkit');
  assert.ok(await visible('#crmhook-api_secret'));
  assert.ok(!(await visible('#crmhook-api_key')));
  assert.match(await page.textContent('#crmhook-builder-intro'), /automation rules/);
});

test('Test connection tests the typed Keap key before it is saved, and saves nothing', async () => {
  await page.goto(`${site}/wp-admin/options-general.php?page=crmhook`);
  const saved = await page.inputValue('#crmhook-crm');
  assert.notEqual(saved, 'keap');
  await page.selectOption('#crmhook-crm', 'keap');
  await page.fill('#crmhook-api-url', `${emulator}/keap`);
  await page.fill('#crmhook-api_key', 'keap-test-key');
  await page.click('#crmhook-test-connection');
  await page.waitForSelector('#crmhook-test-result.crmhook-ok, #crmhook-test-result.crmhook-fail');
  assert.match(await page.textContent('#crmhook-test-result'), /^Connected to .*Keap: \d+ tags? found/);
  assert.equal(await page.getAttribute('#crmhook-test-result', 'class'), 'crmhook-ok');

  await page.goto(`${site}/wp-admin/options-general.php?page=crmhook`);
  assert.equal(await page.inputValue('#crmhook-crm'), saved, 'the test saved nothing');
  assert.ok(!(await page.content()).includes('keap-test-key'));
});

test('switching CRM says what saving clears; ActiveCampaign typed over a saved Keap is tested as typed', async () => {
  // Keap saved with its key first.
  await page.selectOption('#crmhook-crm', 'keap');
  await page.fill('#crmhook-api-url', `${emulator}/keap`);
  await page.fill('#crmhook-api_key', 'keap-test-key');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  assert.equal(await page.inputValue('#crmhook-crm'), 'keap');
  assert.equal(await page.getAttribute('#crmhook-api_key', 'placeholder'), 'saved — leave empty to keep');

  await page.selectOption('#crmhook-crm', 'activecampaign');
  assert.equal(await page.inputValue('#crmhook-api-url'), '', 'Keap\'s URL is not offered to ActiveCampaign');
  assert.equal(await page.getAttribute('#crmhook-api_key', 'placeholder'), '', 'nor its saved key');
  assert.match(await page.textContent('#crmhook-crm-switch'), /clears the credentials saved for Infusionsoft \/ Keap/);
  await page.fill('#crmhook-api-url', `${emulator}/activecampaign`);
  await page.fill('#crmhook-api_key', 'ac-test-key');
  await page.click('#crmhook-test-connection');
  await page.waitForSelector('#crmhook-test-result.crmhook-ok, #crmhook-test-result.crmhook-fail');
  assert.match(await page.textContent('#crmhook-test-result'), /^Connected to ActiveCampaign: \d+ tags found/);
  await page.evaluate(() => document.getElementById('crmhook-crm').closest('table').scrollIntoView({ block: 'start' }));
  await page.screenshot({ path: join(docs, 'settings-crm-switch.png'), fullPage: false });

  // Without a key typed, the saved Keap key is not sent to ActiveCampaign.
  await page.fill('#crmhook-api_key', '');
  await page.click('#crmhook-test-connection');
  await page.waitForSelector('#crmhook-test-result.crmhook-fail');
  assert.match(await page.textContent('#crmhook-test-result'), /ActiveCampaign needs its API key/);

  // Switching back to Keap shows its saved URL and key again, as saved.
  await page.selectOption('#crmhook-crm', 'keap');
  assert.equal(await page.inputValue('#crmhook-api-url'), `${emulator}/keap`);
  assert.equal(await page.getAttribute('#crmhook-api_key', 'placeholder'), 'saved — leave empty to keep');
  assert.ok(!(await visible('#crmhook-crm-switch')));

  // Saved as ActiveCampaign with its own URL and key: what the next tests start from.
  await page.selectOption('#crmhook-crm', 'activecampaign');
  await page.fill('#crmhook-api-url', `${emulator}/activecampaign`);
  await page.fill('#crmhook-api_key', 'ac-test-key');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  assert.match(await page.textContent('.wrap'), /Settings saved/);
  assert.equal(await page.inputValue('#crmhook-crm'), 'activecampaign');
  await page.click('#crmhook-test-connection');
  await page.waitForSelector('#crmhook-test-result.crmhook-ok, #crmhook-test-result.crmhook-fail');
  assert.match(await page.textContent('#crmhook-test-result'), /^Connected to ActiveCampaign/);
});

test('without JavaScript every field shows and saving still never hands one CRM\'s URL or key to another', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } });
  const plain = await context.newPage();
  plain.setDefaultTimeout(15000);
  try {
    await plain.goto(`${site}/wp-login.php`);
    await plain.fill('#user_login', 'admin');
    await plain.fill('#user_pass', password);
    await Promise.all([plain.waitForURL(/wp-admin/), plain.click('#wp-submit')]);
    await plain.goto(`${site}/wp-admin/options-general.php?page=crmhook`);
    for (const field of ['#crmhook-username', '#crmhook-api_key', '#crmhook-api_secret', '#crmhook-password']) {
      assert.ok(await plain.locator(field).isVisible(), `${field} shows without JavaScript`);
    }
    assert.equal(await plain.inputValue('#crmhook-crm'), 'activecampaign');
    assert.equal(await plain.inputValue('#crmhook-api-url'), `${emulator}/activecampaign`, 'pre-filled, as saved');

    // Keap picked, its key typed, ActiveCampaign's URL left in the field: the server drops it.
    await plain.selectOption('#crmhook-crm', 'keap');
    await plain.fill('#crmhook-api_key', 'keap-test-key');
    await Promise.all([plain.waitForNavigation(), plain.click('#submit')]);
    assert.equal(await plain.inputValue('#crmhook-crm'), 'keap');
    assert.equal(await plain.inputValue('#crmhook-api-url'), '', 'ActiveCampaign\'s URL was not kept for Keap');
    assert.match(await plain.textContent('.wrap'), /API URL of ActiveCampaign was not kept/);
    assert.match(await plain.textContent('#crmhook-builder-intro'), /Send HTTP Post/);

    // Back to ActiveCampaign, typed in full, for whoever runs next.
    await plain.selectOption('#crmhook-crm', 'activecampaign');
    await plain.fill('#crmhook-api-url', `${emulator}/activecampaign`);
    await plain.fill('#crmhook-api_key', 'ac-test-key');
    await Promise.all([plain.waitForNavigation(), plain.click('#submit')]);
    assert.equal(await plain.inputValue('#crmhook-crm'), 'activecampaign');
  } finally {
    await context.close();
  }
});
