// timeline.js — sessions per VM over the chosen range, VMs grouped under their Bastion host:
// recorded sessions (solid), unrecorded sessions (hatched) and failed logins (diamonds). Kinds
// differ in colour, pattern and shape, and each entry carries its text (title + aria-label); each
// lane states its counts in words. A lane is one VM of one host: two hubs may both have a VM of
// the same name, and those are different machines.
const KINDS = {
  recorded: 'Recorded session',
  unrecorded: 'Unrecorded session',
  failed: 'Failed login',
};
const LANE_ROW = 24;
const MINUTE = 60e3;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const STEPS = [5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR,
  6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY];

// Timeline entries from `GET /api/sessions` items (docs/catalogue.md): the kind is the item's
// `kind`, the one the API's `status` filter and the evidence pack count (a failed login is a
// failed entry whatever else it has).
const KIND_OF = { recorded: 'recorded', unrecorded: 'unrecorded', 'failed-login': 'failed' };
function entriesFromSessions(items) {
  return items.map((s) => {
    const start = parseTime(s.start);
    let end = parseTime(s.end);
    const duration = s.durationMs === null || s.durationMs === undefined ? NaN : Number(s.durationMs);
    if (!Number.isFinite(end) && Number.isFinite(duration)) end = start + duration;
    const kind = KIND_OF[s.kind] || 'unrecorded';
    return {
      kind, vm: vmName(s.targetVm, s.targetResourceId), start, end, recordingId: str(s.recordingId),
      host: hostName(s.bastionHost).toLowerCase(),
      open: kind !== 'failed' && !Number.isFinite(end),
      user: personOf(s).person || personOf(s).account, who: personText(s), ip: str(s.clientIp), protocol: str(s.protocol),
      review: str(s.reviewVerdict) ? `reviewed ${str(s.reviewVerdict)} by ${isoText(s.reviewer)}` : '',
      custody: s.recordingReplaced === true ? 'recording replaced' : str(s.matchConfidence),
      session: { ...s, targetVm: vmName(s.targetVm, s.targetResourceId) },
    };
  }).filter((e) => Number.isFinite(e.start));
}

// The smallest step giving at most `max` ticks (labels need ~110 px each).
function pickStep(span, max) {
  return STEPS.find((s) => span / s <= max) || STEPS[STEPS.length - 1];
}

function describe(e) {
  const parts = [`${KINDS[e.kind]}: ${e.who}`];
  if (e.protocol) parts.push(isoText(e.protocol.toUpperCase()));
  if (e.ip) parts.push(`from ${isoText(e.ip)}`);
  const when = e.kind === 'failed' ? fmtTime(e.start)
    : `${fmtTime(e.start)} – ${e.open ? 'end not logged yet' : fmtTime(e.end)}`;
  parts.push(`${when} UTC`);
  if (e.custody) parts.push(e.custody);
  if (e.review) parts.push(e.review);
  return parts.join(' · ');
}

// Greedy interval packing: each entry goes to the first sub-row that is free at its start.
function pack(entries, minSpan) {
  const rowsEnd = [];
  for (const e of [...entries].sort((a, b) => a.start - b.start)) {
    const end = Math.max(e.kind === 'failed' ? e.start : e.end, e.start) + minSpan;
    let row = rowsEnd.findIndex((t) => t <= e.start);
    if (row < 0) {
      row = rowsEnd.length;
      rowsEnd.push(end);
    } else {
      rowsEnd[row] = end;
    }
    e.row = row;
  }
  return Math.max(rowsEnd.length, 1);
}

function ticks(from, to, width) {
  const step = pickStep(to - from, Math.max(2, Math.min(10, Math.floor(width / 110))));
  const out = [];
  for (let t = Math.ceil(from / step) * step; t < to; t += step) out.push(t);
  return { step, out };
}

// The first tick and midnights carry the day; the others only the time of day.
function tickLabel(t, step, first) {
  if (step >= DAY) return fmtDay(t);
  return first || t % DAY === 0 ? `${fmtDay(t)} ${fmtClock(t)}` : fmtClock(t);
}

// Entries → hosts (by name; no host last) → VM lanes (by name): [{ host, lanes: [[vm, list]] }].
function laneGroups(entries) {
  const hosts = new Map();
  for (const e of entries) {
    if (!hosts.has(e.host)) hosts.set(e.host, new Map());
    const lanes = hosts.get(e.host);
    const vm = e.vm || 'VM unknown';
    if (!lanes.has(vm)) lanes.set(vm, []);
    lanes.get(vm).push(e);
  }
  const byName = (a, b) => a.localeCompare(b);
  const names = [...hosts.keys()].sort((a, b) => (a === '') - (b === '') || byName(a, b));
  return names.map((host) => ({
    host,
    lanes: [...hosts.get(host).entries()].sort(([a], [b]) => byName(a, b)),
  }));
}

function laneSummary(list) {
  const n = (k) => list.filter((e) => e.kind === k).length;
  return [['recorded', 'recorded'], ['unrecorded', 'unrecorded'], ['failed', 'failed']]
    .filter(([k]) => n(k) > 0).map(([k, word]) => `${n(k)} ${word}`).join(' · ');
}

// The last drawing's input, redrawn when the width changes (tick density follows the width).
let lastTimeline = null;
let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => lastTimeline && renderTimeline(...lastTimeline), 100);
});

// The span the sessions occupy, padded, inside [from, to]: where the timeline zooms to (a
// one-hour session in a whole day would be a sliver). Null when zooming would barely change it.
function dataSpan(entries, from, to) {
  if (!entries.length) return null;
  const now = Date.now();
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of entries) {
    lo = Math.min(lo, e.start);
    const end = e.kind === 'failed' ? e.start : (Number.isFinite(e.end) ? e.end : Math.min(now, to));
    hi = Math.max(hi, end, e.start);
  }
  const pad = Math.max((hi - lo) * 0.08, 10 * MINUTE);
  const zf = Math.max(from, lo - pad);
  const zt = Math.min(to, hi + pad);
  return zt - zf < (to - from) * 0.8 ? [zf, zt] : null;
}

// Whole range (true) or zoomed to the data (false, the default).
let wholeRange = false;
document.getElementById('tl-zoom-toggle').addEventListener('click', () => {
  wholeRange = !wholeRange;
  if (lastTimeline) renderTimeline(...lastTimeline);
});

function renderTimeline(entries, rangeFrom, rangeTo) {
  lastTimeline = [entries, rangeFrom, rangeTo];
  const zoom = dataSpan(entries, rangeFrom, rangeTo);
  const zoomNote = document.getElementById('tl-zoom');
  zoomNote.hidden = !zoom;
  const [from, to] = zoom && !wholeRange ? zoom : [rangeFrom, rangeTo];
  if (zoom) {
    const span = (a, b) => `${fmtTime(a).slice(0, 16)} – ${fmtTime(b).slice(0, 16)} UTC`;
    document.getElementById('tl-zoom-text').textContent = wholeRange
      ? `Showing the whole range; the sessions lie within ${span(zoom[0], zoom[1])}.`
      : `Zoomed to the sessions: ${span(zoom[0], zoom[1])} (the range is ${span(rangeFrom, rangeTo)}).`;
    document.getElementById('tl-zoom-toggle').textContent = wholeRange ? 'Zoom to the sessions' : 'Show the whole range';
  }
  const root = document.getElementById('timeline');
  root.replaceChildren();
  for (const k of Object.keys(KINDS)) {
    document.getElementById(`n-${k}`).textContent = `(${entries.filter((e) => e.kind === k).length})`;
  }
  if (!entries.length) {
    root.append(el('p', 'empty', 'No sessions in this range.'));
    return;
  }
  const span = to - from;
  const pct = (t) => ((Math.min(Math.max(t, from), to) - from) / span) * 100;
  const labelWidth = Number.parseFloat(getComputedStyle(root).getPropertyValue('--label')) || 190;
  const { step, out } = ticks(from, to, root.clientWidth - labelWidth);
  const axis = el('div', 'tl-axis');
  axis.setAttribute('aria-hidden', 'true');
  const axisTrack = el('div', 'tl-track');
  axis.append(el('div', 'tl-label'), axisTrack);
  out.forEach((t, i) => {
    if (pct(t) > 96) return; // a centred label there would overflow the card
    const tick = el('span', 'tl-tick', tickLabel(t, step, i === 0));
    tick.style.left = `${pct(t)}%`;
    axisTrack.append(tick);
  });
  root.append(axis);
  const g = { from, to, span, pct, out };
  laneGroups(entries).forEach(({ host, lanes }, i) => root.append(group(host, lanes, g, i)));
  fitLabels(root);
}

// A bar shows as much of its person as fits: the whole name, else its part before `@`, else
// nothing (the bar's title and aria-label carry it all). Never a clipped "az…".
function fitLabels(root) {
  for (const bar of root.querySelectorAll('.tl-entry[data-label]')) {
    const full = bar.dataset.label;
    for (const text of [full, full.split('@')[0], '']) {
      bar.textContent = text;
      if (bar.scrollWidth <= bar.clientWidth + 1) break;
    }
  }
}

// One host: a heading (its name, VM and session counts) over its VM lanes.
function group(host, lanes, g, index) {
  const box = el('div', `tl-group${host ? '' : ' unknown'}`);
  box.dataset.host = host;
  box.setAttribute('role', 'group');
  const head = el('div', 'tl-host');
  const title = el('h3');
  title.id = `tl-host-${index}`;
  title.append(el('span', 'kicker', 'Bastion'), el('span', 'name', host || UNKNOWN_HOST));
  const sessions = lanes.reduce((n, [, list]) => n + list.length, 0);
  const sum = `${lanes.length} VM${lanes.length === 1 ? '' : 's'} · `
    + `${sessions} session${sessions === 1 ? '' : 's'}`;
  head.append(title, el('span', 'sum', sum));
  box.setAttribute('aria-labelledby', title.id);
  box.append(head);
  for (const [vm, list] of lanes) box.append(lane(vm, host, list, g));
  return box;
}

function lane(vm, host, list, g) {
  const row = el('div', 'tl-row');
  row.dataset.vm = vm;
  row.dataset.host = host;
  const label = el('div', 'tl-label');
  label.append(el('span', 'vm', vm), el('span', 'sum', laneSummary(list)));
  const where = `${isoText(vm)} (${host ? isoText(host) : UNKNOWN_HOST})`;
  label.firstChild.title = where;
  const track = el('div', 'tl-track');
  track.setAttribute('role', 'list');
  track.setAttribute('aria-label', `Sessions on ${where}`);
  const rows = pack(list, g.span * 0.012);
  track.style.height = `${rows * LANE_ROW}px`;
  for (const t of g.out) {
    const line = el('span', 'tl-grid');
    line.style.left = `${g.pct(t)}%`;
    track.append(line);
  }
  const now = Date.now();
  if (now > g.from && now < g.to) {
    const line = el('span', 'tl-now');
    line.style.left = `${g.pct(now)}%`;
    track.append(line);
  }
  for (const e of list) track.append(entry(e, g));
  row.append(label, track);
  return row;
}

function entry(e, g) {
  const node = el('div', `tl-entry kind-${e.kind}${e.open ? ' open' : ''}`);
  const text = describe(e);
  node.dataset.kind = e.kind;
  node.dataset.session = str(e.session && e.session.sessionId);
  node.tabIndex = 0;
  node.title = text;
  node.setAttribute('role', 'listitem');
  node.setAttribute('aria-label', text);
  node.style.left = `${g.pct(e.start)}%`;
  node.style.top = `${e.row * LANE_ROW + 2}px`;
  if (e.recordingId) node.classList.add('linked');
  node.setAttribute('aria-label', `${text} · Enter or Space opens the session`);
  const open = () => {
    if (e.recordingId) showRecording(e.recordingId, false);
    openSession(e.session, node);
  };
  node.addEventListener('click', open);
  // Enter or Space, as on a button (Space would otherwise scroll the page).
  node.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Enter' && ev.key !== ' ') return;
    ev.preventDefault();
    open();
  });
  if (e.kind !== 'failed') {
    const end = e.open || !Number.isFinite(e.end) ? Math.min(Date.now(), g.to) : e.end;
    node.style.width = `${Math.max(g.pct(end) - g.pct(e.start), 0)}%`;
    node.dataset.label = visible(e.user || KINDS[e.kind]);
  }
  return node;
}
