// The analyst's path through the UI, in order: sign in (with a one-time
// password changed on the way) → the queue shows the multi-stage attack at
// the top → filter → keyboard and side pane → open the top incident → the
// graph has the API's node count → playback → manage (assign, classify,
// comment, resolve; a stale change refused) → the activity shows it → live
// updates → theme → sign out. Screenshots of each page go to the
// artifacts directory.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, shot, api, base, env, signIn, withSizedPage } from './lib.js';

let browser, page, trap;
let top; // the API's top incident

// The default view's $filter, as the queue page builds it.
const DEFAULT_FILTER = "status in ('active', 'inProgress') and severity in ('high', 'medium', 'low', 'unknown')";
const shownIds = () => page.locator('#queue tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.id));
// apiIds answers the ids of the first page of a view as the API orders it.
async function apiIds(filter, orderby) {
  const { data } = await api('GET', '/api/v1/incidents?$top=50&$filter=' + encodeURIComponent(filter) + '&$orderby=' + encodeURIComponent(orderby || 'priorityScore desc'));
  return data.value.map((i) => i.id);
}
// noHorizontalOverflow answers how far the queue table overflows its box
// (0 or less: it fits).
const queueOverflow = () => page.evaluate(() => {
  const wrap = document.querySelector('.table-wrap'), t = document.querySelector('#queue');
  return Math.max(wrap.scrollWidth - wrap.clientWidth, t.scrollWidth - t.clientWidth, document.documentElement.scrollWidth - document.documentElement.clientWidth);
});
// postAlert sends one alert about a device no other alert names, which
// opens a new incident; it answers the device's host name.
async function postAlert(title) {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const host = 'live-' + Date.now() + '-' + Math.floor(Math.random() * 1e6);
  await api('POST', '/api/v1/alerts', [{ source: 'browser-test', providerAlertId: host, title, severity: 'high',
    firstActivityDateTime: now, lastActivityDateTime: now,
    evidence: [{ '@odata.type': '#microsoft.graph.security.deviceEvidence', hostName: host, deviceDnsName: host + '.contoso.com' }] }]);
  return host;
}

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
  // At 1280×800 the table fits without horizontal scrolling: the less
  // important columns give way below 1400 px (the side pane has them).
  assert.ok(await queueOverflow() <= 0, 'the queue table overflows by ' + await queueOverflow() + ' px at 1280×800');
  assert.equal(await page.locator('#queue thead th.opt').first().isVisible(), false, 'tags, categories, assets and sources are hidden below 1400 px');
  await withSizedPage(browser, page, { width: 1600, height: 900 }, async (wide) => {
    await wide.goto(base() + '/incidents');
    await wide.waitForSelector('body[data-queue-loaded]');
    assert.equal(await wide.locator('#queue thead th.opt').first().isVisible(), true, 'and shown on a wider screen');
  });
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
  // The state line says "Loading incidents…" first: wait for the answer.
  await page.locator('#queue-state', { hasText: 'No incident matches this view' }).waitFor();
  assert.match(await page.textContent('#queue-state'), /No incident matches this view/);
  await shot(page, '05-queue-empty');
});

test('more filters: classification, determination, device groups, entity, minimums and multiple sources map to $filter and the URL', async () => {
  await page.goto(base() + '/incidents');
  await page.waitForSelector('body[data-queue-loaded]');
  assert.equal(await page.getAttribute('#more-filters', 'open'), null, 'closed while none is set');
  await page.click('#more-filters summary');
  await page.selectOption('#f-multi', 'no');
  await page.fill('#f-min-alerts', '2');
  await page.click('#filters button[type=submit]');
  await page.waitForURL(/multi=no/);
  await page.waitForSelector('body[data-queue-loaded]');
  assert.match(page.url(), /minAlerts=2/);
  const want = await apiIds(DEFAULT_FILTER + ' and alertCount ge 2 and multipleSources eq false');
  assert.ok(want.length > 0, 'the view is not empty');
  assert.deepEqual(await shownIds(), want, 'the rows are the API\'s for the same $filter');
  // A fresh load of the URL shows the controls set, their group open.
  await page.goto(page.url());
  await page.waitForSelector('body[data-queue-loaded]');
  assert.notEqual(await page.getAttribute('#more-filters', 'open'), null);
  assert.equal(await page.inputValue('#f-min-alerts'), '2');
  assert.equal(await page.inputValue('#f-multi'), 'no');
  // The entity filter finds the top incident by an entity it names;
  // with a priority minimum above its score it is gone.
  const entity = top.impactedEntities.find((e) => e.name) || top.impactedEntities[0];
  await page.goto(base() + '/incidents?entities=' + encodeURIComponent(entity.name || entity.key) + '&minPriority=' + top.priorityScore);
  await page.waitForSelector('body[data-queue-loaded]');
  const esc = "'" + (entity.name || entity.key).replace(/'/g, "''") + "'";
  const byEntity = await apiIds(DEFAULT_FILTER + ' and entities/any(e: e in (' + esc + ')) and priorityScore ge ' + top.priorityScore);
  assert.ok(byEntity.includes(top.id));
  assert.deepEqual(await shownIds(), byEntity);
  if (top.priorityScore < 100) {
    await page.fill('#f-min-priority', String(top.priorityScore + 1));
    await page.click('#filters button[type=submit]');
    await page.waitForURL(new RegExp('minPriority=' + (top.priorityScore + 1)));
    await page.waitForSelector('body[data-queue-loaded]');
    assert.ok(!(await shownIds()).includes(top.id));
  }
  // Classification, determination and device groups: a view the API
  // answers with the same rows (empty or not), and no refusal.
  await page.goto(base() + '/incidents?classification=truePositive&determination=multiStagedAttack&groups=' + encodeURIComponent("Finance, O'Brien"));
  await page.waitForSelector('body[data-queue-loaded]');
  assert.doesNotMatch(await page.textContent('#queue-state'), /refused/);
  assert.deepEqual(await shownIds(), await apiIds(DEFAULT_FILTER + " and deviceGroups/any(g: g in ('Finance', 'O''Brien')) and classification eq 'truePositive' and determination eq 'multiStagedAttack'"));
  await shot(page, '05b-queue-more-filters');
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
  assert.ok(await queueOverflow() <= 0, 'the queue table fits beside the side pane');
  assert.match(await page.textContent('#pane'), /Tags[\s\S]*Impacted assets/, 'the side pane shows the columns hidden at this width');
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

test('bulk: incidents a change takes out of the view leave the selection; a later bulk change touches only rows shown', async () => {
  await page.goto(base() + '/incidents');
  await page.waitForSelector('body[data-queue-loaded]');
  const gone = (await shownIds()).slice(10, 12);
  for (const id of gone) await page.check('#queue tbody tr[data-id="' + id + '"] input[type=checkbox]');
  assert.equal(await page.textContent('#bulk-count'), '2 selected');
  await page.evaluate(() => { document.querySelector('#notice').textContent = ''; });
  await page.selectOption('#bulk-status select[name=status]', 'resolved');
  await page.click('#bulk-status button[type=submit]');
  await page.waitForFunction(() => /^2 incidents changed/.test(document.querySelector('#notice').textContent));
  await page.waitForFunction((gone) => ![...document.querySelectorAll('#queue tbody tr')].some((t) => gone.includes(t.dataset.id)), gone);
  assert.equal(await page.textContent('#bulk-count'), '0 selected');
  assert.equal(await page.isHidden('#bulk'), true, 'no bulk bar without a selection');
  // One row shown is selected: assign and tag change it, and only it.
  const keep = (await shownIds())[10];
  await page.check('#queue tbody tr[data-id="' + keep + '"] input[type=checkbox]');
  assert.equal(await page.textContent('#bulk-count'), '1 selected');
  for (const [form, field, value] of [['#bulk-assign', 'assignee', 'visible-only@contoso.com'], ['#bulk-tag', 'tag', 'visible-only']]) {
    await page.evaluate(() => { document.querySelector('#notice').textContent = ''; });
    await page.fill(form + ' input[name=' + field + ']', value);
    await page.click(form + ' button');
    await page.waitForFunction(() => /^1 incident changed/.test(document.querySelector('#notice').textContent));
  }
  const { data: kept } = await api('GET', '/api/v1/incidents/' + keep);
  assert.equal(kept.assignedTo, 'visible-only@contoso.com');
  assert.ok(kept.customTags.includes('visible-only'));
  for (const id of gone) {
    const { data } = await api('GET', '/api/v1/incidents/' + id);
    assert.equal(data.status, 'resolved');
    assert.notEqual(data.assignedTo, 'visible-only@contoso.com', 'incident ' + id + ', no longer shown, was not assigned');
    assert.ok(!(data.customTags || []).includes('visible-only'), 'incident ' + id + ', no longer shown, was not tagged');
  }
  await page.click('#bulk-clear');
});

test('live: updates re-rank the rows around the analyst: the cursor row keeps the focus, the selection and its place; new rows are marked', async () => {
  const byUpdate = 'lastUpdateDateTime desc';
  await page.goto(base() + '/incidents?sort=updated');
  await page.waitForSelector('body[data-queue-loaded][data-queue-live]');
  for (let i = 0; i < 4; i++) await page.keyboard.press('j');
  await page.keyboard.press('x');
  const ids0 = await shownIds();
  const cur = ids0[3];
  const curRow = '#queue tbody tr[data-id="' + cur + '"]';
  const place = () => page.evaluate((sel) => Math.round(document.querySelector(sel).getBoundingClientRect().top), curRow);
  const top0 = await place();
  const held = async (what) => {
    assert.equal(await page.getAttribute('#queue tbody tr.cursor', 'data-id'), cur, what + ': the cursor stays on its incident');
    assert.equal(await page.evaluate(() => document.activeElement.closest('tr') && document.activeElement.closest('tr').dataset.id), cur, what + ': and the focus');
    assert.equal(await page.isChecked(curRow + ' input[type=checkbox]'), true, what + ': and the selection');
    assert.ok(Math.abs(await place() - top0) <= 1, what + ': the row stays where it was on the screen (' + top0 + ' → ' + await place() + ')');
  };
  // A change to an incident further down moves it to the top of this
  // view (sorted by update): the rows re-rank, the analyst's row stays.
  const moved = ids0[8];
  await api('PATCH', '/api/v1/incidents/' + moved, { assignedTo: 'live-update@contoso.com' });
  await page.waitForFunction((id) => { const t = document.querySelector('#queue tbody tr'); return t && t.dataset.id === id; }, moved, { timeout: 15000 });
  assert.equal(await page.textContent('#queue tbody tr[data-id="' + moved + '"] td.assignee'), 'live-update@contoso.com');
  assert.equal((await shownIds()).indexOf(cur), 4, 'the analyst\'s row is one further down the list');
  await held('after a re-rank');
  // A new incident is inserted where the API ranks it, marked.
  await postAlert('Live alert on a new device');
  await page.waitForSelector('#queue tbody tr[data-new]', { timeout: 15000 });
  let want = [];
  for (let i = 0; i < 50; i++) {
    want = await apiIds(DEFAULT_FILTER, byUpdate);
    if (JSON.stringify(await shownIds()) === JSON.stringify(want)) break;
    await page.waitForFunction((n) => Number(document.body.dataset.queueLoads) > n, Number(await page.getAttribute('body', 'data-queue-loads')), { timeout: 2000 }).catch(() => {});
  }
  assert.deepEqual(await shownIds(), want, 'the rows are the API\'s current page, in its order');
  assert.equal(await page.getAttribute('#queue tbody tr[data-new]', 'data-id'), want[0], 'the new incident, at the top, is marked');
  assert.equal(await page.isHidden('#live'), true, 'no banner: the rows are current');
  await held('after a new incident');
  await shot(page, '07-queue-live');
  // While the analyst types in a control, the rows do not move: the new
  // incident is announced in the banner, and shown when asked.
  await page.fill('#f-search', 'typing…');
  const before = await shownIds();
  await postAlert('Live alert while the analyst types');
  await page.waitForSelector('#live:not([hidden])', { timeout: 15000 });
  assert.match(await page.textContent('#live-show'), /1 new incident/);
  assert.deepEqual(await shownIds(), before, 'the rows did not move while the analyst typed');
  assert.equal(await page.inputValue('#f-search'), 'typing…', 'nothing typed is lost');
  await shot(page, '07b-queue-live-typing');
  await page.fill('#f-search', '');
  await page.click('#live-show');
  await page.waitForFunction((old) => { const t = document.querySelector('#queue tbody tr[data-new]'); return t && !old.includes(t.dataset.id); }, before, { timeout: 15000 });
  assert.equal(await page.isHidden('#live'), true);
  assert.equal(await page.getAttribute('#queue tbody tr.cursor', 'data-id'), cur);
  await page.click('#bulk-clear');
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
  assert.equal(await page.evaluate(() => document.querySelector('#story-alerts').scrollTop), 0, 'the story opens at the entry alert');
  assert.equal(await page.isVisible('#story-alerts li[data-index="0"]'), true);
  // The origin above the graph: the entry alert, its entities, then the path.
  const line = await page.textContent('#origin-line');
  assert.ok(line.startsWith('Started with ' + origin.entryAlert.title), line);
  for (const e of origin.entryEntities.slice(0, 5)) assert.ok(line.includes(e.name || e.key), 'the entry entity ' + e.key);
  const next = origin.path.filter((p) => !origin.entryEntities.some((e) => e.key === p.entityKey));
  if (next.length) assert.ok(line.includes(', then ' + (next[0].name || next[0].entityKey)), 'the path: ' + line);
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
  // After Fit at 1280×800 a label is readable: at least 11 px high on
  // the screen, shown, or shown on hover when the graph is too zoomed out.
  const labelHeight = (key) => page.evaluate((k) => {
    const g = [...document.querySelectorAll('#graph g.node')].find((x) => x.dataset.key === k);
    const t = g.querySelector('text.label');
    return getComputedStyle(t).display === 'none' ? 0 : t.getBoundingClientRect().height;
  }, key);
  const far = await page.evaluate(() => document.querySelector('#graph').classList.contains('far'));
  if (far) {
    assert.equal(await labelHeight(n.key), 0, 'zoomed far out the labels are hidden');
    await page.hover('#graph g.node[data-key="' + n.key.replace(/"/g, '\\"') + '"]');
  }
  assert.ok(await labelHeight(n.key) >= 11, 'a label is ' + await labelHeight(n.key) + ' px high after Fit');
  await shot(page, '09b-incident-fit-1280');
  await page.click('#g-zoom-out'); await page.click('#g-zoom-out');
  const h = await labelHeight(n.key);
  assert.ok(h === 0 || h >= 11, 'zoomed out, a label is readable or hidden, not ' + h + ' px');
  await shot(page, '09c-incident-zoomed-out-1280');
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
  // Moving alerts sends the target incident id as a string, as the API's
  // ids are (the request is caught and refused here, so nothing moves).
  let sent = null;
  await page.route('**/api/v1/alerts/moveAlerts', async (route) => {
    sent = JSON.parse(route.request().postData());
    await route.fulfill({ status: 409, contentType: 'application/json', body: JSON.stringify({ error: { code: 'conflict', message: 'caught by the test' } }) });
  });
  await page.check('#alerts-table tbody tr:first-child input[type=checkbox]');
  await page.fill('#move-form input[name=target]', '9007199254740993');
  await page.fill('#move-form input[name=comment]', 'a test move');
  await page.click('#move-form button[type=submit]');
  await page.waitForFunction(() => /caught by the test/.test(document.querySelector('#notice').textContent));
  assert.equal(sent.incidentId, '9007199254740993', 'the id as typed, not rounded through a Number');
  await page.unroute('**/api/v1/alerts/moveAlerts');
  await page.uncheck('#alerts-table tbody tr:first-child input[type=checkbox]');
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
  await withSizedPage(browser, page, { width: 3840, height: 2160 }, async (big) => {
    await big.goto(base() + '/incidents/' + top.id);
    await big.waitForSelector('#graph g.node');
    await big.click('#g-fit');
    const labelPx = Number(await big.getAttribute('#graph', 'data-label-px'));
    assert.ok(labelPx >= 12, 'graph labels are at least 12 px on the fitted 4K graph, got ' + labelPx);
    const overflow = await big.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.equal(overflow, 0, 'nothing runs off the side at 4K');
    await shot(big, '17-incident-4k');
  });
  await page.click('#theme-toggle');
  assert.equal(await page.getAttribute('html', 'data-theme'), 'dark');
  const resp = await page.goto(base() + '/incidents?status=resolved');
  assert.match(await resp.text(), /<html lang="en" data-theme="dark">/, 'the page is served in the dark theme, painted dark from the start');
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
