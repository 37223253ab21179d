// main.js — the form: defaults (today, UTC), deep links (the page's own query parameters prefill
// it), searches (stale answers are dropped), and the page state the browser test waits for:
// body[data-state] is loading/ready/error, body[data-search] counts searches.
const FIELDS = ['user', 'vm', 'ip', 'protocol', 'status'];
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
  if (!from || !to) return { error: 'Enter both ends of the time range.' };
  if (Date.parse(to) <= Date.parse(from)) return { error: '"To" must be after "From".' };
  const query = { from, to };
  for (const name of FIELDS) {
    const v = field(name).value.trim();
    if (v) query[name] = v;
  }
  return { query };
}

// The timeline: sessions when the API has them, else the recordings as a labelled placeholder.
async function loadTimeline(query) {
  const { items, truncated } = await getAll('recordings', query);
  const note = document.getElementById('tl-note');
  note.hidden = false;
  note.textContent = 'Placeholder: this timeline shows recorded sessions only, from the recordings '
    + 'catalogue; unrecorded sessions and failed logins appear once the sessions API is available.'
    + (truncated ? ' Only the first pages of the range are shown.' : '');
  return entriesFromRecordings(items);
}

async function search() {
  const { query, error } = readForm();
  if (error) {
    setState('error', error, true);
    return;
  }
  generation += 1;
  const mine = generation;
  document.body.dataset.search = String(mine);
  setState('loading', 'Loading…', false);
  const button = document.getElementById('f-search');
  button.disabled = true;
  try {
    const [rows, entries] = await Promise.all([loadRecordings(query, false), loadTimeline(query)]);
    if (mine !== generation) return;
    renderTimeline(entries, Date.parse(query.from), Date.parse(query.to));
    setState('ready', `${rows} recording${rows === 1 ? '' : 's'} on the first page; `
      + `${entries.length} timeline entr${entries.length === 1 ? 'y' : 'ies'}.`, false);
  } catch (e) {
    if (mine === generation) setState('error', `Search failed — ${e.message}`, true);
  } finally {
    if (mine === generation) button.disabled = false;
  }
}

async function more() {
  const button = document.getElementById('more');
  const mine = generation;
  button.disabled = true;
  setState('loading', 'Loading more…', false);
  try {
    const n = await loadRecordings(null, true);
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
