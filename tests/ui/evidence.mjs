// Browser test of the evidence pack's report.html: Debian's chromium driven by playwright-core
// opens the file, and the page must render its charts and tables with no console error, no page
// error, no script (no dialog), and no request but the file itself (self-contained); then a
// full-page screenshot is kept.
// Usage: node evidence.mjs <report.html> <screenshot.png>
// Exit 0 and a last line `evidence ui: ok …` when everything holds; exit 1 listing every failure.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { launch } from './browser.mjs';

const [report, shot] = process.argv.slice(2);
if (!report || !shot) {
  console.error('usage: node evidence.mjs <report.html> <screenshot.png>');
  process.exit(2);
}
const url = pathToFileURL(path.resolve(report)).href;
const failures = [];
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('console', (m) => m.type() === 'error' && failures.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  page.on('dialog', (d) => {
    failures.push(`dialog opened (script ran): ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  page.on('request', (r) => r.url() !== url && failures.push(`request beyond the file: ${r.url()}`));
  const res = await page.goto(url);
  if (!res || !res.ok()) failures.push('report did not load');
  const facts = await page.evaluate(() => ({
    title: document.querySelector('h1')?.textContent ?? '',
    svgs: document.querySelectorAll('figure svg').length,
    tables: document.querySelectorAll('table').length,
    scripts: document.querySelectorAll('script').length,
    drawn: [...document.querySelectorAll('figure svg')].every((s) => s.getBoundingClientRect().height > 50),
  }));
  if (facts.title !== 'Bastion session evidence') failures.push(`title: ${facts.title}`);
  if (facts.svgs < 2) failures.push(`charts: ${facts.svgs}`);
  if (!facts.drawn) failures.push('a chart has no height');
  if (facts.tables < 6) failures.push(`tables: ${facts.tables}`);
  if (facts.scripts !== 0) failures.push(`scripts in the page: ${facts.scripts}`);
  mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot, fullPage: true });
  if (failures.length) {
    console.error(failures.join('\n'));
    process.exitCode = 1;
  } else {
    console.log(`evidence ui: ok (${facts.svgs} charts, ${facts.tables} tables; screenshot ${shot})`);
  }
} finally {
  await browser.close();
}
