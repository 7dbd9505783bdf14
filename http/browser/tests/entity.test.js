// The entity pages as an analyst: the search in the nav finds what the
// API finds; an entity's page shows what GET /api/v1/entities/{type}/{id}
// answers (names, counts, incidents, alerts page by page), under any of
// its names; an address that names nothing says so; the incident page's
// assets lead to it; and a request the analyst's role may not make is
// refused in the action dialog with the API's message. The suite reads
// only: it changes nothing the other suites look at.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, shot, api, base, env, signIn } from './lib.js';

let browser, page, trap;
let hub; // the device with the most alerts among those found by "ws-"

before(async () => {
  browser = await launch();
  ({ page, trap } = await newPage(browser));
  await signIn(page, env('WEFT_USER'), env('WEFT_PASSWORD'), '/entities');
  await page.waitForURL(base() + '/entities');
  const { data } = await api('GET', '/api/v1/entities?search=ws-&type=device&$top=100');
  assert.ok(data.value.length > 0, 'the store has ws- devices');
  hub = data.value.reduce((a, b) => (b.alertCount > a.alertCount ? b : a));
});
after(async () => {
  assert.deepEqual(trap.errors, [], 'no script error on any page');
  assert.deepEqual(trap.csp, [], 'no Content-Security-Policy violation');
  assert.deepEqual(trap.dialogs, [], 'no alert() or confirm()');
  await browser.close();
});

test('the search finds what the API finds and links to the entity pages', async () => {
  assert.equal(await page.getAttribute('nav a[aria-current="page"]', 'href'), '/entities');
  await page.fill('#e-search', 'ws-');
  await page.selectOption('#e-type', 'device');
  await page.click('#entity-search button[type=submit]');
  await page.waitForURL(/\/entities\?search=ws-&type=device/);
  await page.waitForSelector('body[data-entity-loaded]');
  const { data } = await api('GET', '/api/v1/entities?search=ws-&type=device&$top=100');
  assert.deepEqual(await page.locator('#entity-results tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.key)), data.value.map((x) => x.key));
  await shot(page, 'entity-01-search');
  await page.goto(base() + '/entities?search=' + encodeURIComponent('no-such-entity-anywhere'));
  await page.waitForSelector('#entity-results-state:not([hidden])');
  await page.waitForFunction(() => /No entity's name or key starts with/.test(document.querySelector('#entity-results-state').textContent));
});

test('an entity page shows the API\'s entity: names, counts, incidents, alerts page by page', async () => {
  await page.goto(base() + '/entities?search=' + encodeURIComponent(hub.key) + '&type=device');
  await page.waitForSelector('#entity-results a');
  await page.click('#entity-results tbody tr[data-key="' + hub.key + '"] a');
  await page.waitForURL(/\/entities\/device\//);
  await page.waitForSelector('body[data-entity-loaded]');
  const { data: e } = await api('GET', '/api/v1/entities/device/' + encodeURIComponent(hub.key) + '?$top=25');
  assert.equal(await page.textContent('#e-key'), e.key);
  assert.equal(await page.textContent('#e-name'), e.name);
  assert.equal(await page.textContent('#e-alerts'), String(e.alertCount));
  assert.equal(await page.textContent('#e-incidents'), String(e.incidentCount));
  assert.equal(await page.getAttribute('#e-containment', 'data-state'), e.containmentState);
  assert.equal(await page.textContent('#e-aliases-title'), 'Other names (' + e.aliasCount + ')');
  assert.deepEqual(await page.locator('#e-alerts-table tbody tr').evaluateAll((trs) => trs.map((t) => t.dataset.id)), e.alerts.map((a) => a.id));
  assert.deepEqual(await page.locator('#e-incidents-table tbody tr[data-id]').evaluateAll((trs) => trs.map((t) => t.dataset.id)), e.incidents.map((i) => i.id));
  await shot(page, 'entity-02-page');
  if (e.alertCount > 25) {
    const { data: next } = await api('GET', '/api/v1/entities/device/' + encodeURIComponent(hub.key) + '?$top=25&$skip=25');
    await page.click('#e-next');
    await page.waitForFunction((id) => document.querySelector('#e-alerts-table tbody tr').dataset.id === id, next.alerts[0].id);
    assert.match(await page.textContent('#e-page-info'), /^26–/);
    await page.click('#e-prev');
    await page.waitForFunction((id) => document.querySelector('#e-alerts-table tbody tr').dataset.id === id, e.alerts[0].id);
  }
  // Another name of it is the same page.
  const alias = (e.aliases || []).find((a) => a.includes(':'));
  if (alias) {
    await page.goto(base() + '/entities/device/' + encodeURIComponent(alias));
    await page.waitForSelector('#entity-head:not([hidden])');
    assert.equal(await page.textContent('#e-key'), e.key, 'the alias ' + alias + ' leads to the entity');
  }
});

test('an address that names nothing says so', async () => {
  await page.goto(base() + '/entities/device/' + encodeURIComponent('no-such-device-999'));
  await page.waitForSelector('#entity-state.error');
  assert.match(await page.textContent('#entity-state'), /No device "no-such-device-999" was found in this tenant/);
  const resp = await page.goto(base() + '/entities/starship/enterprise');
  assert.equal(resp.status(), 404);
  assert.match(await page.textContent('main'), /"starship" is not a valid value; allowed: device, user/);
});

test('the incident page\'s impacted assets lead to the entity pages', async () => {
  const { data } = await api('GET', '/api/v1/incidents?$top=1');
  const id = data.value[0].id;
  await page.goto(base() + '/incidents/' + id + '#assets');
  await page.waitForSelector('#panel-assets a.entity-link');
  const { data: assets } = await api('GET', '/api/v1/incidents/' + id + '/assets');
  const first = assets.groups.find((g) => g.assets.length);
  const a = first.assets[0];
  await page.click('#panel-assets a.entity-link[href="/entities/' + first.entityType + '/' + encodeURIComponent(a.key) + '"]');
  await page.waitForURL(/\/entities\//);
  await page.waitForSelector('#entity-head:not([hidden])');
  assert.ok((await page.textContent('#e-incidents-table')).includes('Incident ' + id), 'the entity page lists the incident');
});

test('an analyst may open the action dialog; the API refuses the request and the dialog says why', async () => {
  await page.goto(base() + '/entities/device/' + encodeURIComponent(hub.key));
  await page.waitForSelector('#entity-actions .respond-open');
  await page.click('#entity-actions .respond-open');
  await page.waitForSelector('#respond-dialog[open] #rd-type option', { state: 'attached' });
  await page.selectOption('#rd-type', 'isolate');
  await page.click('#rd-submit');
  await page.waitForSelector('#rd-msg.error');
  assert.match(await page.textContent('#rd-msg'), /^Not requested: .*\(your role may not request it\)$/);
  await shot(page, 'entity-03-refused');
  await page.click('#rd-close');
  const { data } = await api('GET', '/api/v1/actions?target=' + encodeURIComponent(hub.key));
  assert.equal(data.value.filter((a) => a.requestedBy.name === env('WEFT_USER')).length, 0, 'nothing was requested');
});
