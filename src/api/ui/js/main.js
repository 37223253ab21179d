// main.js — the form: defaults (today, UTC), deep links (the page's own query parameters prefill
// it, and every search writes its filters back into the address, so a view can be bookmarked or
// shared), searches (stale answers are dropped), and the page state the browser test waits for:
// body[data-state] is loading/ready/error, body[data-search] counts searches.
const FIELDS = ['user', 'bastion', 'vm', 'ip', 'protocol', 'status', 'session', 'authorization'];
// What each API is sent: `status` is the recordings' (catalogued/deleted), `session` the
// sessions' (recorded/unrecorded/failed-login, sent as their `status`); `authorization` (the
// verdict) narrows the sessions only. The APIs refuse unknown
// parameters, so the unit tests check these lists against their parsers.
const RECORDING_PARAMS = ['from', 'to', 'user', 'bastion', 'vm', 'ip', 'protocol', 'status'];
const SESSION_PARAMS = ['from', 'to', 'user', 'bastion', 'vm', 'ip', 'protocol', 'authorization'];
const SESSION_KINDS = { recorded: 'recorded', unrecorded: 'unrecorded', 'failed-login': 'failed' };
const form = document.getElementById('filters');
const statusLine = document.getElementById('status');
let generation = 0;

function setState(state, message, isError) {
  document.body.dataset.state = state;
  statusLine.textContent = message;
  statusLine.classList.toggle('error', Boolean(isError));
}

function field(name) {
  return form.elements.namedItem(name);
}

function setDefaults() {
  const midnight = Math.floor(Date.now() / DAY) * DAY;
  field('from').value = msToLocal(midnight);
  field('to').value = msToLocal(midnight + DAY);
  for (const name of FIELDS) field(name).value = '';
}

function prefill() {
  setDefaults();
  for (const name of ['from', 'to']) {
    const v = pageParams.get(name);
    if (v && !Number.isNaN(Date.parse(v))) field(name).value = msToLocal(Date.parse(v));
  }
  for (const name of FIELDS) {
    const v = pageParams.get(name);
    if (v === null) continue;
    const input = field(name);
    if (input instanceof HTMLSelectElement && ![...input.options].some((o) => o.value === v)) {
      input.append(new Option(v, v));
    }
    input.value = v;
  }
}

// The query of the form, or an error message.
function readForm() {
  const from = localToIso(field('from').value);
  const to = localToIso(field('to').value);
  if (!from || !to) return { error: 'Enter both ends of the time range as dates in UTC, e.g. 2026-11-29 06:05.' };
  if (Date.parse(to) <= Date.parse(from)) return { error: '"To" must be after "From".' };
  const query = { from, to };
  for (const name of FIELDS) {
    const v = field(name).value.trim();
    if (v) query[name] = v;
  }
  // Hosts are matched by name; a pasted resource id is reduced to it.
  if (query.bastion) query.bastion = hostName(query.bastion);
  return { query };
}

// The address of this view: the page's own parameters (`code`, `limit`) and the search's filters.
function writeUrl(query) {
  const q = new URLSearchParams();
  for (const keep of ['code', 'limit']) {
    const v = pageParams.get(keep);
    if (v !== null) q.set(keep, v);
  }
  for (const [k, v] of Object.entries(query)) q.set(k, v);
  const next = `${window.location.pathname}?${q.toString()}`;
  if (next !== window.location.pathname + window.location.search) window.history.replaceState(null, '', next);
}

function recordingQuery(query) {
  return pick(query, RECORDING_PARAMS);
}

function pick(query, names) {
  return Object.fromEntries(Object.entries(query).filter(([k]) => names.includes(k)));
}

// The timeline: every session of the range (bounded by TIMELINE_MAX_PAGES).
async function loadTimeline(query) {
  const sessionQuery = pick(query, SESSION_PARAMS);
  if (query.session) sessionQuery.status = query.session;
  const found = await getAll('sessions', sessionQuery);
  // The API's `status` is the item's `kind`; keep only the chosen kind (as a guard).
  const only = SESSION_KINDS[query.session];
  const note = document.getElementById('tl-note');
  note.hidden = !found.truncated;
  note.textContent = found.truncated
    ? `Only the first ${TIMELINE_MAX_PAGES * TIMELINE_PAGE} sessions of this range are shown; narrow the filters.`
    : '';
  return entriesFromSessions(found.items).filter((e) => !only || e.kind === only);
}

async function search() {
  const { query, error } = readForm();
  if (error) {
    setState('error', error, true);
    return;
  }
  writeUrl(query);
  generation += 1;
  const mine = generation;
  document.body.dataset.search = String(mine);
  setState('loading', 'Loading…', false);
  const button = document.getElementById('f-search');
  button.disabled = true;
  try {
    const [rows, entries] = await Promise.all([
      loadRecordings(recordingQuery(query), false, () => mine === generation),
      loadTimeline(query),
      loadPeriodReviews(),
    ]);
    if (mine !== generation) return;
    renderTimeline(entries, Date.parse(query.from), Date.parse(query.to));
    renderSessions(entries.map((e) => e.session));
    const range = `${fmtTime(Date.parse(query.from)).slice(0, 16)} – ${fmtTime(Date.parse(query.to)).slice(0, 16)} UTC`;
    const hosts = new Set(entries.map((e) => e.host)).size;
    setState('ready', `${range}: ${entries.length} session${entries.length === 1 ? '' : 's'} on the `
      + `timeline (${hosts} Bastion host${hosts === 1 ? '' : 's'}), `
      + `${rows} recording${rows === 1 ? '' : 's'} on the first page.`, false);
  } catch (e) {
    if (mine === generation) setState('error', `Search failed — ${e.message}`, true);
  } finally {
    if (mine === generation) button.disabled = false;
  }
}

// The lists again after a sign-off (their review columns changed), keeping the form as it is.
function refreshLists() {
  return search();
}

async function more() {
  const button = document.getElementById('more');
  const mine = generation;
  button.disabled = true;
  setState('loading', 'Loading more…', false);
  try {
    const n = await loadRecordings(null, true, () => mine === generation);
    if (mine === generation) setState('ready', `${n} more recording${n === 1 ? '' : 's'} loaded.`, false);
  } catch (e) {
    if (mine === generation) setState('error', `Loading more failed — ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  search();
});
document.getElementById('f-reset').addEventListener('click', () => {
  setDefaults();
  search();
});
document.getElementById('more').addEventListener('click', more);
prefill();
search();
loadEstate();
