// The settings pages as an admin: the correlation policy (a refused value
// shown at its field, then a valid save and a reset), an assets CSV with a
// bad row (its error on that row, the good rows stored), an automation
// rule with a CEL typo (the error at the condition, with its position)
// then a valid one tested on the top incident, the response policy, a
// notification rule, a user, a token (its secret shown once), a tenant,
// the audit log; data carrying script payloads shown as text on every
// section; an admin of one tenant, whose every-tenant sections say they
// need a * admin grant; and a viewer, who is told the settings need the
// admin role. Each section is compared with what the API answers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, shot, api, base, env, signIn, xssState } from './lib.js';

const ADMIN = 'adele.settings';
const ADMIN_PASSWORD = 'settings admin passphrase';
const PAYLOAD = '<img src=x onerror="window.__xss=\'settings\'">';
let browser, page, trap;

async function open(section) {
  await page.goto(base() + '/settings?section=' + section);
  await page.waitForSelector('body[data-settings-loaded="' + section + '"]');
}
async function clean(where) {
  const s = await xssState(page);
  assert.deepEqual(s, { flag: null, handlers: 0, jsLinks: 0, foreignScripts: 0, images: 0 }, where + ': a payload was parsed as markup or ran');
  assert.deepEqual(trap.dialogs, [], where + ': a dialog opened');
}
const fieldError = (form, field) => page.locator(form + ' .field-error[data-error-for="' + field + '"]');

before(async () => {
  await api('POST', '/api/v1/users', { name: ADMIN, displayName: 'Adele (settings)', password: ADMIN_PASSWORD, grants: [{ tenantId: '*', role: 'admin' }] });
  browser = await launch();
  ({ page, trap } = await newPage(browser));
  await signIn(page, ADMIN, ADMIN_PASSWORD, '/settings');
  await page.waitForURL(base() + '/settings');
  await page.waitForSelector('body[data-settings-loaded="correlation"]');
});
after(async () => {
  assert.deepEqual(trap.errors, [], 'no script error on any settings page');
  assert.deepEqual(trap.csp, [], 'no Content-Security-Policy violation');
  await browser.close();
});

test('the admin sees Settings in the navigation, with every section', async () => {
  assert.equal(await page.locator('nav.nav a[href="/settings"]').getAttribute('aria-current'), 'page');
  const sections = await page.locator('.settings-nav a').evaluateAll((as) => as.map((a) => a.dataset.section));
  assert.deepEqual(sections, ['correlation', 'assets', 'response', 'automation', 'notifications', 'users', 'tokens', 'tenants', 'audit']);
});

test('correlation policy: a refused value is shown at its field, nothing typed is lost; a valid one is saved; reset', async () => {
  await open('correlation');
  const before = (await api('GET', '/api/v1/correlation/policy')).data;
  assert.equal(await page.inputValue('#policy-form [name=hubThreshold]'), String(before.policy.hubThreshold));
  assert.equal(await page.inputValue('#policy-form [name=exclusions]'), before.policy.exclusions.join('\n'));
  await page.fill('#policy-form [name=hubThreshold]', '0');
  await page.fill('#policy-form [name=strongWindow]', '36h');
  const exclusions = before.policy.exclusions.join('\n') + '\nuser:svc-backup*';
  await page.fill('#policy-form [name=exclusions]', exclusions);
  await page.click('#policy-form button[type=submit]');
  await fieldError('#policy-form', 'hubThreshold').waitFor();
  assert.match(await fieldError('#policy-form', 'hubThreshold').textContent(), /hubThreshold must be from 1 to 10000, not 0/);
  assert.equal(await page.getAttribute('#policy-form [name=hubThreshold]', 'aria-invalid'), 'true');
  assert.equal(await page.inputValue('#policy-form [name=strongWindow]'), '36h', 'the other fields keep what was typed');
  assert.equal(await page.inputValue('#policy-form [name=exclusions]'), exclusions);
  assert.equal((await api('GET', '/api/v1/correlation/policy')).data.source, before.source, 'nothing changed');
  await shot(page, 'settings-01-policy-error');

  // An exclusion the server refuses is located by its entry.
  await page.fill('#policy-form [name=hubThreshold]', '12');
  await page.fill('#policy-form [name=exclusions]', exclusions + '\nbogus');
  await page.click('#policy-form button[type=submit]');
  await fieldError('#policy-form', 'exclusions').waitFor();
  assert.match(await fieldError('#policy-form', 'exclusions').textContent(), /"bogus".*\(entry \d+\)/);
  assert.equal(await fieldError('#policy-form', 'hubThreshold').count(), 0, 'the earlier error is gone');

  await page.fill('#policy-form [name=exclusions]', exclusions);
  await page.click('#policy-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#policy-source').textContent.startsWith('api'));
  const saved = (await api('GET', '/api/v1/correlation/policy')).data;
  assert.equal(saved.source, 'api');
  assert.equal(saved.policy.hubThreshold, 12);
  assert.equal(saved.policy.strongWindow, '36h0m0s');
  assert.ok(saved.policy.exclusions.includes('user:svc-backup*'));
  assert.equal(await page.inputValue('#policy-form [name=strongWindow]'), '36h');
  await shot(page, 'settings-02-policy-saved');

  await page.click('#policy-reset');
  await page.click('#policy-reset'); // the second click confirms
  await page.waitForFunction(() => !document.querySelector('#policy-source').textContent.startsWith('api'));
  assert.deepEqual((await api('GET', '/api/v1/correlation/policy')).data, before, 'back to the policy before');
});

test('assets: a CSV is previewed, the good rows imported, the bad row shows its error', async () => {
  await open('assets');
  const csv = [
    'id,kind,criticality,deviceGroup,tags,deviceDnsName,userPrincipalName',
    'dc01-settings,device,3,servers,domain controller;tier0,DC01-SETTINGS.contoso.com,',
    'ceo-settings,user,2,,"executive;' + PAYLOAD.replace(/"/g, '""') + '",,ceo-settings@contoso.com',
    'kiosk-settings,device,9,kiosks,,kiosk-settings.contoso.com,',
    'broken-settings,device,high,,,broken.contoso.com,',
  ].join('\n');
  await page.fill('#csv-text', csv);
  await page.click('#csv-form button[type=submit]');
  await page.waitForSelector('#csv-preview:not([hidden])');
  assert.equal(await page.locator('#csv-preview tbody tr').count(), 4);
  assert.match(await page.textContent('#csv-preview tr[data-line="5"]'), /not sent.*criticality: "high" is not a number/);
  assert.equal(await page.textContent('#csv-import'), 'Import 3 assets');
  await page.click('#csv-import');
  await page.waitForSelector('body[data-assets-imported]');
  assert.match(await page.textContent('#csv-summary'), /^2 created, 0 updated, 0 unchanged, 2 rejected/);
  const bad = page.locator('#csv-preview tr[data-line="4"]');
  assert.match(await bad.getAttribute('class'), /rejected/);
  assert.match(await bad.textContent(), /rejected criticality: must be 0 \(none\) to 3 \(highest\), not 9/);
  assert.match(await page.textContent('#csv-preview tr[data-line="2"] td.result'), /^created$/);
  await shot(page, 'settings-03-assets-import');

  const dc = (await api('GET', '/api/v1/assets/dc01-settings')).data;
  assert.equal(dc.criticality, 3);
  assert.equal(dc.deviceGroup, 'servers');
  assert.deepEqual(dc.tags, ['domain controller', 'tier0']);
  await assert.rejects(api('GET', '/api/v1/assets/kiosk-settings'), /404/, 'the bad row was not stored');
  const row = page.locator('#assets-table tr[data-id="dc01-settings"]');
  assert.equal(await row.locator('td.num').textContent(), '3');
  assert.ok((await page.textContent('#assets-table tr[data-id="ceo-settings"]')).includes(PAYLOAD), 'a tag with a payload is text');
  await clean('assets');

  const del = page.locator('#assets-table tr[data-id="ceo-settings"] button');
  await del.click();
  assert.equal(await del.textContent(), 'Delete? Click again');
  await del.click();
  await page.waitForSelector('#assets-table tr[data-id="ceo-settings"]', { state: 'detached' });
  await assert.rejects(api('GET', '/api/v1/assets/ceo-settings'), /404/);
});

test('response: the approval policy is saved; the catalogue is the API\'s', async () => {
  await open('response');
  const cat = (await api('GET', '/api/v1/actions/catalogue')).data.value;
  assert.equal(await page.locator('#catalogue-table tbody tr').count(), cat.length);
  assert.equal(await page.locator('#approval-types input').count(), cat.length);
  // The server's connectors, each with the action types it runs.
  const cs = (await api('GET', '/api/v1/response/connectors')).data;
  assert.deepEqual(await page.locator('#connectors-table tbody tr[data-connector]').evaluateAll((rs) => rs.map((r) => r.dataset.connector)),
    cs.connectors.map((c) => c.name), 'the server\'s connectors');
  assert.equal(cs.default, 'simulator');
  const sim = page.locator('#connectors-table tr[data-connector="simulator"]');
  assert.equal(await sim.locator('td:nth-child(2)').textContent(), 'simulator');
  assert.equal(await sim.locator('td:nth-child(3)').textContent(), cs.actions.filter((a) => a.connector === 'simulator').map((a) => a.type).join(', '));
  assert.ok(cs.actions.some((a) => a.type === 'isolate'), 'every action type is routed');
  const before = (await api('GET', '/api/v1/response/policy')).data;
  await page.check('#approval-types input[value=isolate]');
  await page.click('#approval-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#notice').textContent === 'Approval policy saved.');
  assert.ok((await api('GET', '/api/v1/response/policy')).data.requireApproval.includes('isolate'));
  await shot(page, 'settings-04-response');
  await api('PUT', '/api/v1/response/policy', before);
});

test('automation: a CEL typo is located; a valid rule is saved, tested on the top incident, disabled and deleted', async () => {
  const top = (await api('GET', '/api/v1/incidents?$top=1')).data.value[0];
  await open('automation');
  await page.fill('#rule-form [name=name]', 'Tag high ' + PAYLOAD);
  await page.fill('#rule-form [name=order]', '5');
  await page.uncheck('#rule-form [name=enabled]');
  await page.fill('#rule-form [name=condition]', "status != 'resolved' &&\nsevrity == 'high'");
  await page.fill('#rule-form [name=actions]', '[{"type": "addTag", "value": "settings-hot"}]');
  await page.click('#rule-form button[type=submit]');
  await fieldError('#rule-form', 'condition').waitFor();
  assert.match(await fieldError('#rule-form', 'condition').textContent(), /^condition: 2:1: undeclared reference to 'sevrity'/);
  const sel = await page.$eval('#rule-form [name=condition]', (t) => [t.selectionStart, document.activeElement === t]);
  assert.deepEqual(sel, ["status != 'resolved' &&\n".length, true], 'the typo is selected in the condition');
  assert.equal(await page.inputValue('#rule-form [name=actions]'), '[{"type": "addTag", "value": "settings-hot"}]', 'nothing typed is lost');
  await shot(page, 'settings-05-rule-error');

  // A test of the rule as typed shows the same error, and a bad action is located too.
  await page.fill('#rule-form [name=condition]', "status != 'resolved' &&\nseverity == 'high'");
  await page.fill('#rule-form [name=actions]', '[{"type": "addTag"}]');
  await page.click('#rule-form button[type=submit]');
  await fieldError('#rule-form', 'actions').waitFor();
  assert.match(await fieldError('#rule-form', 'actions').textContent(), /^actions\[0\]/);

  await page.fill('#rule-form [name=actions]', '[{"type": "addTag", "value": "settings-hot"}]');
  await page.click('#rule-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#rule-form-title').textContent.startsWith('Edit rule'));
  const rules = (await api('GET', '/api/v1/automation/rules')).data.value;
  const rule = rules.find((r) => r.name === 'Tag high ' + PAYLOAD);
  assert.ok(rule, 'the rule is stored');
  assert.equal(rule.enabled, false);
  assert.equal(rule.order, 5);
  const row = page.locator('#rules-table tr[data-id="' + rule.id + '"]');
  assert.ok((await row.textContent()).includes('Tag high ' + PAYLOAD), 'the name with a payload is text');

  await page.fill('#rule-test-incident', top.id);
  await page.click('#rule-test');
  await page.waitForSelector('#rule-test-result p');
  assert.equal(await page.textContent('#rule-test-result strong'), 'Matched', 'the top incident is high and open');
  assert.match(await page.textContent('#rule-test-result .effects'), /settings-hot/);
  await shot(page, 'settings-06-rule-test');
  assert.ok(!((await api('GET', '/api/v1/incidents/' + top.id)).data.customTags || []).includes('settings-hot'), 'a test changes nothing');

  // Enable, then disable it again, each with the version it was read at.
  await row.locator('button', { hasText: 'Enable' }).click();
  await page.waitForFunction((id) => document.querySelector('#rules-table tr[data-id="' + id + '"] td:nth-child(3)').textContent === 'yes', rule.id);
  await row.locator('button', { hasText: 'Disable' }).click();
  await page.waitForFunction((id) => document.querySelector('#rules-table tr[data-id="' + id + '"] td:nth-child(3)').textContent === 'no', rule.id);
  assert.equal((await api('GET', '/api/v1/automation/rules/' + rule.id)).data.version, 3);
  await clean('automation');

  // A stale edit is refused and keeps what was typed.
  await row.locator('button', { hasText: 'Edit' }).click();
  await page.waitForFunction(() => document.querySelector('#rule-form-title').textContent.includes('version 3'));
  await api('PUT', '/api/v1/automation/rules/' + rule.id, Object.assign({}, rule, { description: 'changed elsewhere' }));
  await page.fill('#rule-form [name=description]', 'mine');
  await page.click('#rule-form button[type=submit]');
  await page.waitForSelector('#rule-form .form-error:not([hidden]), #rule-form .field-error');
  assert.match(await page.locator('#rule-form .form-error, #rule-form .field-error').first().textContent(), /version|changed|match/i);
  assert.equal(await page.inputValue('#rule-form [name=description]'), 'mine');

  // Deleting from the list read before that change is refused too.
  await row.locator('button', { hasText: 'Delete' }).click();
  await row.locator('button', { hasText: 'Delete? Click again' }).click();
  await page.waitForFunction(() => /412|version|match/i.test(document.querySelector('#notice').textContent));
  assert.equal((await api('GET', '/api/v1/automation/rules/' + rule.id)).data.version, 4, 'still there');
  await open('automation');
  await row.locator('button', { hasText: 'Delete' }).click();
  await row.locator('button', { hasText: 'Delete? Click again' }).click();
  await page.waitForSelector('#rules-table tr[data-id="' + rule.id + '"]', { state: 'detached' });
  assert.ok(!(await api('GET', '/api/v1/automation/rules')).data.value.some((r) => r.id === rule.id));
});

test('notifications: the webhook URL is checked at its field; a rule is saved with its URL hidden', async () => {
  await open('notifications');
  await page.fill('#rule-form [name=name]', 'Page on-call');
  await page.fill('#rule-form [name=condition]', "severity == 'high'");
  await page.fill('#rule-form [name=url]', 'http://hooks.example.com/secret-path');
  await page.click('#rule-form button[type=submit]');
  await fieldError('#rule-form', 'url').waitFor();
  await shot(page, 'settings-07-notification-error');
  await page.fill('#rule-form [name=url]', 'https://hooks.example.com/secret-path');
  await page.selectOption('#rule-form [name=format]', 'slack');
  await page.click('#rule-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#rules-table').textContent.includes('Page on-call'));
  const text = await page.textContent('#rules-table');
  assert.ok(text.includes('Page on-call') && text.includes('slack'));
  assert.ok(!text.includes('secret-path'), 'the webhook path is never shown');
  const top = (await api('GET', '/api/v1/incidents?$top=1')).data.value[0];
  await page.fill('#rule-test-incident', top.id);
  await page.click('#rule-test');
  await page.waitForSelector('#rule-test-result p');
  assert.equal(await page.textContent('#rule-test-result strong'), 'Matched');
  assert.ok((await page.textContent('#rule-test-result .effects')).length > 0, 'the message it would post is shown');
  const r = (await api('GET', '/api/v1/notifications/rules')).data.value.find((x) => x.name === 'Page on-call');
  await api('DELETE', '/api/v1/notifications/rules/' + r.id);
});

test('users: grants are checked line by line; a user is created, given grants, and disabled', async () => {
  await open('users');
  await page.fill('#user-form [name=name]', 'vic.settings');
  await page.fill('#user-form [name=displayName]', 'Vic ' + PAYLOAD);
  await page.fill('#user-form [name=password]', 'short');
  await page.fill('#user-form [name=grants]', 'default viewer\ndefault superuser');
  await page.click('#user-form button[type=submit]');
  await fieldError('#user-form', 'grants').waitFor();
  assert.match(await fieldError('#user-form', 'grants').textContent(), /line 2: "superuser" is not a role/);
  await page.fill('#user-form [name=grants]', 'default viewer\ndefault analyst servers, front desk');
  await page.click('#user-form button[type=submit]');
  await fieldError('#user-form', 'password').waitFor();
  assert.match(await fieldError('#user-form', 'password').textContent(), /at least 12 characters/);
  await shot(page, 'settings-08-user-error');
  await page.fill('#user-form [name=password]', 'a long enough passphrase');
  await page.click('#user-form button[type=submit]');
  const row = page.locator('#users-table tr[data-name="vic.settings"]');
  await row.waitFor();
  assert.equal(await row.locator('td.pre').textContent(), 'default viewer\ndefault analyst front desk, servers');
  const u = (await api('GET', '/api/v1/users')).data.value.find((x) => x.name === 'vic.settings');
  assert.deepEqual(u.grants, [{ tenantId: 'default', role: 'viewer' }, { tenantId: 'default', role: 'analyst', deviceGroups: ['front desk', 'servers'] }]);
  assert.equal(u.mustChangePassword, true);
  assert.equal(await row.locator('td:nth-child(2)').textContent(), 'Vic ' + PAYLOAD, 'the display name with a payload is text');
  await clean('users');

  await row.locator('button', { hasText: 'Grants' }).click();
  await page.fill('#grants-form [name=grants]', 'default responder');
  await page.click('#grants-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#users-table tr[data-name="vic.settings"] td.pre').textContent === 'default responder');

  await row.locator('button', { hasText: 'Reset password' }).click();
  await page.fill('#password-form [name=password]', 'another long passphrase');
  await page.click('#password-form button[type=submit]');
  await page.waitForSelector('#password-form', { state: 'hidden' });

  await row.locator('button', { hasText: 'Disable' }).click();
  await row.locator('button', { hasText: 'Disable? Click again' }).click();
  await page.waitForFunction(() => document.querySelector('#users-table tr[data-name="vic.settings"] td:nth-child(4)').textContent === 'disabled');
  assert.equal((await api('GET', '/api/v1/users')).data.value.find((x) => x.name === 'vic.settings').disabled, true);
  await shot(page, 'settings-09-users');
});

test('tokens: the secret of a new token is shown once, works, and the token is revoked', async () => {
  await open('tokens');
  await page.fill('#token-form [name=name]', 'ci-feed-settings');
  await page.fill('#token-form [name=grants]', 'default analyst');
  await page.click('#token-form button[type=submit]');
  await page.waitForSelector('#token-secret:not([hidden])');
  const secret = await page.textContent('#token-secret-value');
  assert.match(secret, /^weft_/);
  await shot(page, 'settings-10-token-secret');
  await page.click('#token-copy');
  await page.waitForFunction(() => document.querySelector('#token-copied').textContent !== '');
  const me = await fetch(base() + '/api/v1/auth/me', { headers: { Authorization: 'Bearer ' + secret } });
  assert.equal(me.status, 200, 'the secret shown is the token');
  assert.equal((await me.json()).principal.name, 'token:ci-feed-settings');
  await page.click('#token-secret-done');
  assert.equal(await page.textContent('#token-secret-value'), '');
  await open('tokens');
  assert.ok(!(await page.content()).includes(secret), 'the secret is not shown again');
  const row = page.locator('#tokens-table tr[data-name="ci-feed-settings"]');
  assert.equal(await row.locator('td.pre').textContent(), 'default analyst');
  await row.locator('button').click();
  await row.locator('button', { hasText: 'Revoke? Click again' }).click();
  await page.waitForFunction(() => document.querySelector('#tokens-table tr[data-name="ci-feed-settings"] td:last-child').textContent.startsWith('revoked'));
  assert.equal(await row.locator('button').count(), 0, 'a revoked token cannot be revoked again');
  const after = await fetch(base() + '/api/v1/auth/me', { headers: { Authorization: 'Bearer ' + secret } });
  assert.equal(after.status, 401, 'a revoked token is refused');
});

test('tenants: a bad id is refused at its field; a tenant is created and renamed', async () => {
  await open('tenants');
  await page.fill('#tenant-form [name=id]', 'bad id!');
  await page.click('#tenant-form button[type=submit]');
  await fieldError('#tenant-form', 'id').waitFor();
  await page.fill('#tenant-form [name=id]', 'fabrikam-settings');
  await page.fill('#tenant-form [name=displayName]', 'Fabrikam ' + PAYLOAD);
  await page.click('#tenant-form button[type=submit]');
  const row = page.locator('#tenants-table tr[data-id="fabrikam-settings"]');
  await row.waitFor();
  assert.ok((await row.textContent()).includes('Fabrikam ' + PAYLOAD));
  await clean('tenants');
  await row.locator('button', { hasText: 'Rename' }).click();
  await row.locator('input[name=displayName]').fill('Fabrikam Ltd');
  await row.locator('button[type=submit]').click();
  await page.waitForFunction(() => document.querySelector('#tenants-table tr[data-id="fabrikam-settings"] td:nth-child(2)').textContent === 'Fabrikam Ltd');
  assert.equal((await api('GET', '/api/v1/tenants/fabrikam-settings')).data.displayName, 'Fabrikam Ltd');
  await row.locator('button', { hasText: 'Disable' }).click();
  await row.locator('button', { hasText: 'Disable? Click again' }).click();
  await page.waitForFunction(() => document.querySelector('#tenants-table tr[data-id="fabrikam-settings"] td:nth-child(3)').textContent === 'disabled');
  assert.equal((await api('GET', '/api/v1/tenants/fabrikam-settings')).data.disabled, true);
  await row.locator('button', { hasText: 'Enable' }).click();
  await page.waitForFunction(() => document.querySelector('#tenants-table tr[data-id="fabrikam-settings"] td:nth-child(3)').textContent === 'enabled');
  await shot(page, 'settings-11-tenants');
});

test('audit log: filters live in the URL and match the API', async () => {
  await open('audit');
  assert.ok(await page.locator('#audit-table tbody tr').count() > 0);
  await page.fill('#audit-filters [name=action]', 'user.create');
  await page.click('#audit-filters button[type=submit]');
  await page.waitForURL(/action=user\.create/);
  await page.waitForSelector('body[data-settings-loaded="audit"]');
  const actions = await page.locator('#audit-table tbody tr td:nth-child(4)').allTextContents();
  const want = (await api('GET', '/api/v1/audit?action=user.create&$top=50')).data.value;
  assert.equal(actions.length, want.length);
  assert.ok(actions.every((a) => a === 'user.create'));
  assert.ok((await page.textContent('#audit-table')).includes('vic.settings'));
  await shot(page, 'settings-12-audit');
  await clean('audit');
});

test('an admin of one tenant gets its sections; those of every tenant say they need a * admin grant', async () => {
  await api('POST', '/api/v1/users', { name: 'tenant-admin.settings', password: ADMIN_PASSWORD, grants: [{ tenantId: 'default', role: 'admin' }] });
  const ctx = await newPage(browser);
  await signIn(ctx.page, 'tenant-admin.settings', ADMIN_PASSWORD, '/settings?section=users');
  await ctx.page.waitForURL(/\/settings/);
  await ctx.page.waitForSelector('#section-state.needs-admin');
  assert.match(await ctx.page.textContent('#section-state'), /needs the admin role in every tenant/);
  assert.ok(await ctx.page.locator('#section-body').isHidden());
  await shot(ctx.page, 'settings-14-tenant-admin');
  await ctx.page.goto(base() + '/settings?section=automation');
  await ctx.page.waitForSelector('body[data-settings-loaded="automation"]');
  assert.deepEqual(ctx.trap.errors, []);
  await ctx.context.close();
});

test('a viewer is told the settings need the admin role, and has no Settings link', async () => {
  const ctx = await newPage(browser);
  await signIn(ctx.page, env('WEFT_USER'), env('WEFT_PASSWORD'), '/settings?section=users');
  await ctx.page.waitForURL(/\/settings/);
  await ctx.page.waitForSelector('#needs-admin');
  assert.match(await ctx.page.textContent('#needs-admin'), /need the admin role/);
  assert.equal(await ctx.page.locator('nav.nav a[href="/settings"]').count(), 0);
  assert.equal(await ctx.page.locator('#settings').count(), 0);
  await shot(ctx.page, 'settings-13-needs-admin');
  assert.deepEqual(ctx.trap.errors, []);
  await ctx.context.close();
});
