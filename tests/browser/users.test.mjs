// Users in a real browser: the "CRM tags" column and the tag filter of Users → All Users, and the
// profile's CRM section with Resync from CRM. The users come from webhooks the CRM (the emulator)
// really sent. Run through scripts/test-site.sh (or as settings.test.mjs says, with this file's name).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { site, launch, login, configure, emulatorCall, sendWebhook, screenshot, freshIds } from './lib.mjs';

let browser;
let page;
const base = freshIds();
const run = `r${base}`; // in every email of this run, so a search shows only its users
// ActiveCampaign's seed names tags 1 Customer, 2 VIP, 3 Newsletter, 5 Website Access.
const people = {
  amy: { id: String(base), first_name: 'Amy', last_name: 'Ward', tags: ['2', '3'] },
  ben: { id: String(base + 1), first_name: 'Ben', last_name: 'Ortiz', tags: [] },
  cleo: { id: String(base + 2), first_name: 'Cleo', last_name: 'Park', tags: ['2', '5'] },
};
const email = (who) => `${who}.${run}@example.com`;
const contact = (who, changes = {}) => ({ email: email(who), first_name: people[who].first_name, last_name: people[who].last_name, tags: people[who].tags, ...changes });

/** The users list's rows on screen: email → tags shown (names), or null for "none". */
async function listed() {
  return page.$$eval('#the-list tr', (trs) => Object.fromEntries(trs.map((tr) => [
    tr.querySelector('td.email')?.textContent.trim(),
    tr.querySelector('td.column-crmhook_tags .crmhook-tags-none') ? null
      : [...tr.querySelectorAll('td.column-crmhook_tags .crmhook-tag')].map((t) => t.textContent),
  ])));
}

const profileTags = () => page.$$eval('#crmhook-profile-tags .crmhook-tag', (tags) => tags.map((t) => t.textContent));

before(async () => {
  ({ browser, page } = await launch());
  await login(page);
  await emulatorCall('POST', '/reset');
  const key = await configure(page, 'activecampaign', 'immediate');
  for (const who of Object.keys(people)) {
    await emulatorCall('PUT', `/contacts/activecampaign/${people[who].id}`, contact(who));
    const added = await sendWebhook('activecampaign', 'add', people[who].id, key);
    assert.equal(added.status, 200, added.body);
  }
});

after(async () => {
  await emulatorCall('DELETE', '/faults').catch(() => {});
  await browser?.close();
});

test('Users → All Users shows each user\'s CRM tags by name, and a dash for none', async () => {
  await page.goto(`${site}/wp-admin/users.php?s=${run}`);
  assert.equal((await page.textContent('th#crmhook_tags')).trim(), 'CRM tags');
  assert.deepEqual(await listed(), {
    [email('amy')]: ['VIP', 'Newsletter'],
    [email('ben')]: null,
    [email('cleo')]: ['VIP', 'Website Access'],
  });
  await page.goto(`${site}/wp-admin/users.php`);
  await screenshot(page, 'users-crm-tags.png');
});

test('the tag filter keeps only the users who carry the tag', async () => {
  await page.goto(`${site}/wp-admin/users.php?s=${run}`);
  await page.selectOption('#crmhook-tag-filter', 'VIP');
  await Promise.all([page.waitForNavigation(), page.click('#crmhook-tag-filter-submit')]);
  assert.match(page.url(), /[?&]crmhook_tag=VIP\b/);
  assert.deepEqual(Object.keys(await listed()).sort(), [email('amy'), email('cleo')]);
  assert.equal(await page.inputValue('#crmhook-tag-filter'), 'VIP', 'the filter stays chosen');

  await page.selectOption('#crmhook-tag-filter', 'Newsletter');
  await Promise.all([page.waitForNavigation(), page.click('#crmhook-tag-filter-submit')]);
  assert.deepEqual(Object.keys(await listed()), [email('amy')]);
});

test('the profile\'s CRM section shows the contact, its tags and the webhook that synced it', async () => {
  await openProfile('amy');
  assert.equal(await page.textContent('h2#crmhook-profile'), 'CRM (ActiveCampaign)');
  assert.equal(await page.textContent('#crmhook-profile-contact .crmhook-contact-id'), people.amy.id);
  assert.deepEqual(await profileTags(), ['VIP', 'Newsletter']);
  assert.match(await page.textContent('#crmhook-profile-last-sync .crmhook-last-sync-ok'), /\(webhook\)/);
  assert.ok(await page.locator('a#crmhook-resync').isVisible());
});

test('Resync from CRM loads the contact as the CRM has it now', async () => {
  // In the CRM, Amy's tags and first name change; no webhook tells the site.
  await emulatorCall('PUT', `/contacts/activecampaign/${people.amy.id}`, contact('amy', { first_name: 'Amelia', tags: ['1'] }));
  await openProfile('amy');
  assert.deepEqual(await profileTags(), ['VIP', 'Newsletter'], 'not yet');
  await Promise.all([page.waitForNavigation(), page.click('a#crmhook-resync')]);
  assert.match(await page.textContent('#crmhook-resync-notice.notice-success'), /Resync from CRM:/);
  assert.deepEqual(await profileTags(), ['Customer']);
  assert.equal(await page.inputValue('#first_name'), 'Amelia');
  assert.match(await page.textContent('#crmhook-profile-last-sync .crmhook-last-sync-ok'), /\(resync\)/);
  await page.evaluate(() => document.getElementById('crmhook-profile').scrollIntoView({ block: 'start' }));
  await screenshot(page, 'profile-crm-resync.png');

  // The users list says the same.
  await page.goto(`${site}/wp-admin/users.php?s=${run}`);
  assert.deepEqual((await listed())[email('amy')], ['Customer']);
});

test('a resync the CRM fails says so and changes nothing', async () => {
  await emulatorCall('POST', '/faults', { crm: 'activecampaign', path: `/api/3/contacts/${people.amy.id}`, mode: 'status', status: 503, body: { message: 'down' } });
  await emulatorCall('PUT', `/contacts/activecampaign/${people.amy.id}`, contact('amy', { first_name: 'Amelia', tags: ['3'] }));
  await openProfile('amy');
  await Promise.all([page.waitForNavigation(), page.click('a#crmhook-resync')]);
  assert.match(await page.textContent('#crmhook-resync-notice.notice-error'), /ActiveCampaign/);
  assert.deepEqual(await profileTags(), ['Customer']);
  await emulatorCall('DELETE', '/faults');
});

test('an administrator\'s own profile has no Resync: the CRM never changes them', async () => {
  await page.goto(`${site}/wp-admin/profile.php`);
  assert.ok(await page.locator('#crmhook-profile').isVisible());
  assert.ok(await page.locator('.crmhook-privileged').isVisible());
  assert.equal(await page.locator('a#crmhook-resync').count(), 0);
});

/** Opens the edit screen of one of this run's users, from the users list. */
async function openProfile(who) {
  await page.goto(`${site}/wp-admin/users.php?s=${encodeURIComponent(email(who))}`);
  const row = page.locator('#the-list tr', { hasText: email(who) });
  const id = (await row.getAttribute('id')).replace('user-', '');
  await page.goto(`${site}/wp-admin/user-edit.php?user_id=${id}`);
}
