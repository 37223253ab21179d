// Who allowed each session, on the timeline page (GET /api/ui): the sessions table's
// Authorization column shows each seeded session's verdict; the verdict filter narrows the table
// and the timeline to the sessions the API lists for it (and is written into the address); a
// session opened by keyboard shows its record (approver, ticket, justification, window,
// evidence, the VM sign-in's MFA; an `unknown`'s reasons) and its VM account's sharing (the
// persons, first and last use, the VM's Entra login), hostile values as literal text; `none` differs from the
// other verdicts by more than colour (a mark, a bold face, a border, a bar on its row). At 1,280,
// 1,400 and 800 px nothing is wider than its box, and axe-core finds no serious or critical
// violation, with the column filled, filtered, and a record open.
// Usage: node authorization.mjs <base-url> <expect.json> <screenshot.png>
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { axeChecker, checker, clippedElements, launch, pageArgs, settled, watchedPage } from './browser.mjs';

const { base, shot, want } = pageArgs('authorization.mjs');
const { check, same, caught, finish } = checker();
const { axe, report } = axeChecker(check);
const shots = (name) => shot.replace(/\.png$/, `-${name}.png`);

const browser = await launch();
const events = [];
try {
  const page = await watchedPage(browser, { width: 1400, height: 900 }, events);
  mkdirSync(path.dirname(shot), { recursive: true });
  const q = new URLSearchParams({ code: want.key, from: `${want.from}:00Z`, to: `${want.to}:00Z` });
  await page.goto(`${base}/api/ui?${q}`);
  same(await settled(page, 1), 'ready', 'the seeded range loads');

  // The column: each seeded session's verdict (a failed login has none to show).
  same(await verdicts(page), want.verdicts, 'the Authorization column');
  const headings = await page.$$eval('#sessions th', (ths) => ths.map((t) => t.textContent));
  check(headings.includes('Authorization'), `an Authorization column: ${headings}`);
  same(await page.textContent(`#sessions tr[data-session="${want.pim.session}"] td.authz .sub`), `ticket ${want.pim.ticket}`,
    'the ticket under the verdict');
  // `none` is not colour alone: its mark, face, border and row bar differ from a covered verdict's.
  const look = await page.evaluate(() => {
    const of = (v) => {
      const b = document.querySelector(`#sessions .badge[data-verdict="${v}"]`);
      const st = getComputedStyle(b);
      const row = getComputedStyle(b.closest('tr'));
      return { mark: b.querySelector('.mark').textContent, weight: Number(st.fontWeight), border: st.borderTopStyle,
        width: parseFloat(st.borderTopWidth), bar: row.boxShadow, text: b.textContent };
    };
    return { none: of('none'), pim: of('pim'), unknown: of('unknown') };
  });
  check(look.none.mark !== look.pim.mark && look.none.mark !== look.unknown.mark, `none has its own mark: ${JSON.stringify(look)}`);
  check(look.none.weight > look.pim.weight, `none is bolder: ${JSON.stringify(look)}`);
  check(look.none.border === 'solid' && look.none.width >= 2 && look.pim.border === 'none',
    `none has a border a covered verdict lacks: ${JSON.stringify(look)}`);
  check(look.none.bar.includes('inset') && look.pim.bar === 'none', `none's row has a bar: ${JSON.stringify(look)}`);
  check(/none/i.test(look.none.text), `none says so in words: ${look.none.text}`);
  await axe(page, 'column');
  for (const width of [1280, 1400, 800]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300);
    same(await page.evaluate(clippedElements), [], `column: nothing wider than its box at ${width} px`);
    await page.screenshot({ path: shots(`column-${width}`), fullPage: true });
    await axe(page, `column ${width} px`);
  }
  await page.setViewportSize({ width: 1400, height: 900 });

  // The filter: each verdict narrows the table and the timeline to what the API lists for it.
  for (const [verdict, sessions] of Object.entries(want.filters)) {
    const n = Number(await page.evaluate(() => document.body.dataset.search)) + 1;
    await page.selectOption('#f-authorization', verdict);
    await page.click('#f-search');
    same(await settled(page, n), 'ready', `filter ${verdict}`);
    same(Object.keys(await verdicts(page)).sort(), [...sessions].sort(), `filter ${verdict}: the table's sessions`);
    same((await page.$$eval('.tl-entry', (es) => es.map((e) => e.dataset.session))).sort(), [...sessions].sort(),
      `filter ${verdict}: the timeline's sessions`);
    same(new URL(page.url()).searchParams.get('authorization'), verdict, `filter ${verdict}: in the address`);
    if (verdict === 'none') await axe(page, 'filtered');
  }
  check(Object.keys(want.filters).length >= 3, 'several verdicts filtered');

  // The record, opened by keyboard from the table (every verdict shown again first).
  const n = Number(await page.evaluate(() => document.body.dataset.search)) + 1;
  await page.selectOption('#f-authorization', '');
  await page.click('#f-search');
  await settled(page, n);
  const open = async (session) => {
    const sel = `#sessions tr[data-session="${session}"] button.link`;
    await page.focus(sel);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#detail:not([hidden])');
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('dt-authz').textContent));
    return sel;
  };
  const sel = await open(want.pim.session);
  const record = await facts(page);
  same(record.Approver, want.pim.approver, 'the record: approver');
  same(record.Ticket, want.pim.ticket, 'the record: ticket');
  same(record.Justification, want.pim.justification, 'the record: the justification, literally');
  same(record.Evidence, want.pim.evidence.join('; '), 'the record: evidence ids');
  same(record['MFA (VM sign-in)'], want.pim.mfa, 'the record: the VM sign-in\'s MFA in words');
  for (const piece of want.pim.shared) {
    check((record['Shared account'] || '').includes(piece), `the shared account names ${piece}: ${record['Shared account']}`);
  }
  same(record['Entra ID login on the VM'], want.pim.entra, 'the shared account: its VM\'s Entra login');
  check((record.Verdict || '').startsWith('\u2713PIM'), `the record: the verdict in words: ${record.Verdict}`);
  check(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d – \d{4}-/.test(record['Window (UTC)'] || ''), `the record: its window: ${record['Window (UTC)']}`);
  same(await page.$$eval('#dt-authz img, #dt-authz b', (xs) => xs.length), 0, 'no markup from the record');
  same(await page.evaluate(() => window.__pwned === undefined), true, 'no script ran');
  await page.screenshot({ path: shots('record'), fullPage: true });
  await axe(page, 'record open');
  for (const width of [1280, 800]) {
    await page.setViewportSize({ width, height: 900 });
    await page.waitForTimeout(300);
    same(await page.evaluate(clippedElements), [], `record open: nothing wider than its box at ${width} px`);
  }
  await page.setViewportSize({ width: 1400, height: 900 });
  await page.keyboard.press('Escape');
  check(await page.evaluate((s) => document.activeElement.matches(s), sel), 'Escape: the focus back on the row');
  await open(want.unknown.session);
  const unknown = await facts(page);
  same(unknown['Not readable'], want.unknown.reasons.join('; '), 'an unknown\'s reasons');
  same([unknown['MFA (VM sign-in)'], unknown['Shared account']], [undefined, undefined],
    'no MFA without a VM sign-in, no shared account where one person used it');
  check((unknown.Verdict || '').includes('could not be read'), `unknown explained: ${unknown.Verdict}`);
  same(events, [], 'no console error, page error or dialog');
} catch (e) {
  caught(e);
} finally {
  await browser.close();
}

finish('authorization ui', `axe: ${report.join('; ')}; screenshots ${shots('*')}`);

// The table's rows: session id → the verdict it shows ('' for a failed login), by id.
async function verdicts(page) {
  const rows = await page.$$eval('#sessions tbody tr', (rs) => rs.map((r) => [r.dataset.session,
    r.querySelector('.badge.authz')?.dataset.verdict || '']));
  return Object.fromEntries(rows.sort(([a], [b]) => a.localeCompare(b)));
}

// The open view's authorization facts: label → text.
async function facts(page) {
  return page.$$eval('#dt-authz dt', (dts) => Object.fromEntries(dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent])));
}
