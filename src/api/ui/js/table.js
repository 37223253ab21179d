// table.js — the recordings table: one row per catalogue row, paged with the API's continuation.
const BADGES = {
  catalogued: 'good', deleted: 'bad', exact: 'good', heuristic: 'warn', ambiguous: 'bad', awaiting: 'warn',
};

function badge(value, fallback) {
  const v = str(value);
  return el('span', `badge ${BADGES[v.toLowerCase()] || ''}`.trim(), v || fallback);
}

function cell(className, main, sub) {
  const td = el('td', className, main);
  if (sub) td.append(el('span', 'sub', sub));
  return td;
}

// The Bastion host (the joined session's, else the one the recording's source is tied to) over
// the storage account the recording is in.
function hostCell(r) {
  const host = hostName(r.bastionHost).toLowerCase();
  const td = cell('host nowrap', host);
  if (!host) td.append(el('span', 'unknown', UNKNOWN_HOST));
  if (r.account) td.append(el('span', 'sub', str(r.account)));
  return td;
}

function recordingRow(r) {
  const tr = el('tr');
  tr.dataset.id = str(r.id);
  const start = parseTime(r.sessionStart);
  const created = parseTime(r.blobCreated);
  const when = Number.isFinite(start) ? fmtTime(start) : fmtTime(created);
  const whenSub = Number.isFinite(start) ? '' : 'uploaded (no session joined)';
  tr.append(cell('nowrap mono', when, whenSub));
  tr.append(cell('nowrap', fmtDuration(Number(r.durationMs))));
  tr.append(cell('user', str(r.userName), str(r.userEmail)));
  tr.append(cell('mono nowrap', str(r.clientIp)));
  tr.append(cell('nowrap', str(r.protocol).toUpperCase()));
  tr.append(hostCell(r));
  const vm = cell('vm', vmName(r.targetVm, r.targetResourceId));
  if (r.targetResourceId) vm.title = visible(str(r.targetResourceId));
  tr.append(vm);
  const match = el('td');
  match.append(badge(r.matchConfidence, 'unjoined'));
  tr.append(match);
  const status = el('td');
  status.append(badge(r.status, 'unknown'));
  if (r.legalHold === true || r.legalHold === 'true') status.append(el('span', 'sub', 'legal hold'));
  tr.append(status);
  tr.append(cell('nowrap', str(r.retentionClass), r.retainUntil ? `until ${str(r.retainUntil)}` : ''));
  const blob = cell('blob mono', str(r.blobName), fmtBytes(r.contentLength));
  blob.title = visible(str(r.id));
  tr.append(blob);
  return tr;
}

// The table's state: rows shown so far and the next page's token.
const table = {
  query: null,
  continuation: null,
  shown: 0,
};

function renderRecordings(items, append) {
  const body = document.querySelector('#recordings tbody');
  if (!append) {
    body.replaceChildren();
    table.shown = 0;
  }
  for (const r of items) body.append(recordingRow(r));
  table.shown += items.length;
  document.getElementById('rec-empty').hidden = table.shown > 0;
  const more = document.getElementById('more');
  more.hidden = !table.continuation;
  const suffix = table.continuation ? ' (more available)' : '';
  document.getElementById('rec-count').textContent =
    `${table.shown} recording${table.shown === 1 ? '' : 's'} shown${suffix}`;
}

// One page of recordings: the first (a new query) or the next (`append`). `isCurrent` is asked
// after the call, so an answer for a search that has since been replaced is dropped.
async function loadRecordings(query, append, isCurrent) {
  const base = append ? table.query : query;
  const body = await getJson('recordings', {
    ...base,
    limit: PAGE_SIZE,
    continuation: append ? table.continuation : null,
  });
  if (!isCurrent()) return 0;
  table.query = base;
  table.continuation = typeof body.continuation === 'string' ? body.continuation : null;
  renderRecordings(body.items, append);
  return body.items.length;
}

// Scrolls to and marks the table row of a recording (from a timeline entry), if it is loaded.
function showRecording(id) {
  const rows = [...document.querySelectorAll('#recordings tbody tr')];
  for (const r of rows) r.classList.remove('selected');
  const row = rows.find((r) => r.dataset.id === id);
  if (!row) {
    statusLine.textContent = table.continuation
      ? 'That recording is not on the loaded pages yet; use "Load more" below the table.'
      : 'That recording is not in the table (its filters differ from the timeline\'s).';
    return;
  }
  row.classList.add('selected');
  row.scrollIntoView({ block: 'center', behavior: 'smooth' });
}
