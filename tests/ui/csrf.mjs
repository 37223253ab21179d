// Cross-site request forgery in headless Chromium (run by the Rust e2e test `ui::csrf`): a browser
// signed in to the app (its session cookie SameSite=None, as a platform whose cookie attribute is
// not documented may set it) opens pages on another site and on another origin of the same site; each
// auto-submits a `<form enctype="text/plain" method=POST>` whose field spells JSON (hold, review,
// disconnect). Every one must be refused (the Rust side then checks that nothing happened). Then
// the app's own page: the review queue shows a user name holding a right-to-left override as an
// isolated value with the override shown as its code point (the entry reads user → VM, left to
// right), and the panel signs the session off.
// Usage: node csrf.mjs <app-url> <expect.json> <screenshot.png>
// Exit 0 and a last line `csrf ui: ok …` when everything holds; exit 1 listing every failure.
import { checker, launch, pageArgs } from './browser.mjs';

const { base, shot, want } = pageArgs('csrf.mjs');
const { check, same, caught, finish } = checker();

const browser = await launch();
const forged = [];
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  // Sign in: the stand-in sets its session cookie (SameSite=None; Secure).
  await page.goto(`${base}/.auth/login/aad`);
  const cookies = await context.cookies();
  check(cookies.some((c) => c.name === want.cookie && c.sameSite === 'None'), `signed in: ${JSON.stringify(cookies)}`);
  const events = [];
  page.on('pageerror', (e) => events.push(`page error: ${e.message}`));

  // The forged forms: each navigation ends on the app's answer.
  for (const origin of want.attackers) {
    for (const name of want.pages) {
      const answer = page.waitForResponse((r) => r.url().startsWith(base) && r.request().method() === 'POST',
        { timeout: 15000 });
      await page.goto(`${origin}/${name}.html`);
      const r = await answer;
      const headers = r.request().headers();
      forged.push({ origin, name, status: r.status(), type: headers['content-type'] || '' });
      await page.waitForLoadState('load').catch(() => {});
    }
  }
  same(forged.length, want.attackers.length * want.pages.length, 'forged requests sent');
  for (const f of forged) {
    check(f.type.startsWith('text/plain'), `the form was text/plain: ${JSON.stringify(f)}`);
    check(f.status === 403, `forged ${f.name} from ${f.origin} refused: ${JSON.stringify(f)}`);
  }

  // The app's own page: the queue, isolated values, a sign-off.
  const res = await page.goto(`${base}/api/ui`);
  same(res.status(), 200, 'the page behind the stand-in');
  await page.waitForSelector('#rv-queue[aria-busy="false"]');
  await page.waitForFunction(() => document.querySelectorAll('#rv-queue button.rv-item').length > 0,
    null, { timeout: 15000 });
  const bidi = await page.$$eval('#rv-queue .rv-who', (ws) => ws.map((w) => {
    const parts = [...w.querySelectorAll('bdi')];
    const box = (n) => n.getBoundingClientRect();
    return {
      text: w.textContent,
      bdis: parts.map((b) => b.textContent),
      // Left to right: the user's box ends before the VM's begins, or the VM is on a later line
      // (a VM account under "unknown person" is a line of its own).
      inOrder: parts.length >= 2 && (box(parts[0]).right <= box(parts[1]).left
        || box(parts[1]).top >= box(parts[0]).bottom - 1),
    };
  }));
  const entry = bidi.find((b) => b.text.includes('[U+202E]')) || {};
  check(entry.bdis && entry.bdis[0] === want.bidiUser.replace('\u202e', '[U+202E]'),
    `the user is its own isolated element with the override shown: ${JSON.stringify(bidi)}`);
  check(entry.inOrder === true, `user → VM reads left to right: ${JSON.stringify(entry)}`);
  same(await page.evaluate(() => document.body.innerText.includes('\u202e')), false, 'a raw override on the page');

  await page.locator('#rv-queue').screenshot({ path: shot.replace(/\.png$/, '-queue.png') });
  await page.click('#rv-queue button.rv-item');
  await page.waitForSelector('#detail:not([hidden])');
  await page.check('#rv-verdict-ok');
  await page.click('#rv-submit');
  await page.waitForFunction(() => !document.getElementById('dt-confirm').hidden
    || /failed/.test(document.getElementById('rv-status').textContent));
  const status = (await page.textContent('#dt-confirm')).replace(/[\u2068\u2069]/g, '');
  check(status.startsWith(`Signed off: ok by ${want.reviewer} at `),
    `the view signs off: ${status} ${await page.textContent('#rv-status')}`);
  await page.screenshot({ path: shot, fullPage: true });
  same(events, [], 'page errors');
} catch (e) {
  caught(e);
} finally {
  await browser.close();
}

finish('csrf ui', `${forged.length} forged requests refused, screenshot ${shot}`);
