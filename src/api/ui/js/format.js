// format.js — DOM and text helpers. Every value from the API reaches the page through
// `textContent` (el/text below), never as markup. Directional controls in a value (embeddings,
// overrides, isolates: U+202A–U+202E, U+2066–U+2069) are shown as their code point (`[U+202E]`)
// and never act; a value set beside other text is isolated from it: its own <bdi> element (bdi),
// or, in an attribute, wrapped in U+2068 FIRST STRONG ISOLATE … U+2069 (isoText).
const BIDI_CONTROLS = /[\u202A-\u202E\u2066-\u2069]/g;

function visible(v) {
  return String(v).replace(BIDI_CONTROLS, (c) => `[U+${c.charCodeAt(0).toString(16).toUpperCase()}]`);
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null && text !== '') node.textContent = visible(text);
  return node;
}

// An outside value as its own isolated element.
function bdi(value, className) {
  return el('bdi', className, value);
}

// An outside value inside attribute text (a title, an aria-label): isolated, controls shown.
function isoText(value) {
  const v = str(value);
  return v ? `\u2068${visible(v)}\u2069` : '';
}

// A node of text pieces and isolated values: strings are the page's own words, arrays hold one
// outside value each ([value]).
function line(tag, className, pieces) {
  const node = el(tag, className);
  for (const p of pieces) node.append(Array.isArray(p) ? bdi(p[0]) : String(p));
  return node;
}

function str(v) {
  return typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v);
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

// A time from the API (RFC 3339) → epoch ms, or NaN.
function parseTime(v) {
  return typeof v === 'string' && v ? Date.parse(v) : NaN;
}

function fmtTime(ms) {
  if (!Number.isFinite(ms)) return '';
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} `
    + `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

function fmtClock(ms) {
  const d = new Date(ms);
  return `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
}

function fmtDay(ms) {
  const d = new Date(ms);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]}`;
}

function fmtDuration(ms) {
  if (!Number.isFinite(ms) || ms < 0) return '';
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (h > 0) return `${h} h ${pad2(m)} min`;
  if (m > 0) return `${m} min ${pad2(s % 60)} s`;
  return `${s} s`;
}

function fmtBytes(n) {
  const v = Number(n);
  if (!Number.isFinite(v) || v < 0) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let x = v;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i += 1;
  }
  return i === 0 ? `${v} B` : `${x.toFixed(1)} ${units[i]}`;
}

// The VM's display name: its name, else the last segment of its resource id.
function vmName(name, resourceId) {
  const n = str(name);
  if (n) return n;
  const id = str(resourceId);
  return id ? id.split('/').filter(Boolean).pop() || id : '';
}

// How the page names a missing Bastion host.
const UNKNOWN_HOST = 'unknown host';

// A Bastion host's name: as given, or the segment after `bastionHosts/` of a resource id (the
// API and the sessions name hosts by name; a pasted resource id is reduced to it).
function hostName(value) {
  const v = str(value).trim();
  if (!v.includes('/')) return v;
  const parts = v.split('/').filter(Boolean);
  const i = parts.findIndex((p) => p.toLowerCase() === 'bastionhosts');
  return i >= 0 && i + 1 < parts.length ? parts[i + 1] : v;
}

// A typed date field (UTC) → RFC 3339, or null: `2026-11-29 06:05` (the form's own), a `T` for the
// space, seconds, a date alone (midnight) and a trailing `Z` or `UTC` are taken too.
function localToIso(value) {
  const m = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2})(:\d{2})?)?\s*(?:Z|UTC)?$/i.exec(str(value).trim());
  if (!m) return null;
  const iso = `${m[1]}T${m[2] || '00:00'}${m[3] || ':00'}Z`;
  const ms = Date.parse(iso);
  // A day that does not exist (2026-02-30) is refused, not moved to another.
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 19) === iso.slice(0, 19) ? iso : null;
}

// The form's text of a time: ISO, to the minute, UTC (`2026-11-29 06:05`).
function msToLocal(ms) {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

// How the page names a session's person when the audit record carries no Entra sign-in.
const UNKNOWN_PERSON = 'unknown person';

// The person of a session first: the Entra sign-in the audit record carries (`userEmail`), else
// nobody known (the VM account is an account, not a person); `account` is the VM account when it
// differs from the person.
function personOf(item) {
  const email = str(item && item.userEmail).trim();
  const name = str(item && item.userName).trim();
  return { person: email, account: name && name.toLowerCase() !== email.toLowerCase() ? name : '' };
}

// "person (VM account x)" for attribute text and status lines; each value isolated.
function personText(item) {
  const { person, account } = personOf(item);
  const who = person ? isoText(person) : UNKNOWN_PERSON;
  return account ? `${who} (VM account ${isoText(account)})` : who;
}

// A node: the person (or "unknown person"), then the VM account beside it in a muted span.
function personNode(tag, className, item) {
  const { person, account } = personOf(item);
  const node = el(tag, className);
  node.append(person ? bdi(person, 'person') : el('span', 'person unknown', UNKNOWN_PERSON));
  if (account) node.append(' ', line('span', 'account', ['VM account ', [account]]));
  return node;
}

// The page's sentences for the review queue's reasons (the API keeps the slugs).
const SLUG_WORDS = {
  'failed-login-burst': 'part of, or right after, a burst of failed logins',
  'recording-replaced': 'its recording was overwritten outside the product',
  unrecorded: 'connected, ended and not recorded',
  'recording-ambiguous': 'a recording matched by time alone ties with another session',
  'other-door-open': 'another way into its VM was open',
  'open-estate-finding': 'its Bastion host has an open estate finding',
  'outside-working-hours': 'outside working hours',
  'first-to-vm-in-30-days': 'the user\u2019s first session to this VM in 30 days',
  'long-session': 'a long session',
  unauthorized: 'no authorization was found for it',
};

// A slug of the API (a review reason, a finding) as words: the page's sentence where it has one,
// else its hyphens as spaces (`outside-working-hours` → "outside working hours").
function words(slug) {
  const v = str(slug);
  return SLUG_WORDS[v] || v.replace(/:/g, ': ').replace(/[-_.]+/g, ' ').trim();
}

// What a review's duty check says when the review does not count as an independent one.
function identityNote(r) {
  switch (str(r.identityCheck)) {
    case 'self-review': return 'self-review: does not count';
    case 'unverified-identity': return 'unverified identity: not counted as independent';
    default: return '';
  }
}

// A review's verdict, reviewer and time ("ok · alice@contoso.com · 2025-03-14 09:05").
function reviewNode(verdict, reviewer, at) {
  const node = el('span', 'review-mark');
  if (!str(verdict)) {
    node.append(el('span', 'badge', 'not reviewed'));
    return node;
  }
  const kind = { ok: 'good', 'follow-up': 'warn', incident: 'bad' }[str(verdict)] || '';
  node.append(el('span', `badge ${kind}`.trim(), str(verdict)));
  node.append(el('span', 'sub', ''));
  node.lastChild.append(bdi(str(reviewer)), ` · ${fmtTime(parseTime(at)).slice(0, 16)}`);
  return node;
}
