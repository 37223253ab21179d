// Browser test of the timeline page's estate strip and "live now" lane (GET /api/estate, GET
// /api/sessions/live) against a running handler: Debian's chromium driven by playwright-core.
// Checks the seeded host and its finding in the strip, the seeded live session in the lane, every
// hostile value (expect.json, written by the Rust e2e test `ui::estate`) as literal text with no
// element, link, dialog or console error made from it, and screenshots.
// Usage: node estate.mjs <base-url> <expect.json> <screenshot.png>
// Exit 0 and a last line `estate ui: ok …` when everything holds; exit 1 listing every failure.
import { checker, launch, pageArgs } from './browser.mjs';

const { base, shot, want } = pageArgs('estate.mjs');
const { check, same, caught, finish } = checker();

const browser = await launch();
const events = [];
const failed = [];
try {
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  page.on('console', (m) => m.type() === 'error' && events.push(`console error: ${m.text()}`));
  page.on('response', (r) => r.status() >= 400 && failed.push(`${r.status()} ${new URL(r.url()).pathname}`));
  page.on('pageerror', (e) => events.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    events.push(`dialog opened (script ran): ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  await page.addInitScript(() => {
    window.__violations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__violations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });

  const res = await page.goto(`${base}/api/ui?code=${encodeURIComponent(want.key)}`);
  same(res.status(), 200, 'page status');
  // The section shows once both calls answered; the lane is filled last.
  await page.waitForFunction(() => !document.getElementById('estate').hidden
    && document.querySelectorAll('#live-lane li').length > 0, null, { timeout: 20000 });
  await page.waitForFunction(() => ['ready', 'error'].includes(document.body.dataset.state), null,
    { timeout: 20000 }).catch(() => check(false, 'the page never settled'));

  const chips = (sel) => page.$$eval(`${sel} li`, (ls) => ls.map((l) => ({
    cls: l.className,
    title: l.querySelector('strong')?.textContent,
    what: l.querySelector('.what')?.textContent,
    children: [...l.children].map((c) => c.tagName),
  })));
  const strip = await chips('#estate-strip');
  same(strip.length, 1, 'one host in the strip');
  const host = strip[0] || {};
  same(host.title, want.host.name, 'strip host');
  // The finding in words (its slug's hyphens as spaces), as the page names it.
  const finding = want.host.finding.replace(/:/g, ': ').replace(/[-_.]+/g, ' ').trim();
  check((host.what || '').split(', ').includes(finding), `strip finding: ${JSON.stringify(host)}`);
  check((host.cls || '').split(' ').includes(`sev-${want.host.status}`), `strip severity: ${JSON.stringify(host)}`);

  const lane = await chips('#live-lane');
  same(lane.length, 1, 'one session in the live lane');
  const live = lane[0] || {};
  same(live.title, want.live.hostName, 'live host as text');
  check((live.what || '').startsWith(`${want.live.user} → ${want.live.vm} (`), `live user and VM as text: ${JSON.stringify(live)}`);
  same(live.children, ['STRONG', 'SPAN'], 'live chip elements (nothing made from data)');

  // Every hostile value is literal text of the section, and nothing was made from it.
  const text = await page.textContent('#estate');
  for (const v of want.hostile) check(text.includes(v), `hostile value not shown as text: ${v}`);
  const tags = await page.$$eval('#estate *', (es) => [...new Set(es.map((e) => e.tagName))].sort());
  same(tags.filter((t) => !['BDI', 'DIV', 'H2', 'H3', 'LI', 'SPAN', 'STRONG', 'UL'].includes(t)), [], 'unexpected elements in the estate section');
  same(await page.$$eval('img, iframe, object, embed', (es) => es.map((e) => e.outerHTML)), [], 'elements from data');
  // The page's own hash-pinned inline block is its one script.
  same(await page.$$eval('script', (es) => es.length), 1, 'script elements');
  same(await page.$$eval('a[href]', (as) => as.map((a) => a.getAttribute('href'))
    .filter((h) => /evil\.example|^\s*javascript:/i.test(h))), [], 'links from data');
  same(await page.$$eval('[onerror], [onclick], [onload]', (es) => es.length), 0, 'event handler attributes');
  same(await page.evaluate(() => window.__violations), [], 'CSP violations');

  await page.locator('#estate').scrollIntoViewIfNeeded();
  await page.screenshot({ path: shot, fullPage: true });
  same(events, [], 'console errors, page errors, dialogs');
  same(failed, [], 'failed responses');
} catch (e) {
  caught(e);
} finally {
  await browser.close();
}

finish('estate ui', `screenshot ${shot}`);
