// The action center's pending list pages, as its history does: with more
// actions waiting than fit on a page, none is silently left out. The
// list is the API's answer for each page; so that the suite need not
// file a hundred real requests, the API's pending list is answered here
// (page.route) with 120 actions, and the suite checks which pages the
// page asks for and what it shows of each. The suite changes nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, shot, base, env, signIn } from './lib.js';

let browser, page, trap;
const TOTAL = 120;
const asked = [];

before(async () => {
  browser = await launch();
  ({ page, trap } = await newPage(browser));
  const pending = Array.from({ length: TOTAL }, (_, i) => ({
    id: String(1000 + i), type: 'isolate', entityType: 'device', target: 'device.fqdn:ws-' + i + '.contoso.com', targetName: 'ws-' + i + '.contoso.com',
    status: 'pendingApproval', parameters: {}, requestedBy: { kind: 'user', name: 'someone-else@contoso.com' },
    createdDateTime: new Date(Date.UTC(2026, 10, 1, 0, TOTAL - i)).toISOString(), comment: 'request ' + i,
  }));
  await page.route((url) => url.pathname === '/api/v1/actions' && url.searchParams.get('status') === 'pendingApproval', async (route) => {
    const u = new URL(route.request().url());
    const top = Number(u.searchParams.get('$top')), skip = Number(u.searchParams.get('$skip') || 0);
    asked.push([top, skip]);
    await route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ value: pending.slice(skip, skip + top), '@odata.count': TOTAL }) });
  });
  await signIn(page, env('WEFT_USER'), env('WEFT_PASSWORD'), '/actions');
  await page.waitForURL(base() + '/actions');
});
after(async () => {
  assert.deepEqual(trap.errors, [], 'no script error on any page');
  assert.deepEqual(trap.csp, [], 'no Content-Security-Policy violation');
  await browser.close();
});

test('the pending list pages through every waiting action', async () => {
  const ids = () => page.locator('#pending-table tbody tr[data-id]').evaluateAll((trs) => trs.map((t) => t.dataset.id));
  const range = (from, n) => Array.from({ length: n }, (_, i) => String(1000 + from + i));
  await page.waitForSelector('#pending-table tbody tr[data-id="1000"]');
  assert.deepEqual(await ids(), range(0, 50));
  assert.equal(await page.textContent('#p-page-info'), '1–50 of 120 · page 1 of 3');
  assert.equal(await page.isDisabled('#p-prev'), true);
  assert.ok(asked.every(([top]) => top <= 50), 'no page larger than 50: ' + JSON.stringify(asked));
  await page.click('#p-next');
  await page.waitForSelector('#pending-table tbody tr[data-id="1050"]');
  assert.deepEqual(await ids(), range(50, 50));
  await page.click('#p-next');
  await page.waitForSelector('#pending-table tbody tr[data-id="1100"]');
  assert.deepEqual(await ids(), range(100, 20), 'the last 20, none left out');
  assert.equal(await page.textContent('#p-page-info'), '101–120 of 120 · page 3 of 3');
  assert.equal(await page.isDisabled('#p-next'), true);
  assert.ok(asked.some(([top, skip]) => top === 50 && skip === 100), 'the third page was asked for: ' + JSON.stringify(asked));
  await shot(page, 'actions-pending-paged');
  await page.click('#p-prev');
  await page.waitForSelector('#pending-table tbody tr[data-id="1050"]');
});
