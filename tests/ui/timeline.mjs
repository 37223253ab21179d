// Browser test of the timeline page (GET /api/ui) against a running handler: Debian's chromium
// driven by playwright-core. Loads the page, fills and submits the filter form, follows "Load
// more", checks the table and timeline against the seeded data (expect.json, written by the Rust
// e2e test `ui`), checks hostile values render as text and nothing else runs, and screenshots.
// Usage: node timeline.mjs <base-url> <expect.json> <screenshot.png>
// Exit 0 and a last line `ui: ok …` when everything holds; exit 1 listing every failure.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const [base, expectPath, shot] = process.argv.slice(2);
if (!base || !expectPath || !shot) {
  console.error('usage: node timeline.mjs <base-url> <expect.json> <screenshot.png>');
  process.exit(2);
}
const want = JSON.parse(readFileSync(expectPath, 'utf8'));
const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
};
const same = (got, exp, what) => check(JSON.stringify(got) === JSON.stringify(exp),
  `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(exp)}`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  // Chromium's sandbox refuses to start as root (CI containers run as root).
  args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
});
const events = [];
const requests = [];
const failed = [];
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  // HTTP failures are checked below by status; any other console error is a failure.
  page.on('console', (m) => m.type() === 'error' && !m.text().startsWith('Failed to load resource')
    && events.push(`console error: ${m.text()}`));
  page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${new URL(r.url()).pathname}`));
  page.on('pageerror', (e) => events.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    events.push(`dialog opened (script ran): ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('request', (r) => requests.push(r.url()));
  // Runs outside the page's CSP (DevTools protocol): records any violation the page triggers.
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });

  const res = await page.goto(`${base}/api/ui?code=${encodeURIComponent(want.key)}&limit=${want.pageSize}`);
  same(res.status(), 200, 'page status');
  check((res.headers()['content-security-policy'] || '').includes("connect-src 'self'"), 'CSP header');
  await settled(page, 1);

  // The seeded range, then submit.
  await page.fill('#f-from', want.from);
  await page.fill('#f-to', want.to);
  await page.click('#f-search');
  let state = await settled(page, 2);
  same(state, 'ready', 'state after search');
  same(await rows(page), Math.min(want.pageSize, want.recordings), 'first page rows');
  for (let i = 0; i < 20 && await page.isVisible('#more'); i += 1) {
    await page.click('#more');
    await page.waitForFunction(() => document.body.dataset.state !== 'loading');
  }
  same(await rows(page), want.recordings, 'rows after following every continuation');
  same(await page.isVisible('#more'), false, '"Load more" hidden at the end');

  // Timeline: kinds per the seeded sessions, one lane per VM.
  const kinds = await page.$$eval('.tl-entry', (es) => es.map((e) => e.dataset.kind));
  for (const k of ['recorded', 'unrecorded', 'failed']) {
    same(kinds.filter((x) => x === k).length, want.kinds[k], `timeline ${k} entries`);
  }
  same(await page.$$eval('.tl-row', (rs) => rs.map((r) => r.dataset.vm)), want.vms, 'timeline lanes');
  same(await page.isVisible('#tl-note'), false, 'no truncation note');
  same(await page.textContent('#n-unrecorded'), `(${want.kinds.unrecorded})`, 'legend count');

  // A recorded entry leads to its row in the table.
  same(await page.$$eval('.tl-entry.linked', (es) => es.length), want.kinds.recorded, 'recorded entries link to recordings');
  await page.locator('.tl-entry.linked', { hasText: want.filter.user }).click();
  same(await page.$$eval('#recordings tbody tr.selected td.user', (tds) => tds.map((td) => td.firstChild.textContent)),
    [want.filter.user], 'clicked entry selects its recording row');

  // Hostile values: present as text, never as elements, nothing executed.
  const tableText = await page.textContent('#recordings tbody');
  const labels = await page.$$eval('.tl-entry', (es) => es.map((e) => e.getAttribute('aria-label')).join('\n'));
  for (const h of want.hostileTable) check(tableText.includes(h), `hostile value as text in the table: ${h}`);
  for (const h of want.hostileTimeline) check(labels.includes(h), `hostile value in a timeline label: ${h}`);
  const foreign = await page.$$eval('#recordings tbody *, #timeline *',
    (es) => es.filter((e) => !['TR', 'TD', 'SPAN', 'DIV', 'P'].includes(e.tagName)).map((e) => e.tagName));
  same(foreign, [], 'no injected elements');
  same(await page.evaluate(() => window.__pwned), undefined, 'no injected script ran');

  // A filter narrows both views.
  await page.fill('#f-user', want.filter.user);
  await page.click('#f-search');
  same(await settled(page, 3), 'ready', 'state after user filter');
  same(await rows(page), want.filter.recordings, 'rows for the user filter');
  same(await page.$$eval('.tl-entry', (es) => es.length), want.filter.entries, 'timeline entries for the user filter');
  await page.fill('#f-user', '');
  await page.fill('#f-vm', want.vmFilter.vm);
  await page.selectOption('#f-protocol', want.vmFilter.protocol);
  await page.click('#f-search');
  same(await settled(page, 4), 'ready', 'state after VM + protocol filter');
  same(await rows(page), want.vmFilter.recordings, 'rows for the VM + protocol filter');
  same(await page.isVisible('#rec-empty'), want.vmFilter.recordings === 0, 'empty-table message');
  same(await page.$$eval('.tl-entry', (es) => es.map((e) => e.dataset.kind).sort()), want.vmFilter.kinds,
    'timeline kinds for the VM + protocol filter');
  await page.fill('#f-vm', '');
  await page.selectOption('#f-protocol', '');
  await page.selectOption('#f-session', 'unrecorded');
  await page.click('#f-search');
  same(await settled(page, 5), 'ready', 'state after session filter');
  same(await page.$$eval('.tl-entry', (es) => es.map((e) => e.dataset.kind)),
    Array(want.kinds.unrecorded).fill('unrecorded'), 'session filter shows unrecorded only');
  same(await rows(page), Math.min(want.pageSize, want.recordings), 'the session filter leaves the recordings table alone');

  // An API error is shown, not swallowed: a range wider than the API allows.
  await page.fill('#f-from', want.tooWideFrom);
  await page.click('#f-search');
  same(await settled(page, 6), 'error', 'state for a too-wide range');
  check((await page.textContent('#status')).includes('400'), 'error text names the status');

  // Back to the full range for the screenshot.
  await page.fill('#f-from', want.from);
  await page.selectOption('#f-session', '');
  await page.click('#f-search');
  same(await settled(page, 7), 'ready', 'state for the screenshot');
  await page.click('#more');
  await page.waitForFunction(() => document.body.dataset.state !== 'loading');
  mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  await page.setViewportSize({ width: 760, height: 900 });
  await page.waitForTimeout(300); // the timeline redraws its axis after a resize
  await page.screenshot({ path: shot.replace(/\.png$/, '-narrow.png'), fullPage: true });

  same(await page.evaluate(() => window.__violations), [], 'CSP violations');
  const origin = new URL(base).origin;
  const api = requests.filter((u) => /\/api\/(recordings|sessions)\?/.test(u));
  check(api.length > 0, 'the page called the API');
  same(requests.filter((u) => new URL(u).origin !== origin), [], 'requests to other origins');
  same(api.filter((u) => new URL(u).searchParams.get('code') !== want.key), [], 'API calls without the function key');
  same(events, [], 'console errors, page errors, dialogs');
  // Only the deliberate too-wide range fails.
  const allowed = ['400 /api/recordings', '400 /api/sessions'];
  same(failed.filter((f) => !allowed.includes(f)), [], 'unexpected failed API responses');
  check(failed.includes('400 /api/recordings') && failed.includes('400 /api/sessions'), 'the too-wide range reached both APIs');
} catch (e) {
  failures.push(`exception: ${e && e.stack ? e.stack : e}`);
} finally {
  await browser.close();
}

if (failures.length) {
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`ui: ${failures.length} failed`);
  process.exit(1);
}
console.log(`ui: ok (${requests.length} requests, screenshot ${shot})`);

// Waits until search number `n` has finished; returns its state (ready/error).
async function settled(page, n) {
  await page.waitForFunction((k) => Number(document.body.dataset.search) >= k
    && ['ready', 'error'].includes(document.body.dataset.state), n, { timeout: 20000 });
  return page.evaluate(() => document.body.dataset.state);
}

async function rows(page) {
  return page.$$eval('#recordings tbody tr', (rs) => rs.length);
}
