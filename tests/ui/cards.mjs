// The Teams cards the handler delivered, rendered by the Adaptive Cards renderer (npm
// `adaptivecards`) in Debian's chromium (playwright-core) the way Teams renders them: Teams'
// light-theme host config, markdown on (markdown-it with auto-linking), a card 726 px wide (Teams'
// widest). Checks per card: no parse or validation errors; nothing wider than its box (clipped);
// no link, emphasis, heading, list or code element (the card itself produces none, so any is
// injected by a value); each hostile value shown literally; text contrast ≥ 4.5:1 (WCAG AA);
// times formatted by Teams' DATE/TIME functions. One screenshot per type.
// Usage: node cards.mjs <cards.json> <screenshot-dir>
// cards.json: [{type, card, mustShow: [text…]}]. Exit 0 and a last line `cards: ok …`, else 1.
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { launch } from './browser.mjs';

const [cardsPath, shots] = process.argv.slice(2);
if (!cardsPath || !shots) {
  console.error('usage: node cards.mjs <cards.json> <screenshot-dir>');
  process.exit(2);
}
const cards = JSON.parse(readFileSync(cardsPath, 'utf8'));
const require = createRequire(import.meta.url);
const WIDTH = 726;
const fg = (d, s) => ({ default: d, subtle: s });
const colours = {
  default: fg('#ff252424', '#bf252424'), dark: fg('#252424', '#bf252424'),
  light: fg('#ffffff', '#fff3f2f1'), accent: fg('#6264a7', '#8b8cc7'), good: fg('#92c353', '#e592c353'),
  warning: fg('#f8d22a', '#e5f8d22a'), attention: fg('#c4314b', '#e5c4314b'),
};
// Teams' light theme: its colours, fonts and spacing.
const hostConfig = {
  supportsInteractivity: true,
  fontFamily: "'Segoe UI', Tahoma, Geneva, Verdana, sans-serif",
  fontSizes: { small: 12, default: 14, medium: 14, large: 18, extraLarge: 24 },
  fontWeights: { lighter: 200, default: 400, bolder: 600 },
  spacing: { small: 8, default: 12, medium: 16, large: 20, extraLarge: 24, padding: 16 },
  containerStyles: {
    default: { backgroundColor: '#ffffff', foregroundColors: colours },
    emphasis: { backgroundColor: '#fff9f8f7', foregroundColors: colours },
  },
  actions: { maxActions: 6, buttonSpacing: 8, actionsOrientation: 'Horizontal', actionAlignment: 'Left' },
};

const failures = [];
const browser = await launch();
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
  page.on('pageerror', (e) => failures.push(`page error: ${e.message}`));
  await page.setContent('<!doctype html><html><body style="margin:0;background:#fff"></body></html>');
  await page.addScriptTag({ path: require.resolve('markdown-it/dist/markdown-it.min.js') });
  await page.addScriptTag({ path: require.resolve('adaptivecards/dist/adaptivecards.min.js') });
  const results = await page.evaluate(({ cards, hostConfig, WIDTH }) => {
    const md = window.markdownit({ html: false, linkify: true, breaks: true });
    AdaptiveCards.AdaptiveCard.onProcessMarkdown = (text, result) => {
      result.outputHtml = md.render(text);
      result.didProcess = true;
    };
    const rendered = cards.map(({ type, card }, i) => {
      const box = document.createElement('div');
      box.id = `card-${i}`;
      box.style.cssText = `width:${WIDTH}px;margin:8px;border:1px solid #ddd`;
      document.body.append(box);
      const ac = new AdaptiveCards.AdaptiveCard();
      ac.hostConfig = new AdaptiveCards.HostConfig(hostConfig);
      const ctx = new AdaptiveCards.SerializationContext();
      ac.parse(card, ctx);
      const errors = [];
      for (let e = 0; e < ctx.eventCount; e++) errors.push(`parse: ${ctx.getEventAt(e).message}`);
      for (const e of ac.validateProperties().validationEvents) errors.push(`validate: ${e.message}`);
      const el = ac.render();
      if (el) box.append(el);
      else errors.push('render: nothing rendered');
      return { type, errors };
    });
    const lum = (c) => {
      const [r, g, b] = c.map((v) => {
        const s = v / 255;
        return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const rgb = (css) => {
      const [r, g, b, a = 1] = css.match(/[\d.]+/g).map(Number);
      // Blend over the card's white background, as the eye sees a translucent colour.
      return [r, g, b].map((v) => v * a + 255 * (1 - a));
    };
    return rendered.map(({ type, errors }, i) => {
      const box = document.getElementById(`card-${i}`);
      const root = box.firstElementChild;
      const clipped = [...box.querySelectorAll('*')]
        .filter((e) => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
        .map((e) => `${e.tagName}.${e.className}: ${e.scrollWidth} > ${e.clientWidth} "${e.textContent.slice(0, 60)}"`);
      const markup = [...box.querySelectorAll('a,strong,em,b,i,code,del,s,h1,h2,h3,h4,h5,h6,li,ul,ol,img,blockquote,pre,hr')]
        .map((e) => `<${e.tagName.toLowerCase()}> "${e.textContent.slice(0, 60)}"`);
      const contrast = [...box.querySelectorAll('.ac-textBlock')]
        .filter((e) => e.textContent.trim())
        .map((e) => {
          const [a, b] = [lum(rgb(getComputedStyle(e).color)), lum([255, 255, 255])];
          return { text: e.textContent.slice(0, 40), ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05) };
        })
        .filter((c) => c.ratio < 4.5)
        .map((c) => `${c.ratio.toFixed(2)}:1 "${c.text}"`);
      return {
        type, errors, clipped, markup, contrast,
        text: root ? root.innerText : '',
        width: root ? root.getBoundingClientRect().width : 0,
      };
    });
  }, { cards, hostConfig, WIDTH });
  mkdirSync(shots, { recursive: true });
  for (const [i, r] of results.entries()) {
    const where = `${r.type}:`;
    for (const e of r.errors) failures.push(`${where} ${e}`);
    for (const c of r.clipped) failures.push(`${where} clipped ${c}`);
    for (const m of r.markup) failures.push(`${where} markup from a value: ${m}`);
    for (const c of r.contrast) failures.push(`${where} contrast ${c}`);
    if (r.width > WIDTH) failures.push(`${where} ${r.width} px wide`);
    for (const s of cards[i].mustShow) {
      if (!r.text.includes(s)) failures.push(`${where} does not show ${JSON.stringify(s)} literally`);
    }
    if (/\{\{(DATE|TIME)\(|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/.test(r.text)) {
      failures.push(`${where} a raw time: ${r.text.match(/.*(\{\{|\dT\d).*/)[0]}`);
    }
    await page.locator(`#card-${i}`).screenshot({ path: path.join(shots, `${r.type}.png`) });
  }
  if (failures.length) {
    console.log(failures.join('\n'));
    process.exitCode = 1;
  } else {
    console.log(`cards: ok (${results.length} cards rendered at ${WIDTH} px, screenshots in ${shots})`);
  }
} finally {
  await browser.close();
}
