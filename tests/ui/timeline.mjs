// Browser test of the timeline page (GET /api/ui) against a running handler: Debian's chromium
// driven by playwright-core. Loads the page, fills and submits the filter form, follows "Load
// more", checks the table and timeline against the seeded data (expect.json, written by the Rust
// e2e test `ui`: two Bastion hosts, a VM of the same name behind both), filters by host, checks
// hosts the pipeline cannot produce (none, other spellings) on answers it serves itself, checks
// hostile values render as text and nothing else runs, and screenshots.
// Usage: node timeline.mjs <base-url> <expect.json> <screenshot.png>
// Exit 0 and a last line `ui: ok …` when everything holds; exit 1 listing every failure.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { checker, launch, pageArgs } from './browser.mjs';

const { base, shot, want } = pageArgs('timeline.mjs');
const { check, same, caught, finish } = checker();

const browser = await launch();
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
  same(await submit(page), 'ready', 'state after search');
  same(await rows(page), Math.min(want.pageSize, want.recordings), 'first page rows');
  await loadAll(page);
  same(await rows(page), want.recordings, 'rows after following every continuation');
  same(await page.isVisible('#more'), false, '"Load more" hidden at the end');
  same(await page.$$eval('#recordings tbody tr', (rs) => rs.filter((r) => r.cells.length
    !== document.querySelectorAll('#recordings thead th').length).length), 0, 'a cell for every column');
  same(await tableHosts(page), want.all.tableHosts, 'Bastion column');
  same(await page.$$eval('#recordings td.host .sub', (ss) => [...new Set(ss.map((x) => x.textContent))]),
    ['devstoreaccount1'], 'storage account under the host');

  // Timeline: kinds per the seeded sessions; one group per host, one lane per VM of a host.
  const kinds = await page.$$eval('.tl-entry', (es) => es.map((e) => e.dataset.kind));
  for (const k of ['recorded', 'unrecorded', 'failed']) {
    same(kinds.filter((x) => x === k).length, want.kinds[k], `timeline ${k} entries`);
  }
  await checkTimeline(page, want.all, 'all hosts');
  same(await page.isVisible('#tl-note'), false, 'no truncation note');
  same(await page.textContent('#n-unrecorded'), `(${want.kinds.unrecorded})`, 'legend count');

  // A recorded entry opens its session and marks its row in the table.
  same(await page.$$eval('.tl-entry.linked', (es) => es.length), want.kinds.recorded, 'recorded entries link to recordings');
  await page.locator('.tl-entry.linked', { hasText: want.filter.user }).click();
  // The seeded user has no e-mail: "unknown person" over the VM account.
  same(await page.$$eval('#recordings tbody tr.selected td.user', (tds) => tds.map((td) => [td.firstChild.textContent,
    td.querySelector('.account bdi')?.textContent])), [['unknown person', want.filter.user]], 'clicked entry selects its recording row');
  await page.waitForSelector('#detail:not([hidden])');
  same(await page.textContent('#dt-title'), 'Session of unknown person', 'clicked entry opens its session');
  same(await page.$eval('#dt-facts', (dl) => [...dl.querySelectorAll('dt')].find((d) => d.textContent === 'VM account')?.nextElementSibling.textContent),
    want.filter.user, 'the opened session is the seeded user\'s');
  await page.click('#dt-close');

  // Hostile values: present as text, never as elements, nothing executed.
  const tableText = await page.textContent('#recordings tbody');
  const labels = await page.$$eval('.tl-entry', (es) => es.map((e) => e.getAttribute('aria-label')).join('\n'));
  for (const h of want.hostileTable) check(tableText.includes(h), `hostile value as text in the table: ${h}`);
  for (const h of want.hostileTimeline) check(labels.includes(h), `hostile value in a timeline label: ${h}`);
  const foreign = await page.$$eval('#recordings tbody *, #timeline *',
    (es) => es.filter((e) => !['TR', 'TD', 'SPAN', 'DIV', 'P', 'H3', 'BDI', 'BUTTON'].includes(e.tagName)).map((e) => e.tagName));
  same(foreign, [], 'no injected elements');
  same(await page.evaluate(() => window.__pwned), undefined, 'no injected script ran');

  // A filter narrows both views.
  await page.fill('#f-user', want.filter.user);
  same(await submit(page), 'ready', 'state after user filter');
  same(await rows(page), want.filter.recordings, 'rows for the user filter');
  same(await page.$$eval('.tl-entry', (es) => es.length), want.filter.entries, 'timeline entries for the user filter');
  await page.fill('#f-user', '');
  await page.fill('#f-vm', want.vmFilter.vm);
  await page.selectOption('#f-protocol', want.vmFilter.protocol);
  same(await submit(page), 'ready', 'state after VM + protocol filter');
  same(await rows(page), want.vmFilter.recordings, 'rows for the VM + protocol filter');
  same(await page.isVisible('#rec-empty'), want.vmFilter.recordings === 0, 'empty-table message');
  same(await page.$$eval('.tl-entry', (es) => es.map((e) => e.dataset.kind).sort()), want.vmFilter.kinds,
    'timeline kinds for the VM + protocol filter');
  await page.fill('#f-vm', '');
  await page.selectOption('#f-protocol', '');
  await page.selectOption('#f-session', 'unrecorded');
  same(await submit(page), 'ready', 'state after session filter');
  same(await page.$$eval('.tl-entry', (es) => es.map((e) => e.dataset.kind)),
    Array(want.kinds.unrecorded).fill('unrecorded'), 'session filter shows unrecorded only');
  same(await rows(page), Math.min(want.pageSize, want.recordings), 'the session filter leaves the recordings table alone');
  await page.selectOption('#f-session', '');

  // The host filter narrows both views, sent to both APIs by name (case and resource id aside).
  for (const f of want.bastionFilters) {
    await page.fill('#f-bastion', f.value);
    const sent = requests.length;
    same(await submit(page), 'ready', `state after bastion filter ${f.value}`);
    await loadAll(page);
    const calls = requests.slice(sent).map((u) => new URL(u))
      .filter((u) => /\/api\/(recordings|sessions)$/.test(u.pathname));
    same([...new Set(calls.map((u) => u.pathname.split('/').pop()))].sort(), ['recordings', 'sessions'],
      `both APIs called for bastion ${f.value}`);
    same(calls.filter((u) => (u.searchParams.get('bastion') || '').toLowerCase() !== f.sent), [],
      `calls without bastion=${f.sent}`);
    same(await rows(page), f.view.recordings, `rows for bastion ${f.value}`);
    same(await tableHosts(page), f.view.tableHosts, `Bastion column for bastion ${f.value}`);
    same(await page.$$eval('.tl-entry', (es) => es.length), f.view.entries, `timeline entries for bastion ${f.value}`);
    await checkTimeline(page, f.view, `bastion ${f.value}`);
  }
  await page.fill('#f-bastion', '');

  // An API error is shown, not swallowed: a range wider than the API allows.
  await page.fill('#f-from', want.tooWideFrom);
  same(await submit(page), 'error', 'state for a too-wide range');
  check((await page.textContent('#status')).includes('400'), 'error text names the status');

  // Back to the full range for the screenshot.
  await page.fill('#f-from', want.from);
  same(await submit(page), 'ready', 'state for the screenshot');
  await page.click('#more');
  await page.waitForFunction(() => document.body.dataset.state !== 'loading');
  mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  await page.setViewportSize({ width: 760, height: 900 });
  await page.waitForTimeout(300); // the timeline redraws its axis after a resize
  await page.screenshot({ path: shot.replace(/\.png$/, '-narrow.png'), fullPage: true });
  await page.setViewportSize({ width: 1440, height: 900 });

  // Hosts the pipeline never writes (none at all, upper case, a resource id): answers served here.
  const hl = want.hostless;
  const serve = (body) => (route) => route.fulfill({ json: body });
  const api = (name) => (url) => url.pathname.endsWith(`/api/${name}`);
  await page.route(api('sessions'), serve(hl.sessions));
  await page.route(api('recordings'), serve(hl.recordings));
  await page.fill('#f-from', hl.from);
  await page.fill('#f-to', hl.to);
  same(await submit(page), 'ready', 'state for hosts the pipeline never writes');
  await checkTimeline(page, hl.expect, 'hosts the pipeline never writes');
  same(await page.$$eval('.tl-host .name', (ns) => ns.map((n) => n.textContent)), hl.expect.headings,
    'host headings (none: "unknown host")');
  same(await tableHosts(page), hl.expect.tableHosts, 'Bastion column without a host');
  await page.screenshot({ path: shot.replace(/\.png$/, '-unknown-host.png'), fullPage: true });
  await page.unrouteAll();

  // The review panel, by keyboard only: the queue, one session, a verdict signed off.
  // The page loads the queue on its own too: wait for the refresh's answer, not an earlier one.
  await page.click('#rv-refresh');
  await page.waitForSelector('#rv-queue[aria-busy="false"]');
  await page.waitForFunction(() => document.querySelectorAll('#rv-queue button.rv-item').length > 0);
  const queued = await page.$$eval('#rv-queue button.rv-item', (bs) => bs.length);
  check(queued >= want.review.atLeast, `review queue lists the risky sessions (${queued})`);
  same(await page.$$eval('#rv-queue a, #rv-queue script, #rv-queue img', (xs) => xs.length), 0, 'queue values stay text');
  await page.focus('#rv-queue button.rv-item');
  await page.keyboard.press('ArrowDown');
  // A reload landing under the keyboard keeps focus on the same session.
  const focusedSession = () => page.evaluate(() => document.activeElement.dataset.session || null);
  const before = await focusedSession();
  await page.evaluate(() => document.getElementById('rv-refresh').click()); // a click that leaves focus where it is
  await page.waitForSelector('#rv-queue[aria-busy="false"]');
  same(await focusedSession(), before, 'focus after a queue reload');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#detail:not([hidden])');
  same(await page.evaluate(() => document.activeElement && document.activeElement.id), 'dt-title', 'focus on the opened session');
  await page.focus('#rv-verdict-ok');
  await page.keyboard.press('Space');
  await page.keyboard.press('Tab'); // past the radio group
  await page.keyboard.type('looked fine');
  await page.focus('#rv-submit');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !document.getElementById('dt-confirm').hidden
    || /failed/.test(document.getElementById('rv-status').textContent));
  // The reviewer's name is an outside value: isolated (U+2068 … U+2069) in the confirmation.
  const signed = (await page.textContent('#dt-confirm')).replace(/[\u2068\u2069]/g, '');
  check(signed.startsWith('Signed off: ok by function-key caller at '), `sign-off answer: ${signed}`);
  await page.waitForFunction((n) => document.querySelectorAll('#rv-queue button.rv-item').length === n - 1, queued);
  // The confirmation names "Reviews in this period" only when that list shows the review (the
  // period searched here is the seed's, long before the review was made).
  await page.waitForFunction(() => /listed under/.test(document.getElementById('dt-confirm').textContent));
  const placed = (await page.textContent('#dt-confirm')).replace(/[\u2068\u2069]/g, '');
  const periodRows = await page.evaluate(() => document.querySelectorAll('#reviews tbody tr').length);
  same(periodRows, 0, 'reviews listed in the seed\'s period');
  check(/"Reviews in this period" does not list it/.test(placed), `sign-off placement: ${placed}`);
  await page.screenshot({ path: shot.replace(/\.png$/, '-review.png'), fullPage: true });

  same(await page.evaluate(() => window.__violations), [], 'CSP violations');
  const origin = new URL(base).origin;
  const calls = requests.filter((u) => /\/api\/(recordings|sessions)\?/.test(u));
  check(calls.length > 0, 'the page called the API');
  same(requests.filter((u) => new URL(u).origin !== origin), [], 'requests to other origins');
  same(calls.filter((u) => new URL(u).searchParams.get('code') !== want.key), [], 'API calls without the function key');
  same(events, [], 'console errors, page errors, dialogs');
  // Only the deliberate too-wide range fails.
  const allowed = ['400 /api/recordings', '400 /api/sessions', '400 /api/reviews', '400 /api/reviews/figures'];
  same(failed.filter((f) => !allowed.includes(f)), [], 'unexpected failed API responses');
  check(failed.includes('400 /api/recordings') && failed.includes('400 /api/sessions'), 'the too-wide range reached both APIs');
} catch (e) {
  caught(e);
} finally {
  await browser.close();
}

finish('ui', `${requests.length} requests, screenshot ${shot}`);

// Waits until search number `n` has finished; returns its state (ready/error).
async function settled(page, n) {
  await page.waitForFunction((k) => Number(document.body.dataset.search) >= k
    && ['ready', 'error'].includes(document.body.dataset.state), n, { timeout: 20000 });
  return page.evaluate(() => document.body.dataset.state);
}

// Submits the form; returns the state of that search.
async function submit(page) {
  const n = Number(await page.evaluate(() => document.body.dataset.search)) + 1;
  await page.click('#f-search');
  return settled(page, n);
}

// Follows "Load more" to the last page.
async function loadAll(page) {
  for (let i = 0; i < 20 && await page.isVisible('#more'); i += 1) {
    await page.click('#more');
    await page.waitForFunction(() => document.body.dataset.state !== 'loading');
  }
}

async function rows(page) {
  return page.$$eval('#recordings tbody tr', (rs) => rs.length);
}

// The Bastion column (the cell's first text: the host, or "unknown host"), sorted.
async function tableHosts(page) {
  return (await page.$$eval('#recordings td.host', (tds) => tds.map((td) => td.firstChild.textContent))).sort();
}

// Host groups in order (data-host: '' for none), `host/vm` lanes in order, and each lane inside
// the group of its host.
async function checkTimeline(page, exp, what) {
  same(await page.$$eval('.tl-group', (gs) => gs.map((g) => g.dataset.host)), exp.hosts, `host groups (${what})`);
  same(await page.$$eval('.tl-row', (rs) => rs.map((r) => `${r.dataset.host}/${r.dataset.vm}`)), exp.lanes,
    `lanes (${what})`);
  same(await page.$$eval('.tl-row', (rs) => rs.filter((r) => r.closest('.tl-group').dataset.host
    !== r.dataset.host).length), 0, `lanes under their host (${what})`);
}
