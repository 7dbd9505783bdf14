// Shared setup of the browser suite: the server and credentials the Go
// test (cmd/weft/browser_test.go) passes in the environment, a chromium
// launched by playwright-core, the API as the suite's admin token (to
// compare what a page shows with what the API answers), and the traps
// that catch a script that should never run.
import { chromium } from 'playwright-core';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(name + ' is not set; run the suite through go test ./cmd/weft -run TestBrowser');
  return v;
};
export const base = () => env('WEFT_URL');
export const artifacts = () => { const d = env('WEFT_ARTIFACTS'); mkdirSync(d, { recursive: true }); return d; };

export async function launch() {
  return chromium.launch({
    executablePath: process.env.WEFT_CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
  });
}

// newPage opens a page whose every script error, dialog, CSP violation
// and window.__xss are recorded in trap.
export async function newPage(browser, viewport) {
  const context = await browser.newContext({ viewport: viewport || { width: 1280, height: 800 } });
  await context.addInitScript(() => { Object.defineProperty(window, '__xssProbe', { value: true }); });
  const page = await context.newPage();
  const trap = { dialogs: [], errors: [], csp: [] };
  page.on('dialog', async (d) => { trap.dialogs.push(d.message()); await d.dismiss(); });
  page.on('pageerror', (e) => trap.errors.push(e.message));
  page.on('console', (m) => {
    const t = m.text();
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(t)) trap.csp.push(t);
  });
  return { context, page, trap };
}

// withSizedPage runs fn on a page of its own at viewport, signed in with
// page's cookies, and closes it after, checking that no script failed on
// it. The suite's shared pages are never resized: resizing one to 4K and
// back once left chromium, on CI's loaded machine, without animation
// frames for the rest of the file.
export async function withSizedPage(browser, page, viewport, fn) {
  const sized = await newPage(browser, viewport);
  try {
    await sized.context.addCookies(await page.context().cookies());
    await fn(sized.page);
    assert.deepEqual(sized.trap.errors, [], 'no script error at ' + viewport.width + '×' + viewport.height);
  } finally {
    await sized.context.close();
  }
}

// shot saves a screenshot of the page under the artifacts directory.
export async function shot(page, name) {
  await page.screenshot({ path: path.join(artifacts(), name + '.png'), fullPage: false });
}

// api calls the API with the suite's admin token.
export async function api(method, p, body, headers) {
  const resp = await fetch(base() + p, {
    method,
    headers: Object.assign({ Authorization: 'Bearer ' + env('WEFT_TOKEN'), 'Content-Type': 'application/json' }, headers || {}),
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!resp.ok) throw new Error(method + ' ' + p + ': ' + resp.status + ' ' + text);
  return { data, headers: resp.headers };
}

// signIn signs in on the sign-in page, starting from a page that needs a
// session, and waits for that page.
export async function signIn(page, user, password, startAt) {
  await page.goto(base() + (startAt || '/incidents'));
  await page.waitForURL(/\/signin\?next=/);
  await page.fill('#signin-name', user);
  await page.fill('#signin-password', password);
  await page.click('#signin-form button[type=submit]');
}

// xssState answers what would show that a payload ran or was parsed as
// markup: window.__xss, elements with event-handler attributes, links to
// javascript: URLs, and script elements that are not weft's own.
export async function xssState(page) {
  return page.evaluate(() => ({
    flag: window.__xss === undefined ? null : String(window.__xss),
    handlers: document.querySelectorAll('[onerror],[onload],[onclick],[onmouseover]').length,
    jsLinks: [...document.querySelectorAll('a[href]')].filter((a) => /^\s*javascript:/i.test(a.getAttribute('href'))).length,
    foreignScripts: [...document.scripts].filter((s) => !/^\/assets\/[a-z]+\.js\?v=[0-9a-f]{16}$/.test(s.getAttribute('src') || '')).length,
    images: [...document.images].filter((i) => !i.closest('svg')).length,
  }));
}
