// Time to first render of the queue page: from navigation to the first
// page of rows shown (queue.js records it on <body>), for several views,
// each loaded RUNS times. Usage, against a running weft with an account:
//
//   node tools/queue-render.js URL USER PASSWORD [RUNS]
//
// docs/api.md ("The web UI") has the figures on a store of 200,000
// incidents and how that store is made.
import { chromium } from 'playwright-core';
const [url, user, pw, runs] = process.argv.slice(2);
if (!pw) { console.error('usage: node tools/queue-render.js URL USER PASSWORD [RUNS]'); process.exit(2); }
const b = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
const p = await b.newPage({ viewport: { width: 1280, height: 800 } });
await p.goto(url + '/signin');
await p.fill('#signin-name', user); await p.fill('#signin-password', pw);
await p.click('#signin-form button');
await p.waitForURL('**/incidents');
const views = ['/incidents', '/incidents?sort=updated', '/incidents?status=resolved', '/incidents?tags=VIP', '/incidents?search=host-12345', '/incidents?page=100'];
for (const v of views) {
  const first = [], api = [];
  for (let i = 0; i < Number(runs || 5); i++) {
    await p.goto(url + v);
    await p.waitForSelector('body[data-queue-loaded]', { timeout: 120000 });
    first.push(Number(await p.getAttribute('body', 'data-queue-first-render-ms')));
    api.push(Number(await p.getAttribute('body', 'data-queue-render-ms')));
  }
  first.sort((a, b) => a - b); api.sort((a, b) => a - b);
  const rows = await p.locator('#queue tbody tr').count();
  const info = await p.textContent('#page-info');
  console.log(v.padEnd(32), 'rows', rows, '|', info, '| first render ms: min', first[0], 'median', first[Math.floor(first.length / 2)], 'max', first[first.length - 1], '| API+render median', api[Math.floor(api.length / 2)]);
}
await b.close();
