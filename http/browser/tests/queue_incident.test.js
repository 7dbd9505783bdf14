// The analyst's path through the UI, in order: sign in (with a one-time
// password changed on the way) → the queue shows the multi-stage attack at
// the top → filter → keyboard and side pane → open the top incident → the
// graph has the API's node count → playback → manage (assign, classify,
// comment, resolve; a stale change refused) → the activity shows it → live
// updates → theme → sign out. Screenshots of each page go to the
// artifacts directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, shot, api, base, env, signIn } from './lib.js';

let browser, page, trap;
let top; // the API's top incident

before(async () => {
  browser = await launch();
  ({ page, trap } = await newPage(browser));
  const { data } = await api('GET', '/api/v1/incidents?$top=1&$count=true');
  top = data.value[0];
  assert.ok(top, 'the store has incidents');
  assert.match(top.displayName, /^Multi-stage incident/, 'the showcase attack is the top of the API queue');
});
after(async () => {
  assert.deepEqual(trap.errors, [], 'no script error on any page');
  assert.deepEqual(trap.csp, [], 'no Content-Security-Policy violation');
  await browser.close();
});

test('a page without a session goes to sign-in; a one-time password is changed there', async () => {
  await signIn(page, env('WEFT_ONE_TIME_USER'), env('WEFT_ONE_TIME_PASSWORD'));
  await page.waitForSelector('#password-form:not([hidden])');
  await shot(page, '01-signin-change-password');
  await page.fill('#pw-new', 'a brand new passphrase');
  await page.fill('#pw-again', 'a brand new passphrase');
  await page.click('#password-form button[type=submit]');
  await page.waitForURL(base() + '/incidents');
  await page.waitForSelector('body[data-queue-loaded]');
  await page.click('#signout');
  await page.waitForURL(/\/signin/);
});

test('wrong password says so; the right one opens the queue', async () => {
  await signIn(page, env('WEFT_USER'), 'not the password');
  await page.waitForSelector('#signin-error:not([hidden])');
  assert.equal(await page.textContent('#signin-error'), 'Wrong name or password.');
  await shot(page, '02-signin-error');
  await page.fill('#signin-password', env('WEFT_PASSWORD'));
  await page.click('#signin-form button[type=submit]');
  await page.waitForURL(base() + '/incidents');
});

test('the queue shows the multi-stage attack at the top, with its priority and why', async () => {
  await page.waitForSelector('body[data-queue-loaded]');
  const first = page.locator('#queue tbody tr').first();
  assert.equal(await first.getAttribute('data-id'), top.id);
  assert.equal((await first.locator('td.name a').textContent()), top.displayName);
  const badge = first.locator('.prio');
  assert.equal(await badge.textContent(), String(top.priorityScore));
  assert.match(await badge.getAttribute('class'), top.priorityScore > 85 ? /\btop\b/ : /\bmedium\b/);
  const why = await badge.getAttribute('title');
  for (const f of top.priorityFactors) assert.ok(why.includes(f.name), 'the tooltip names the factor ' + f.name);
  const { data } = await api('GET', '/api/v1/incidents?$count=true&$top=1');
  const rows = await page.locator('#queue tbody tr').count();
  assert.equal(rows, Math.min(50, data['@odata.count']), 'a page of the default view');
  assert.match(await page.textContent('#page-info'), new RegExp('of ' + data['@odata.count'] + ' '));
  const ms = Number(await page.getAttribute('body', 'data-queue-render-ms'));
  const firstMs = Number(await page.getAttribute('body', 'data-queue-first-render-ms'));
  console.log('queue: ' + rows + ' rows of ' + data['@odata.count'] + ' incidents shown ' + firstMs + ' ms after navigation (the API read and render: ' + ms + ' ms)');
  await shot(page, '03-queue');
});

test('filters map to $filter, live in the URL, and are shareable', async () => {
  for (const s of ['medium', 'low', 'unknown']) await page.uncheck('#filters input[name=severity][value=' + s + ']');
  await page.fill('#filters input[name=sources]', 'microsoftDefenderForEndpoint');
  await page.click('#filters button[type=submit]');
  await page.waitForURL(/severity=high/);
  await page.waitForSelector('body[data-queue-loaded]');
  const url = page.url();
  assert.match(url, /sources=microsoftDefenderForEndpoint/);
  const sevs = await page.locator('#queue tbody tr td:nth-child(4)').allTextContents();
  assert.ok(sevs.length > 0 && sevs.every((s) => s === 'high'), 'only high incidents: ' + sevs.join(','));
  const filter = "status in ('active', 'inProgress') and severity in ('high') and serviceSources/any(s: s in ('microsoftDefenderForEndpoint'))";
  const { data } = await api('GET', '/api/v1/incidents?$count=true&$top=1&$filter=' + encodeURIComponent(filter));
  assert.equal(await page.locator('#queue tbody tr').count(), Math.min(50, data['@odata.count']));
  await shot(page, '04-queue-filtered');
  // The same URL in a fresh load shows the same view.
  await page.goto(url);
  await page.waitForSelector('body[data-queue-loaded]');
  assert.equal(await page.isChecked('#filters input[name=severity][value=medium]'), false);
  assert.equal(await page.inputValue('#filters input[name=sources]'), 'microsoftDefenderForEndpoint');
  // Sorting is part of the view.
  await page.goto(base() + '/incidents');
  await page.selectOption('#f-sort', 'updated');
  await page.waitForURL(/sort=updated/);
  await page.waitForSelector('body[data-queue-loaded]');
  const { data: byUpdate } = await api('GET', '/api/v1/incidents?$top=3&$orderby=' + encodeURIComponent('lastUpdateDateTime desc'));
  assert.deepEqual(await page.locator('#queue tbody tr').evaluateAll((trs) => trs.slice(0, 3).map((t) => t.dataset.id)), byUpdate.value.map((i) => i.id));
  // A view that matches nothing says what to do.
  await page.goto(base() + '/incidents?tags=' + encodeURIComponent('no such tag anywhere'));
  await page.waitForSelector('#queue-state:not([hidden])');
  assert.match(await page.textContent('#queue-state'), /No incident matches this view/);
  await shot(page, '05-queue-empty');
});

test('keyboard: j/k move, x selects, the side pane follows', async () => {
  await page.goto(base() + '/incidents');
  await page.waitForSelector('body[data-queue-loaded]');
  await page.keyboard.press('j');
  await page.waitForSelector('#pane:not([hidden])');
  assert.match(await page.textContent('#pane h2'), /Multi-stage incident/);
  await page.keyboard.press('j');
  await page.keyboard.press('x');
  assert.equal(await page.textContent('#bulk-count'), '1 selected');
  await page.keyboard.press('k');
  assert.equal(await page.locator('#queue tbody tr.cursor').getAttribute('data-id'), top.id);
  await shot(page, '06-queue-pane-selection');
  await page.click('#bulk-clear');
});

test('paging keeps the view and shows the next page', async () => {
  const { data } = await api('GET', '/api/v1/incidents?$count=true&$top=1&$skip=50');
  if (data['@odata.count'] <= 50) return;
  await page.click('#next');
  await page.waitForURL(/page=2/);
  await page.waitForSelector('body[data-queue-loaded]');
  assert.equal(await page.locator('#queue tbody tr').first().getAttribute('data-id'), data.value[0].id);
  assert.match(await page.textContent('#page-info'), /^51–/);
  await page.click('#prev');
  await page.waitForURL(/page=1/);
  await page.waitForSelector('body[data-queue-loaded]');
});

test('bulk: select two incidents and tag, assign and classify them', async () => {
  const ids = await page.locator('#queue tbody tr').evaluateAll((trs) => trs.slice(5, 7).map((t) => t.dataset.id));
  for (const id of ids) await page.check('#queue tbody tr[data-id="' + id + '"] input[type=checkbox]');
  await page.fill('#bulk-tag input[name=tag]', 'bulk-tagged');
  await page.click('#bulk-tag button');
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.textContent('#notice'), /^2 incidents changed/);
  const changed = async (button) => {
    await page.evaluate(() => { document.querySelector('#notice').textContent = ''; });
    await page.click(button);
    await page.waitForFunction(() => /^2 incidents changed/.test(document.querySelector('#notice').textContent));
  };
  await page.fill('#bulk-assign input[name=assignee]', 'me');
  await changed('#bulk-assign button');
  await page.selectOption('#bulk-classify select[name=classification]', 'falsePositive');
  await page.selectOption('#bulk-classify select[name=determination]', 'notMalicious');
  await changed('#bulk-classify button');
  for (const id of ids) {
    const { data } = await api('GET', '/api/v1/incidents/' + id);
    assert.ok(data.customTags.includes('bulk-tagged'), 'incident ' + id + ' tagged');
    assert.equal(data.assignedTo, env('WEFT_USER'));
    assert.equal(data.classification, 'falsePositive');
  }
  await page.click('#bulk-clear');
});

test('live: a change to a shown incident updates its row in place; a new incident is announced, not inserted', async () => {
  const row = page.locator('#queue tbody tr').nth(2);
  const id = await row.getAttribute('data-id');
  const before = await page.locator('#queue tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.id));
  await new Promise((r) => setTimeout(r, 1500)); // the stream is open
  await api('PATCH', '/api/v1/incidents/' + id, { assignedTo: 'live-update@contoso.com' });
  await page.waitForFunction((id) => document.querySelector('#queue tbody tr[data-id="' + id + '"] td:nth-child(6)').textContent === 'live-update@contoso.com', id, { timeout: 15000 });
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  await api('POST', '/api/v1/alerts', [{ source: 'browser-test', providerAlertId: 'live-' + Date.now(), title: 'Live alert on a new device', severity: 'high',
    firstActivityDateTime: now, lastActivityDateTime: now,
    evidence: [{ '@odata.type': '#microsoft.graph.security.deviceEvidence', hostName: 'live-' + Date.now(), deviceDnsName: 'live-' + Date.now() + '.contoso.com' }] }]);
  await page.waitForSelector('#live:not([hidden])', { timeout: 15000 });
  assert.match(await page.textContent('#live-show'), /1 new incident/);
  const after = await page.locator('#queue tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.id));
  assert.deepEqual(after, before, 'the rows did not move');
  await shot(page, '07-queue-live');
});

let story, origin;
test('the top incident opens with its header and the attack story', async () => {
  await page.goto(base() + '/incidents');
  await page.waitForSelector('body[data-queue-loaded]');
  await page.keyboard.press('j');
  await page.keyboard.press('Enter');
  await page.waitForURL(base() + '/incidents/' + top.id);
  await page.waitForSelector('#incident-head:not([hidden])');
  assert.equal(await page.textContent('#h-name'), top.displayName);
  ({ data: story } = await api('GET', '/api/v1/incidents/' + top.id + '/story'));
  ({ data: origin } = await api('GET', '/api/v1/incidents/' + top.id + '/origin'));
  await page.waitForSelector('#graph[data-nodes]');
  assert.equal(await page.locator('#story-alerts li[data-index]').count(), story.alerts.length);
});

test('the graph has a node per entity of the API graph, the entry point marked', async () => {
  assert.equal(await page.getAttribute('#graph', 'data-nodes'), String(story.graph.nodes.length));
  assert.equal(await page.locator('#graph g.node').count(), story.graph.nodes.length);
  assert.equal(await page.locator('#graph .entry-ring').count(), origin.entryEntities.length);
  const types = new Set(story.graph.nodes.map((n) => n.entityType));
  for (const t of types) assert.ok(await page.locator('#graph g.node[data-type="' + t + '"]').count() > 0, 'a ' + t + ' node');
  await shot(page, '08-incident-story');
  // Clicking a node shows its details.
  const n = story.graph.nodes[0];
  await page.click('#graph g.node[data-key="' + n.key.replace(/"/g, '\\"') + '"]');
  await page.waitForSelector('#node-detail:not([hidden])');
  assert.match(await page.textContent('#node-detail'), new RegExp(n.entityType));
  await shot(page, '09-incident-node');
  await page.click('#node-detail button.ghost');
  // Zoom changes the view box; Fit brings it back.
  const vb = await page.getAttribute('#graph', 'viewBox');
  await page.click('#g-zoom-in');
  assert.notEqual(await page.getAttribute('#graph', 'viewBox'), vb);
  await page.click('#g-fit');
  // Grouping similar nodes never adds nodes, and accounts for every entity.
  await page.check('#g-group');
  const grouped = await page.locator('#graph g.node').count();
  assert.ok(grouped <= story.graph.nodes.length);
  const members = await page.locator('#graph g.node').evaluateAll((gs) => gs.reduce((s, g) => { const c = g.querySelector('text.count'); const m = c && /^×(\d+)$/.exec(c.textContent); return s + (m ? Number(m[1]) : 1); }, 0));
  assert.equal(members, story.graph.nodes.length);
  await shot(page, '10-incident-grouped');
  await page.uncheck('#g-group');
});

test('playback replays the attack alert by alert', async () => {
  const firstStep = (n) => Math.min(...n.alertIds.map((a) => story.alerts.findIndex((x) => x.id === a)));
  const visibleAt = (s) => story.graph.nodes.filter((n) => firstStep(n) < s).length;
  await page.click('#g-start');
  assert.equal(await page.getAttribute('#graph', 'data-visible'), '0');
  assert.equal(await page.locator('#graph g.node:not(.hidden)').count(), 0);
  for (let s = 1; s <= Math.min(3, story.alerts.length); s++) {
    await page.click('#g-step');
    assert.equal(await page.getAttribute('#graph', 'data-step'), String(s));
    assert.equal(await page.locator('#graph g.node:not(.hidden)').count(), visibleAt(s), 'nodes after ' + s + ' alerts');
    assert.equal(await page.getAttribute('#story-alerts li.now', 'data-index'), String(s - 1));
  }
  await shot(page, '11-incident-playback');
  await page.click('#g-play');
  await page.waitForFunction((n) => document.querySelector('#graph').dataset.step === String(n), story.alerts.length, { timeout: story.alerts.length * 1500 + 5000 });
  assert.equal(await page.locator('#graph g.node:not(.hidden)').count(), story.graph.nodes.length);
});

test('the tabs show alerts with correlation reasons, assets, evidence', async () => {
  await page.click('#tab-alerts');
  await page.waitForSelector('#alerts-table tbody tr');
  assert.equal(await page.locator('#alerts-table tbody tr').count(), story.alerts.length);
  assert.ok((await page.textContent('#alerts-table')).includes(story.alerts[1].correlation), 'the correlation of the second alert');
  await shot(page, '12-incident-alerts');
  await page.click('#tab-assets');
  await page.waitForSelector('#panel-assets .assets-group');
  const { data: assets } = await api('GET', '/api/v1/incidents/' + top.id + '/assets');
  assert.equal(await page.locator('#panel-assets .assets-group').count(), assets.groups.length);
  await shot(page, '13-incident-assets');
  await page.click('#tab-evidence');
  const { data: ev } = await api('GET', '/api/v1/incidents/' + top.id + '/evidence');
  await page.waitForFunction((n) => document.querySelectorAll('#evidence-table tbody tr').length === n, ev.evidence.length);
  await shot(page, '14-incident-evidence');
});

test('manage: assign, classify, comment and resolve; the activity shows it', async () => {
  await page.click('#m-me');
  await page.selectOption('#m-status', 'inProgress');
  await page.selectOption('#m-class', 'truePositive');
  await page.selectOption('#m-determination', 'multiStagedAttack');
  await page.fill('#m-tags', 'browser-suite, VIP');
  await page.click('#manage-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#manage-msg').textContent === 'Saved.');
  assert.equal(await page.textContent('#h-assigned'), env('WEFT_USER'));
  await page.fill('#c-text', 'Contained the mailbox; resetting credentials.');
  await page.click('#comment-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#comment-msg').textContent === 'Comment added.');

  // A change made elsewhere while the analyst edits: saving over it is
  // refused, and said.
  await page.focus('#m-tags');
  await api('PATCH', '/api/v1/incidents/' + top.id, { customTags: ['browser-suite', 'VIP', 'changed-elsewhere'] });
  await page.fill('#m-tags', 'browser-suite');
  await page.click('#manage-form button[type=submit]');
  await page.waitForFunction(() => /changed this incident after you opened it/.test(document.querySelector('#manage-msg').textContent));
  assert.match(await page.inputValue('#m-tags'), /changed-elsewhere/);
  await shot(page, '15-incident-conflict');

  await page.selectOption('#m-status', 'resolved');
  await page.fill('#m-resolving', 'Phishing chain contained; mailbox and device cleaned.');
  await page.click('#manage-form button[type=submit]');
  await page.waitForFunction(() => document.querySelector('#manage-msg').textContent === 'Saved.');
  const { data } = await api('GET', '/api/v1/incidents/' + top.id);
  assert.equal(data.status, 'resolved');
  assert.equal(data.assignedTo, env('WEFT_USER'));
  assert.equal(data.classification, 'truePositive');
  assert.equal(data.determination, 'multiStagedAttack');

  await page.click('#tab-activity');
  await page.waitForSelector('#activity li[data-type="commentAdded"]');
  const text = await page.textContent('#activity');
  assert.ok(text.includes('Contained the mailbox; resetting credentials.'));
  assert.match(text, /status changed from "inProgress" to "resolved"/);
  assert.ok(text.includes(env('WEFT_USER')));
  await shot(page, '16-incident-activity');
});

test('readable at 4K and in the dark theme', async () => {
  await page.setViewportSize({ width: 3840, height: 2160 });
  await page.click('#tab-story');
  await page.waitForSelector('#graph g.node');
  await page.click('#g-fit');
  await shot(page, '17-incident-4k');
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.click('#theme-toggle');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  await page.goto(base() + '/incidents?status=resolved');
  await page.waitForSelector('body[data-queue-loaded]');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark', 'the theme is kept');
  await shot(page, '18-queue-dark');
});

test('sign out ends the session', async () => {
  await page.click('#signout');
  await page.waitForURL(/\/signin/);
  await page.goto(base() + '/incidents/' + top.id);
  await page.waitForURL(/\/signin\?next=%2Fincidents%2F/);
});
