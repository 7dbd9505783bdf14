// XSS: the Go test ingests alerts whose titles, descriptions, categories,
// command lines, URLs, file and user names carry script payloads (each
// sets window.__xss or opens a dialog if it runs). Every page and view
// that shows them must show them as text: the suite fails if a dialog
// opens, window.__xss is set, an element with an event-handler attribute
// or a javascript: link appears, a script that is not weft's own is in the
// document, or the Content-Security-Policy had to refuse anything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, shot, api, base, env, signIn, xssState } from './lib.js';

let browser, page, trap;
const id = () => env('WEFT_XSS_INCIDENT');

async function clean(where) {
  const s = await xssState(page);
  assert.deepEqual(s, { flag: null, handlers: 0, jsLinks: 0, foreignScripts: 0, images: 0 }, where + ': a payload was parsed as markup or ran');
  assert.deepEqual(trap.dialogs, [], where + ': a dialog opened');
  assert.deepEqual(trap.csp, [], where + ': the CSP refused something');
  assert.deepEqual(trap.errors, [], where + ': a script error');
}

before(async () => {
  browser = await launch();
  ({ page, trap } = await newPage(browser));
  await signIn(page, env('WEFT_USER'), env('WEFT_PASSWORD'));
  await page.waitForURL(base() + '/incidents');
  // A tag with a payload, set through the API, shows in the queue and the header.
  const { headers } = await api('GET', '/api/v1/incidents/' + id());
  await api('PATCH', '/api/v1/incidents/' + id(), { customTags: ['<img src=x onerror="window.__xss=\'tag\'">'] }, { 'If-Match': headers.get('ETag') });
});
after(async () => { await browser.close(); });

test('queue and side pane show payloads as text', async () => {
  await page.goto(base() + '/incidents?search=' + id());
  await page.waitForSelector('body[data-queue-loaded]');
  const row = page.locator('#queue tbody tr[data-id="' + id() + '"]');
  assert.equal(await row.count(), 1, 'the XSS incident is found by its id');
  assert.ok((await row.textContent()).includes('<img src=x onerror="window.__xss=\'tag\'">'), 'the tag is shown as text');
  await row.locator('td:nth-child(4)').click();
  await page.waitForSelector('#pane:not([hidden])');
  await shot(page, 'xss-01-queue');
  await clean('queue');
});

test('incident header, story, graph and node details show payloads as text', async () => {
  await page.goto(base() + '/incidents/' + id());
  await page.waitForSelector('#graph g.node');
  const story = await page.textContent('#story-alerts');
  assert.ok(story.includes("<script>window.__xss='script'</script>"), 'the title with <script> is text');
  assert.ok(story.includes('<img src=x onerror="window.__xss=\'img\'">'), 'the title with <img onerror> is text');
  const labels = await page.locator('#graph g.node title').allTextContents();
  assert.ok(labels.some((l) => l.includes('javascript:')), 'the javascript: URL is a node, as text');
  for (const key of await page.locator('#graph g.node').evaluateAll((gs) => gs.map((g) => g.dataset.key))) {
    // By keyboard: the details box may cover nodes on the right.
    await page.focus('#graph g.node[data-key="' + key.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#node-detail:not([hidden])');
    assert.equal(await page.locator('#node-detail dd').first().textContent(), await page.getAttribute('#graph g.node[data-key="' + key.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"]', 'data-type'));
  }
  await shot(page, 'xss-02-story');
  await page.click('#g-play');
  await page.waitForFunction(() => document.querySelector('#g-play').textContent.includes('Play'), null, { timeout: 20000 });
  await clean('incident story');
  assert.equal(await page.title(), (await page.textContent('#h-name')) + ' · weft', 'the title is text too');
});

test('alerts, assets, evidence and activity tabs show payloads as text', async () => {
  for (const tab of ['alerts', 'assets', 'evidence', 'activity']) {
    await page.click('#tab-' + tab);
    await page.waitForFunction((t) => { const p = document.querySelector('#panel-' + t); return !p.hidden && p.textContent.length > 40; }, tab);
    await shot(page, 'xss-03-' + tab);
    await clean(tab + ' tab');
  }
  const evidence = await page.evaluate(() => document.querySelector('#panel-evidence').textContent);
  assert.ok(evidence.includes('javascript:window.__xss'), 'the javascript: URL is text in the evidence');
});

test('a comment and a tag typed with payloads are stored and shown as text', async () => {
  await page.fill('#c-text', '<script>window.__xss="comment"</script><img src=x onerror=alert(1)>');
  await page.click('#comment-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#comment-msg').textContent === 'Comment added.');
  await page.click('#tab-activity');
  await page.waitForFunction(() => document.querySelector('#activity').textContent.includes('<script>window.__xss="comment"</script>'));
  await clean('activity with a comment');
});

test('the settings sections show payloads in names, tags and rules as text', async () => {
  // The settings need an admin: one made for this test, in its own browser context.
  const P = ['<script>window.__xss="settings"</script>', '<img src=x onerror="window.__xss=\'settings-img\'">', '"><svg onload="window.__xss=\'settings-svg\'">'];
  const password = 'xss settings admin passphrase';
  await api('POST', '/api/v1/users', { name: 'xss-settings-admin', password, grants: [{ tenantId: '*', role: 'admin' }] });
  await api('PUT', '/api/v1/assets', [{ id: 'xss-asset', kind: 'device', deviceDnsName: 'xss-asset.contoso.com', displayName: P[0], deviceGroup: P[1], tags: P }]);
  await api('POST', '/api/v1/automation/rules', { name: 'xss ' + P[1], description: P[0], enabled: false, condition: "name.contains('<script>')", actions: [{ type: 'addTag', value: P[2] }] });
  await api('POST', '/api/v1/notifications/rules', { name: 'xss ' + P[2], enabled: false, condition: 'false', events: ['created'], url: 'https://hooks.example.com/xss' });
  await api('POST', '/api/v1/tenants', { id: 'xss-tenant', displayName: P[0] });
  await api('POST', '/api/v1/users', { name: 'xss-user', displayName: P[1], password: 'a long enough passphrase', grants: [{ tenantId: 'default', role: 'viewer', deviceGroups: [P[2]] }] });
  const ctx = await newPage(browser);
  await signIn(ctx.page, 'xss-settings-admin', password, '/settings');
  await ctx.page.waitForURL(base() + '/settings');
  for (const [section, shows] of [['assets', P[1]], ['automation', P[1]], ['notifications', P[2]], ['users', P[2]], ['tenants', P[0]], ['audit', 'xss-user'], ['correlation', ''], ['response', ''], ['tokens', '']]) {
    await ctx.page.goto(base() + '/settings?section=' + section);
    await ctx.page.waitForSelector('body[data-settings-loaded="' + section + '"]');
    if (shows) assert.ok((await ctx.page.textContent('#section-body')).includes(shows), section + ' shows the payload as text');
    const s = await xssState(ctx.page);
    assert.deepEqual(s, { flag: null, handlers: 0, jsLinks: 0, foreignScripts: 0, images: 0 }, 'settings ' + section + ': a payload was parsed as markup or ran');
  }
  await shot(ctx.page, 'xss-04-settings');
  assert.deepEqual(ctx.trap.dialogs, [], 'settings: a dialog opened');
  assert.deepEqual(ctx.trap.csp, [], 'settings: the CSP refused something');
  assert.deepEqual(ctx.trap.errors, [], 'settings: a script error');
  await ctx.context.close();
});

// The response pages (respond.js, actions.js, entity.js): an action
// whose target name and comment are payloads, pending and then decided,
// in the action center's lists and log pane, on the incident's evidence
// and response tab and in the action dialog's entity picker; the entity
// pages and the search of entities whose names are payloads.
test('action center, action log, dialog and incident actions show payloads as text', async () => {
  const device = 'device.mdeId:xss0000000000000000000000000000000000001';
  const payload = '<img src=x onerror="window.__xss=\'action\'">';
  const { data: policy } = await api('GET', '/api/v1/response/policy');
  await api('PUT', '/api/v1/response/policy', { requireApproval: ['runAntivirusScan'], automationRequiresApproval: true });
  let action;
  try {
    ({ data: action } = await api('POST', '/api/v1/actions', { type: 'runAntivirusScan', target: device, targetName: 'xss-host ' + payload, incidentId: id(), comment: '<script>window.__xss="comment"</script>' }));
  } finally {
    await api('PUT', '/api/v1/response/policy', { requireApproval: policy.requireApproval || [], automationRequiresApproval: policy.automationRequiresApproval });
  }
  await page.goto(base() + '/actions');
  await page.waitForSelector('#pending-table tr[data-id="' + action.id + '"]');
  assert.ok((await page.textContent('#pending-table tr[data-id="' + action.id + '"]')).includes(payload), 'the target name is text');
  await shot(page, 'xss-04-actions-pending');
  await clean('action center, pending');
  await api('POST', '/api/v1/actions/' + action.id + '/cancel', { comment: '"><svg onload="window.__xss=\'cancel\'">' });
  await page.goto(base() + '/actions?tab=history');
  await page.waitForSelector('#history-table tr[data-id="' + action.id + '"] td:first-child button');
  await page.click('#history-table tr[data-id="' + action.id + '"] td:first-child button');
  await page.waitForSelector('#action-pane:not([hidden]) .action-log li');
  assert.ok((await page.textContent('#action-pane')).includes('<script>window.__xss="comment"</script>'), 'the comment is text');
  await shot(page, 'xss-05-actions-history');
  await clean('action center, history and log');
  await page.goto(base() + '/incidents/' + id() + '#evidence');
  await page.waitForSelector('#incident-actions-table tr[data-id="' + action.id + '"]');
  await clean('evidence and response');
  await page.click('#respond-header');
  await page.waitForSelector('#respond-dialog[open] #rd-entity option', { state: 'attached' });
  const choices = await page.locator('#rd-entity option').allTextContents();
  const { data: story } = await api('GET', '/api/v1/incidents/' + id() + '/story');
  const { data: cat } = await api('GET', '/api/v1/actions/catalogue');
  const types = new Set(cat.value.flatMap((d) => d.entityTypes));
  assert.deepEqual(choices, story.graph.nodes.filter((n) => types.has(n.entityType)).map((n) => n.entityType + ': ' + (n.name || n.key)), 'the incident\'s actionable entities, names as text');
  assert.ok(choices.some((c) => /[<>"]/.test(c)), 'a name with markup among them: ' + choices.join(' | '));
  await shot(page, 'xss-06-dialog');
  await clean('action dialog');
  await page.click('#rd-close');
});

test('entity pages and the entity search show payloads as text', async () => {
  await page.goto(base() + '/entities/device/xss-host');
  await page.waitForSelector('#e-alerts-table tbody tr[data-id]');
  assert.ok((await page.textContent('#e-alerts-table')).includes("<script>window.__xss='script'</script>"), 'the alert title is text');
  await shot(page, 'xss-07-entity');
  await clean('entity page');
  await page.goto(base() + '/entities?search=eve');
  await page.waitForSelector('#entity-results tbody tr');
  await clean('entity search');
  await page.click('#entity-results tbody tr a');
  await page.waitForSelector('#entity-head:not([hidden])');
  await clean('a user entity named with a payload');
  // The page's own address carries a payload: text too.
  await page.goto(base() + '/entities/url/' + encodeURIComponent('javascript:window.__xss="addr"//<img src=x onerror=alert(1)>'));
  await page.waitForSelector('#entity-state');
  await clean('an entity address with a payload');
});

test('the sign-in page does not follow a next= to another site', async () => {
  await page.click('#signout');
  await page.waitForURL(/\/signin/);
  await page.goto(base() + '/signin?next=' + encodeURIComponent('//evil.example/x'));
  assert.equal(await page.getAttribute('#signin-form', 'data-next'), '/incidents');
  await page.goto(base() + '/signin?next=' + encodeURIComponent('javascript:alert(1)'));
  assert.equal(await page.getAttribute('#signin-form', 'data-next'), '/incidents');
  await clean('sign-in');
});
