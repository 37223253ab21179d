// table.js — the recordings table: one row per catalogue row, paged with the API's continuation.
const BADGES = {
  catalogued: 'good', deleted: 'bad', exact: 'good', probable: 'warn', heuristic: 'warn', ambiguous: 'bad',
  awaiting: 'warn', suspect: 'bad', replaced: 'bad',
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

// A cell with its column's name (the narrow layout shows it beside the value).
function labelled(td, label) {
  td.dataset.label = label;
  return td;
}

// The session a recording row opens: its joined session's facts, or the recording alone.
function sessionOfRecording(r) {
  return {
    sessionId: str(r.tunnelId), userEmail: r.userEmail, userName: r.userName,
    targetVm: vmName(r.targetVm, r.targetResourceId), bastionHost: r.bastionHost,
    clientIp: r.clientIp, protocol: r.protocol, start: r.sessionStart, end: r.sessionEnd,
    durationMs: r.durationMs, recordingIds: [str(r.id)],
  };
}

function recordingRow(r) {
  const tr = el('tr');
  tr.dataset.id = str(r.id);
  const start = parseTime(r.sessionStart);
  const created = parseTime(r.blobCreated);
  const when = Number.isFinite(start) ? fmtTime(start) : fmtTime(created);
  const whenSub = Number.isFinite(start) ? fmtDuration(Number(r.durationMs)) : 'uploaded (no session joined)';
  const session = sessionOfRecording(r);
  const open = el('button', 'link mono', when);
  open.type = 'button';
  open.setAttribute('aria-label', `Open the session of ${personText(r)} at ${when} UTC`);
  open.addEventListener('click', () => openSession(session, open));
  const first = labelled(el('td', 'nowrap'), 'Session start (UTC)');
  first.append(open);
  if (whenSub) first.append(el('span', 'sub', whenSub));
  tr.append(first);
  tr.append(labelled(personNode('td', 'user', r), 'Person'));
  tr.append(labelled(cell('mono nowrap', str(r.clientIp), str(r.protocol).toUpperCase()), 'Client IP'));
  tr.append(labelled(hostCell(r), 'Bastion'));
  const vm = labelled(cell('vm', vmName(r.targetVm, r.targetResourceId)), 'VM');
  if (r.targetResourceId) vm.title = visible(str(r.targetResourceId));
  tr.append(vm);
  const match = labelled(el('td'), 'Match');
  match.append(badge(r.matchConfidence, 'unjoined'));
  tr.append(match);
  const status = labelled(el('td'), 'Status');
  // Content overwritten outside the product: the tampering shows instead of `catalogued`.
  status.append(badge(r.replaced === true && r.status === 'catalogued' ? 'replaced' : r.status, 'unknown'));
  if (r.legalHold === true || r.legalHold === 'true') status.append(el('span', 'sub', 'legal hold'));
  tr.append(status);
  tr.append(labelled(cell('nowrap retention', str(r.retentionClass), r.retainUntil ? `until ${str(r.retainUntil)}` : ''), 'Retention'));
  const blob = labelled(cell('blob mono', str(r.blobName), fmtBytes(r.contentLength)), 'Recording');
  blob.title = visible(str(r.id));
  tr.append(blob);
  const review = labelled(el('td', 'review'), 'Review');
  review.append(reviewNode(r.reviewVerdict, r.reviewer, r.reviewedAt));
  tr.append(review);
  // A click anywhere on the row opens it too (the button is the keyboard's way in).
  tr.addEventListener('click', (ev) => {
    if (ev.target !== open) openSession(session, open);
  });
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

// Marks (and with `scroll`, scrolls to) the table row of a recording, if it is loaded.
function showRecording(id, scroll) {
  const rows = [...document.querySelectorAll('#recordings tbody tr')];
  for (const r of rows) r.classList.remove('selected');
  const row = rows.find((r) => r.dataset.id === id);
  if (!row) {
    if (!scroll) return;
    statusLine.textContent = table.continuation
      ? 'That recording is not on the loaded pages yet; use "Load more" below the table.'
      : 'That recording is not in the table (its filters differ from the timeline\'s).';
    return;
  }
  row.classList.add('selected');
  if (scroll) row.scrollIntoView({ block: 'center', behavior: 'smooth' });
}
