// What every browser test file shares: where the site and the CRM emulator are, starting headless
// Chromium, logging in, saving the connection through the settings form, the emulator's control
// API, and waiting for an end state. Each *.test.mjs file runs in its own node process (node --test),
// so each starts its own browser; scripts/test-site.sh runs the files one after another against the
// one site (--test-concurrency=1).
//
// Env: SITE_URL, EMULATOR_URL, RUN_DIR (the harness's .run, for the admin password),
//      SCREENSHOTS_DIR (default $RUN_DIR/screenshots; `make screenshots` points it at docs/),
//      CHROMIUM (default /usr/bin/chromium).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as pause } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const site = process.env.SITE_URL || 'http://127.0.0.1:8088';
export const emulator = process.env.EMULATOR_URL || 'http://127.0.0.1:8790';
const runDir = process.env.RUN_DIR || join(root, '.run');
export const password = readFileSync(join(runDir, 'admin-password'), 'utf8').trim();
const shots = process.env.SCREENSHOTS_DIR || join(runDir, 'screenshots');
mkdirSync(shots, { recursive: true });

/** The credentials the emulator accepts (tests/fixtures/crm/seed.json), by settings field. */
export const credentials = JSON.parse(readFileSync(join(root, 'tests', 'fixtures', 'crm', 'seed.json'), 'utf8')).credentials;

/** Headless Chromium (Debian's) and one page, 1280 × 900. */
export async function launch() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    // As root on a closed network: no sandbox, and none of Chromium's own background calls.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15000);
  return { browser, page };
}

/** Logs the harness's admin in on `page`. */
export async function login(page) {
  await page.goto(`${site}/wp-login.php`);
  await page.fill('#user_login', 'admin');
  await page.fill('#user_pass', password);
  await Promise.all([page.waitForURL(/wp-admin/), page.click('#wp-submit')]);
}

/** Writes a screenshot to the screenshots folder (never docs/, unless `make screenshots` says so). */
export function screenshot(page, name, options = {}) {
  return page.screenshot({ path: join(shots, name), fullPage: false, ...options });
}

/**
 * Saves Settings → CRM Webhooks for `crm` against the emulator, typed into the form as an owner
 * would: its API URL, its credentials, the background processing mode (auto, background,
 * immediate), and Subscriber among the roles a webhook (and an import) may set, whatever an
 * earlier suite left there. Answers the access key the page shows.
 */
export async function configure(page, crm, queueMode = 'auto') {
  await page.goto(`${site}/wp-admin/options-general.php?page=crmhook`);
  await page.selectOption('#crmhook-crm', crm);
  await page.fill('#crmhook-api-url', `${emulator}/${crm}`);
  for (const [field, value] of Object.entries(credentials[crm])) {
    await page.fill(`#crmhook-${field}`, value);
  }
  await page.selectOption('#crmhook-queue-mode', queueMode);
  await page.check('input[name="crmhook_settings[allowed_roles][]"][value="subscriber"]');
  await Promise.all([page.waitForNavigation(), page.click('#submit')]);
  assert.match(await page.textContent('.wrap'), /Settings saved/);
  assert.equal(await page.inputValue('#crmhook-crm'), crm);
  assert.equal(await page.inputValue('#crmhook-queue-mode'), queueMode);
  return page.inputValue('#crmhook-access-key');
}

/** One call to the emulator's control API (/_emulator/…); answers the decoded JSON. */
export async function emulatorCall(method, path, body) {
  const answer = await fetch(`${emulator}/_emulator${path}`, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  assert.ok(answer.ok, `emulator ${method} ${path}: ${answer.status} ${text}`);
  return text === '' ? null : JSON.parse(text);
}

/**
 * The CRM sends its webhook for `contact` to the site, in its own wire format (the emulator's
 * POST /_emulator/send); answers {status, body} as the site answered the CRM.
 */
export async function sendWebhook(crm, action, contact, key, extra = {}) {
  const sent = await emulatorCall('POST', '/send', { crm, action, contact, key, url: `${site}/`, ...extra });
  return { status: sent.status, body: sent.body };
}

/**
 * Waits for an end state the page reaches on its own time (a queued job run, an import finished):
 * runs `check` until it answers something truthy and answers that. Between tries it waits a
 * quarter of a second: that is polling, and no assertion depends on how long it took; `seconds` is
 * only how long to go on before the test fails with `what`.
 */
export async function until(check, what, seconds = 90) {
  const end = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) {
      return value;
    }
    assert.ok(Date.now() < end, `gave up waiting after ${seconds} s: ${what}`);
    await pause(250);
  }
}

/**
 * The first of 100 contact ids no earlier run has used (one block a second), so emails and users
 * made by this run never meet an earlier run's on the same site.
 */
export function freshIds() {
  return (Math.floor(Date.now() / 1000) % 10000000) * 100 + 1;
}
