// The reviewer's whole path on the timeline page (GET /api/ui), keyboard only, in Debian's
// chromium (playwright-core): the filters restored from the address; find the session by the
// person's e-mail (the filters written back into the address); open it from the table with Enter;
// see the person first and the VM account beside it (in the row of the session's recording, when
// the person has several), the recording's hash, its last verification,
// its custody trail and links; sign off; see the confirmation (focused, in the open view), the
// verdict, reviewer and time in the table, the session's history and the period's log (the person
// first); the
// session gone from the queue; Escape returns the focus to the row; Space opens a timeline entry.
// On the unfiltered data at 1,280, 1,400 and 800 px wide no element is wider than its box (and
// the opened view at 1,400 and 800); the date fields are one Tab stop each, typed as ISO text;
// the focus ring is at least 3:1 against white and the page's backgrounds (computed styles); the
// queue's reasons are words, not slugs; a row without an e-mail shows "unknown person"; an
// unjoined recording's portal link is its own source host's; the period's review figures are the
// API's (the pack's). In every state axe-core reports no serious or critical violation.
// Screenshots beside <screenshot.png>.
// Usage: node reviewer.mjs <base-url> <expect.json> <screenshot.png>
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { axeChecker, checker, clippedElements, launch, pageArgs, settled, watchedPage } from './browser.mjs';

const { base, shot, want } = pageArgs('reviewer.mjs');
const { check, same, caught, finish } = checker();
const { axe, report: axeReport } = axeChecker(check);
const shots = (name) => shot.replace(/\.png$/, `-${name}.png`);
// How many recordings the person has in the range (one unless the data says more).
const rows = want.rows ?? 1;

const browser = await launch();
const events = [];
try {
  const page = await watchedPage(browser, { width: 1400, height: 900 }, events);
  mkdirSync(path.dirname(shot), { recursive: true });

  // A bookmarked range: the form takes it from the address.
  const q = new URLSearchParams({ code: want.key, from: `${want.from}:00Z`, to: `${want.to}:00Z` });
  await page.goto(`${base}/api/ui?${q}`);
  await settled(page, 1);
  // The fields show ISO text (UTC), never the browser's locale format.
  same(await page.inputValue('#f-from'), want.from.replace('T', ' '), 'range start restored from the address');
  same(await page.inputValue('#f-to'), want.to.replace('T', ' '), 'range end restored from the address');
  same(await page.$$eval('#f-from, #f-to', (is) => is.map((i) => i.type)), ['text', 'text'], 'date fields are typed text');
  await page.waitForFunction(() => document.querySelectorAll('#rv-queue button.rv-item').length > 0);
  await page.waitForFunction(() => /^As the evidence pack|unavailable/.test(document.getElementById('log-figures').textContent));
  await axe(page, 'loaded');
  const headings = await page.$$eval('#recordings th, #reviews th', (ths) => ths.map((t) => t.textContent));
  check(headings.includes('Session start (UTC)') && headings.includes('Reviewed at (UTC)'), `times under "(UTC)": ${headings}`);
  const shown = await page.evaluate(() => document.body.innerText);
  check(!/\b\d{1,2}\/\d{1,2}\/\d{4}\b|\b\d{1,2}:\d\d ?[AP]M\b/.test(shown), 'no date in a locale format');

  // The unfiltered data (unjoined uploads included) at three widths: nothing cut.
  for (const width of [1280, 1400, 800]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300); // the timeline redraws after a resize
    same(await page.evaluate(clippedElements), [], `unfiltered: nothing wider than its box at ${width} px`);
    await page.screenshot({ path: shots(`unfiltered-${width}`), fullPage: true });
    await axe(page, `unfiltered ${width} px`);
  }
  await page.setViewportSize({ width: 1400, height: 900 });

  // The API's rows of the range, by id: the person is the e-mail, else "unknown person".
  const listed = await page.evaluate(async ({ key, from, to }) => {
    const q = new URLSearchParams({ code: key, from: `${from}:00Z`, to: `${to}:00Z`, limit: '200' });
    const r = await fetch(`/api/recordings?${q}`, { headers: { Accept: 'application/json' } });
    return (await r.json()).items.map((i) => [i.id, i.userEmail || '', i.matchConfidence || '']);
  }, want);
  const people = await page.$$eval('#recordings tbody tr', (rs) => rs.map((r) => [r.dataset.id, r.querySelector('td.user .person')?.textContent]));
  for (const [id, email] of listed) {
    const row = people.find(([i]) => i === id);
    if (row) same(row[1], email || 'unknown person', `the person of ${id}`);
  }
  check(people.some(([, p]) => p === 'unknown person') || !listed.some(([, e]) => !e), 'a row without an e-mail is shown');
  // The queue's reasons are words: no slug (two words joined by a hyphen) is shown.
  const reasons = await page.$$eval('#rv-queue .rv-item > .sub', (ss) => ss.map((x) => x.textContent));
  check(reasons.length > 0 && reasons.every((r) => r && !/\b[a-z0-9]+(?:-[a-z0-9]+)+\b/.test(r)), `reasons as words: ${JSON.stringify(reasons)}`);
  // The period's review figures, as the API (the evidence pack's counter) gives them.
  const figures = await page.evaluate(async ({ key, from, to }) => {
    const q = new URLSearchParams({ code: key, from: `${from}:00Z`, to: `${to}:00Z` });
    return (await fetch(`/api/reviews/figures?${q}`, { headers: { Accept: 'application/json' } })).json();
  }, want);
  same(await page.textContent('#log-figures'), `As the evidence pack counts this period: ${figures.reviewed} of ${figures.sessions} sessions `
    + `reviewed, ${figures.reviewedOnTime} on time (within ${figures.deadlineHours} hours of the session's end); `
    + `${figures.overdue} queued and overdue now.`, 'the pack\'s figures of the period');
  check(figures.sessions > 0, `the figures count the period's sessions: ${JSON.stringify(figures)}`);
  // An unjoined recording: its portal link is its own source host's session recordings.
  if (want.hostIds) {
    const unjoined = await page.$$eval('#recordings tbody tr', (rs) => rs
      .filter((r) => r.querySelector('td .sub')?.textContent === 'uploaded (no session joined)')
      .map((r) => [r.dataset.id, r.querySelector('td.host')?.firstChild?.textContent]));
    check(unjoined.length > 0, 'the demo has an unjoined recording');
    for (const [id, host] of unjoined.slice(0, 1)) {
      const sel = `#recordings tbody tr[data-id="${id}"] button.link`;
      await page.focus(sel);
      await page.keyboard.press('Enter');
      await page.waitForSelector('#dt-recordings a.ext');
      const link = await page.$eval('#dt-recordings a.ext', (a) => [a.href, a.textContent]);
      same(link[0].toLowerCase(), `https://portal.azure.com/#@/resource${want.hostIds[host]}/sessionRecordings`.toLowerCase(),
        `an unjoined recording on ${host}: its host's session recordings`);
      check(!link[1].includes('not configured'), `the link says what it opens: ${link[1]}`);
      await page.keyboard.press('Escape');
      check(await page.evaluate((s) => document.activeElement.matches(s), sel), 'Escape: the focus back on the unjoined row');
    }
  }

  // One Tab stop per date field; a typed date is taken (ISO, a space for the T).
  await page.focus('#f-from');
  await page.keyboard.press('Tab');
  same(await page.evaluate(() => document.activeElement.id), 'f-to', 'one Tab from "From" to "To"');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(want.to.replace('T', ' '));
  await ring(page, 'a date field');

  // The queue names the person first, the VM account beside it, and when it was ranked.
  const entry = `#rv-queue button.rv-item[data-session="${want.session}"]`;
  same(await page.locator(`${entry} .person`).textContent(), want.person, 'queue: the person first');
  check((await page.locator(`${entry} .account`).textContent()).includes(want.account), 'queue: the VM account beside');
  check(/^Ranked at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC.*next ranking is due at \d{4}-\d\d-\d\d \d\d:\d\d UTC/
    .test(await page.textContent('#rv-ranked')), `queue: when ranked and next: ${await page.textContent('#rv-ranked')}`);
  // The timeline zooms to the sessions: the person's bar shows the person, not a clipped "az…".
  check(await page.isVisible('#tl-zoom'), 'timeline: zoomed to the sessions');
  const bar = await page.$eval(`.tl-entry:not([data-kind="failed"])[aria-label*="${want.person}"]`, (b) => ({
    text: b.textContent, width: b.getBoundingClientRect().width, fits: b.scrollWidth <= b.clientWidth + 1,
  }));
  check([want.person, want.person.split('@')[0]].includes(bar.text) && bar.fits,
    `timeline: the person's bar names the person in full: ${JSON.stringify(bar)}`);
  check(bar.width >= 60, `timeline: a half-hour session is a bar, not a sliver: ${bar.width} px`);

  // Find the session by the person's e-mail: Tab to the user field, type, Enter.
  await tabTo(page, '#f-user');
  await page.keyboard.type(want.person);
  const n = Number(await page.evaluate(() => document.body.dataset.search)) + 1;
  await page.keyboard.press('Enter');
  same(await settled(page, n), 'ready', 'search by e-mail');
  same(await page.$$eval('#recordings tbody tr', (rs) => rs.length), rows, `${rows} recording(s) of the person`);
  // The row of the session's recording (the person may have others, behind other hosts).
  const rowId = await page.$$eval('#recordings tbody tr', (rs, b) => rs
    .find((r) => r.querySelector('td.blob')?.textContent.startsWith(b))?.dataset.id, want.blob);
  check(Boolean(rowId), `the recording ${want.blob} is among the rows`);
  const row = `#recordings tbody tr[data-id="${rowId}"]`;
  same(new URL(page.url()).searchParams.get('user'), want.person, 'the filter is in the address');
  same(new URL(page.url()).searchParams.get('code'), want.key, 'the address keeps the key');
  same(new URL(page.url()).searchParams.get('to'), `${want.to}:00Z`, 'the typed date is searched');
  same(await page.$eval(`${row} td.user .person`, (p) => p.textContent), want.person, 'table: the person first');
  check((await page.textContent(`${row} td.user .account`)).includes(want.account), 'table: the VM account beside');
  same((await page.textContent(`${row} td.review`)).trim(), 'not reviewed', 'table: review column before');
  await axe(page, 'found');

  // Open it: Tab to the row's button, Enter.
  await tabTo(page, `${row} button.link`);
  await ring(page, 'a row');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#detail:not([hidden])');
  same(await page.evaluate(() => document.activeElement.id), 'dt-title', 'focus on the opened session');
  await page.waitForFunction(() => document.querySelector('#dt-recordings .recording')
    && document.querySelector('#dt-history li'));
  check((await page.textContent('#dt-title')).includes(want.person), 'view: titled by the person');
  const facts = await page.$$eval('#dt-facts dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
  same(facts.Person, want.person, 'view: the person');
  same(facts['VM account'], want.account, 'view: the VM account');
  same(facts.VM, want.vm, 'view: the VM');
  same(facts['Session id'], want.session, 'view: the session');
  const rec = await page.$$eval('#dt-recordings .recording dl.facts dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
  check(/^[0-9a-f]{64}$/.test(rec['SHA-256'] || ''), `view: the recording's hash: ${rec['SHA-256']}`);
  check((rec['Last verification'] || '').startsWith(`${want.verification} at `), `view: last verification: ${rec['Last verification']}`);
  check((await page.textContent('#dt-recordings .custody')).includes(want.custody), 'view: the custody trail shows the replacement');
  const portal = await page.$eval('#dt-recordings a.ext', (a) => a.href);
  const portalText = await page.$eval('#dt-recordings a.ext', (a) => a.textContent);
  // The most specific page: the host's session recordings, the link naming its resource id (ids
  // are case-insensitive; the audit records write them in upper case).
  same(portal.toLowerCase(), `https://portal.azure.com/#@/resource${want.hostId}/sessionRecordings`.toLowerCase(),
    'view: the host\'s session recordings in the portal');
  check(portalText.includes('this host\u2019s session recordings'), `view: the link says what it opens: ${portalText}`);
  // The read link where the API issues one, else the reason it gave.
  const read = await page.$$eval('#dt-recordings a.ext', (as) => as.map((a) => a.href));
  const links = await page.textContent('#dt-recordings .links');
  check(want.noReadLink ? links.includes(want.noReadLink) && read.length === 1
    : read.some((h) => h.includes('sig=')), `view: the recording's read link or why not: ${read.join(' ')} ${links}`);
  same(await page.textContent('#dt-history'), 'Not reviewed yet.', 'view: no review yet');
  await page.screenshot({ path: shots('detail'), fullPage: true });
  await axe(page, 'opened');

  // Sign off by keyboard: the verdict, a comment, the ticket, Enter on "Sign off".
  await tabTo(page, '#rv-verdict-ok');
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowDown');
  same(await page.$eval('input[name="verdict"]:checked', (i) => i.value), 'follow-up', 'verdict chosen by keyboard');
  await page.keyboard.press('Tab');
  await page.keyboard.type(want.comment);
  await page.keyboard.press('Tab');
  await page.keyboard.type('INC-58');
  await page.keyboard.press('Tab');
  same(await page.evaluate(() => document.activeElement.id), 'rv-submit', 'Tab reaches "Sign off"');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => !document.getElementById('dt-confirm').hidden
    || document.getElementById('rv-status').textContent.includes('failed'));
  const confirmText = (await page.textContent('#dt-confirm')).replace(/[\u2068\u2069]/g, '');
  check(confirmText.startsWith(`Signed off: follow-up by ${want.reviewer} at `), `confirmation: ${confirmText} ${await page.textContent('#rv-status')}`);
  same(await page.evaluate(() => document.activeElement.id), 'dt-confirm', 'focus on the confirmation');
  check(await page.isVisible('#dt-confirm'), 'the confirmation stays visible');
  await page.waitForFunction(() => document.querySelector('#dt-history .badge')
    && document.querySelector('#reviews tbody tr') && document.body.dataset.state === 'ready');
  const history = await page.textContent('#dt-history');
  check(history.includes('follow-up') && history.includes(want.reviewer) && history.includes(want.comment),
    `the session's history: ${history}`);
  const log = await page.textContent('#reviews tbody');
  check(log.includes('follow-up') && log.includes(want.reviewer) && log.includes(want.comment), `the period's log: ${log}`);
  // Made inside the period searched, so the confirmation says it is listed there too.
  await page.waitForFunction(() => /listed under/.test(document.getElementById('dt-confirm').textContent));
  const placed = (await page.textContent('#dt-confirm')).replace(/[\u2068\u2069]/g, '');
  check(placed.endsWith('It is listed under "Reviews of this session" and "Reviews in this period".'), `sign-off placement: ${placed}`);
  // The period's log names the person first (recorded with the review), the VM account beside it.
  const logged = await page.$eval('#reviews tbody tr', (tr) => ({
    person: tr.querySelector('td.user .person')?.textContent, account: tr.querySelector('td.user .account')?.textContent,
  }));
  same(logged.person, want.person, "the period's log: the person first");
  check(String(logged.account ?? "").includes(want.account), `the period's log: the VM account beside: ${JSON.stringify(logged)}`);
  await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === 'follow-up', `${row} td.review .badge`);
  check((await page.textContent(`${row} td.review`)).includes(want.reviewer), 'table: reviewer in the review column');
  await page.waitForSelector('#rv-queue[aria-busy="false"]');
  same(await page.$$eval(entry, (bs) => bs.length), 0, 'the session left the queue');
  await page.screenshot({ path: shots('signed-off'), fullPage: true });
  await axe(page, 'signed off');

  // Escape closes the view and returns the focus to the row it was opened from (drawn anew).
  await page.keyboard.press('Escape');
  same(await page.isVisible('#detail'), false, 'Escape closes the view');
  check(await page.evaluate((s) => document.activeElement.matches(s), `${row} button.link`),
    `Escape: the focus back on the row: ${await page.evaluate(() => document.activeElement.outerHTML.slice(0, 80))}`);

  // Space on a timeline entry opens it (and does not scroll); Escape returns to the entry.
  const tlEntry = `.tl-entry[data-session="${want.session}"]`;
  await page.focus(tlEntry);
  await ring(page, 'a timeline entry');
  await page.keyboard.press('Space');
  await page.waitForSelector('#detail:not([hidden])');
  check((await page.textContent('#dt-title')).includes(want.person), 'Space opened the entry\'s session');
  await page.keyboard.press('Escape');
  check(await page.evaluate((s) => document.activeElement.matches(s), tlEntry), 'Escape: the focus back on the entry');

  // The address restores the view: the same filters, the same rows.
  await page.reload();
  await settled(page, 1);
  same(await page.inputValue('#f-user'), want.person, 'user filter restored on load');
  same(await page.$$eval('#recordings tbody tr', (rs) => rs.length), rows, 'the same rows after a reload');
  // Reopen for the screenshots at both widths.
  await tabTo(page, `${row} button.link`);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#dt-history .badge'));
  for (const width of [1400, 800]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300); // the timeline redraws after a resize
    const clipped = await page.evaluate(clippedElements);
    same(clipped, [], `nothing wider than its box at ${width} px`);
    await page.screenshot({ path: shots(String(width)), fullPage: true });
    await axe(page, `${width} px`);
  }
  // A hostile user name in the queue stays text: no element is made from it, no script runs.
  same(await page.$$eval('img, iframe, object, embed', (xs) => xs.length), 0, 'no element made from a value');
  same(await page.evaluate(() => window.__pwned), undefined, 'no injected script ran');
  same(events, [], 'console errors, page errors, dialogs');
} catch (e) {
  caught(e);
} finally {
  await browser.close();
}

finish('reviewer', `axe: ${axeReport.join('; ')}; screenshots ${shots('*')}`);

// Presses Tab (at most 200 times) until `selector` has the focus.
async function tabTo(page, selector) {
  for (let i = 0; i < 200; i += 1) {
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), selector)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Tab never reached ${selector}`);
}

// The focused element's ring: drawn, at least 2 px, and at least 3:1 against white and each
// background of the page (WCAG 2.2 1.4.11), from computed styles.
async function ring(page, what) {
  const r = await page.evaluate(() => {
    const rgb = (c) => (c.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => [r, g, b].map((v) => v / 255)
      .map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4))
      .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
    const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
    const a = document.activeElement;
    const st = getComputedStyle(a);
    const bgs = new Set(['rgb(255, 255, 255)']);
    for (const e of [document.body, ...document.querySelectorAll('.card, th, tbody tr, .confirm, .note')]) {
      const c = getComputedStyle(e).backgroundColor;
      if (rgb(c).length === 3 || rgb(c)[3] === 1) bgs.add(c);
    }
    const color = rgb(st.outlineColor);
    return { el: a.id || a.className, style: st.outlineStyle, width: parseFloat(st.outlineWidth), color: st.outlineColor,
      worst: Math.min(...[...bgs].map((b) => ratio(color, rgb(b)))), bgs: [...bgs] };
  });
  check(r.style !== 'none' && r.width >= 2 && r.worst >= 3,
    `focus ring on ${what}: ${JSON.stringify(r)}`);
}
