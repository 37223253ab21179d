// What every browser check here shares: Debian's chromium through playwright-core (the sandbox
// off only as root, where Chromium refuses it: CI containers run as root), and a failure list that
// keeps every failed check so one run reports them all.
import { readFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const launch = () => chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: process.getuid && process.getuid() === 0 ? ['--no-sandbox'] : [],
});

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
