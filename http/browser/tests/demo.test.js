// The README's first steps, as a new user takes them: weft demo (started by
// cmd/weft/browser_test.go exactly as the README says, on a free port)
// prints the web UI's address and an account; the user opens that address,
// signs in with the printed one-time password, chooses a new one, and finds
// the multi-stage attack at the top of the queue, then its story, graph and
// origin. Issue 8's "done when".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, shot, env } from './lib.js';

let browser, page, trap, ui, top;

// demoAPI calls the demo server's API with the token the demo printed.
async function demoAPI(p) {
  const resp = await fetch(new URL(p, ui).href, { headers: { Authorization: 'Bearer ' + env('WEFT_DEMO_TOKEN') } });
  assert.equal(resp.status, 200, p);
  return resp.json();
}

before(async () => {
  ui = env('WEFT_DEMO_UI');
  browser = await launch();
  ({ page, trap } = await newPage(browser));
  top = (await demoAPI('/api/v1/incidents?$top=1')).value[0];
  assert.equal(String(top.id), env('WEFT_DEMO_TOP'), 'the demo printed the top of the API queue as its top incident');
});
after(async () => {
  if (!browser) return; // before failed, and said why
  assert.deepEqual(trap.errors, [], 'no script error on any page');
  assert.deepEqual(trap.csp, [], 'no Content-Security-Policy violation');
  await browser.close();
});

test('demo: the printed address asks to sign in; the printed one-time password is changed there', async () => {
  assert.match(ui, /^http:\/\/127\.0\.0\.1:\d+\/incidents$/);
  await page.goto(ui);
  await page.waitForURL(/\/signin\?next=%2Fincidents/);
  await page.fill('#signin-name', env('WEFT_DEMO_USER'));
  await page.fill('#signin-password', env('WEFT_DEMO_PASSWORD'));
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#password-form:not([hidden])');
  await page.fill('#pw-new', 'my own demo passphrase');
  await page.fill('#pw-again', 'my own demo passphrase');
  await page.click('#password-form button[type=submit]');
  await page.waitForURL(ui);
});

test('demo: the multi-stage attack is at the top of the queue', async () => {
  await page.waitForSelector('body[data-queue-loaded]');
  const first = page.locator('#queue tbody tr').first();
  assert.equal(await first.getAttribute('data-id'), String(top.id));
  const name = await first.locator('td.name a').textContent();
  assert.equal(name, top.displayName);
  assert.match(name, /^Multi-stage incident/);
  await shot(page, 'demo-01-queue');
});

test('demo: opening it shows its story, graph and origin', async () => {
  await page.locator('#queue tbody tr').first().locator('td.name a').click();
  await page.waitForURL(new URL('/incidents/' + top.id, ui).href);
  await page.waitForSelector('#incident-head:not([hidden])');
  assert.equal(await page.textContent('#h-name'), top.displayName);
  const story = await demoAPI('/api/v1/incidents/' + top.id + '/story');
  const origin = await demoAPI('/api/v1/incidents/' + top.id + '/origin');
  await page.waitForSelector('#graph[data-nodes]');
  assert.equal(await page.locator('#story-alerts li[data-index]').count(), story.alerts.length);
  assert.ok(story.alerts.length >= 5, 'the attack story has the chain of alerts, got ' + story.alerts.length);
  assert.equal(await page.locator('#graph g.node').count(), story.graph.nodes.length);
  assert.equal(await page.locator('#graph .entry-ring').count(), origin.entryEntities.length);
  assert.ok((await page.textContent('#origin-line')).startsWith('Started with ' + origin.entryAlert.title));
  await shot(page, 'demo-02-incident');
});
