// What every browser check here shares: Debian's chromium through playwright-core (the sandbox
// off only as root, where Chromium refuses it: CI containers run as root), a failure list that
// keeps every failed check so one run reports them all, the wait for a search, axe-core and the
// width check.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

export const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
});

// A page of `size` whose console errors, page errors and dialogs (a script that ran) go to `events`.
export const watchedPage = async (browser, size, events) => {
  const page = await browser.newPage({ viewport: size });
  page.on('console', (m) => m.type() === 'error' && events.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => events.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    events.push(`dialog opened (script ran): ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return page;
};

export const checker = () => {
  const failures = [];
  const check = (ok, what) => {
    if (!ok) failures.push(what);
  };
  const same = (got, exp, what) => check(JSON.stringify(got) === JSON.stringify(exp),
    `${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(exp)}`);
  // An exception ends the page's checks but is reported beside the failures found before it.
  const caught = (e) => failures.push(`exception: ${e && e.stack ? e.stack : e}`);
  // Every failure on a line of its own and exit 1; else `<label>: ok (<detail>)`.
  const finish = (label, detail) => {
    if (failures.length) {
      for (const f of failures) console.log(`FAIL ${f}`);
      console.log(`${label}: ${failures.length} failed`);
      process.exit(1);
    }
    console.log(`${label}: ok (${detail})`);
  };
  return { failures, check, same, caught, finish };
};

// `node <script> <base-url> <expect.json> <screenshot.png>`: the three arguments and the parsed
// expectations, or the usage and exit 2.
export const pageArgs = (script) => {
  const [base, expectPath, shot] = process.argv.slice(2);
  if (!base || !expectPath || !shot) {
    console.error(`usage: node ${script} <base-url> <expect.json> <screenshot.png>`);
    process.exit(2);
  }
  return { base, shot, want: JSON.parse(readFileSync(expectPath, 'utf8')) };
};

// Waits until search number `k` of the page has finished; returns its state (ready/error).
export async function settled(page, k) {
  await page.waitForFunction((n) => Number(document.body.dataset.search) >= n
    && ['ready', 'error'].includes(document.body.dataset.state), k, { timeout: 20000 });
  return page.evaluate(() => document.body.dataset.state);
}

// axe-core in the page (evaluated through the DevTools protocol, beside the page's CSP): every
// serious or critical violation is a failure (`check`); the counts per impact go to `report`.
export const axeChecker = (check) => {
  const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const report = [];
  const axe = async (page, state) => {
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE);
    const found = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations', 'passes'] });
      return { passes: r.passes.length, violations: r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')).slice(0, 5) })) };
    });
    check(found.passes > 0, `axe (${state}) ran no rule`);
    const bad = found.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of bad) check(false, `axe (${state}): ${v.impact} ${v.id} at ${v.nodes.join(', ')}`);
    const minor = found.violations.filter((v) => !bad.includes(v)).map((v) => `${v.impact} ${v.id}`);
    report.push(`${state}: ${found.passes} rules passed, ${bad.length} serious/critical${minor.length ? `, ${minor.join(', ')}` : ''}`);
  };
  return { axe, report };
};

// Every rendered element whose content is wider than its box (a scroll container included), and
// the page itself wider than the window; visually hidden elements (1 px) aside. Run in the page.
export function clippedElements() {
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth) {
    out.push(`page: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
  }
  for (const e of document.querySelectorAll('body *')) {
    if (!e.getClientRects().length || e.clientWidth <= 1) continue;
    if (e.scrollWidth > e.clientWidth + 1) {
      out.push(`${e.tagName.toLowerCase()}#${e.id}.${[...e.classList].join('.')}: ${e.scrollWidth} > ${e.clientWidth} "${e.textContent.slice(0, 40)}"`);
    }
  }
  return out;
}
