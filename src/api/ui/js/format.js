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

// `datetime-local` value (taken as UTC) ↔ RFC 3339.
function localToIso(value) {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value)) return null;
  return (value.length === 16 ? `${value}:00` : value) + 'Z';
}

function msToLocal(ms) {
  return new Date(ms).toISOString().slice(0, 16);
}

// The person of a session first: the Entra sign-in the audit record carries (`userEmail`), else
// the VM account (`userName`); `account` is the VM account when it differs from the person.
function personOf(item) {
  const email = str(item && item.userEmail).trim();
  const name = str(item && item.userName).trim();
  const person = email || name;
  return { person, account: email && name && name.toLowerCase() !== email.toLowerCase() ? name : '' };
}

// "person (VM account x)" for attribute text and status lines; each value isolated.
function personText(item) {
  const { person, account } = personOf(item);
  if (!person) return 'unknown user';
  return account ? `${isoText(person)} (VM account ${isoText(account)})` : isoText(person);
}

// A node: the person, then the VM account beside it in a muted span.
function personNode(tag, className, item) {
  const { person, account } = personOf(item);
  const node = el(tag, className);
  node.append(bdi(person || 'unknown user', 'person'));
  if (account) node.append(' ', line('span', 'account', ['VM account ', [account]]));
  return node;
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
