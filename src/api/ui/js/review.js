// review.js — the review queue (riskiest first, with reasons, the person first and the VM account
// beside it; when it was last ranked and when it is ranked next) and the period's review log.
// Keyboard: queue entries are buttons (Tab, Enter opens the session; ArrowUp/ArrowDown move
// between them). Values from the API reach the page through textContent only.
const REVIEW_QUEUE_SIZE = 50;
const queueList = document.getElementById('rv-queue');

function queueEntry(item, index) {
  const li = el('li');
  const button = el('button', 'rv-item');
  button.type = 'button';
  button.dataset.index = String(index);
  button.dataset.session = str(item.sessionId);
  const head = el('span', 'rv-head');
  head.append(el('span', 'badge bad', `risk ${str(item.score)}`));
  if (item.overdue) head.append(el('span', 'badge warn', 'overdue'));
  head.append(el('span', 'mono', fmtTime(parseTime(item.start))));
  button.append(head);
  const who = personNode('span', 'rv-who', item);
  who.append(' → ', bdi(str(item.targetVm) || '(no VM)'), ' on ', bdi(hostName(item.bastionHost) || UNKNOWN_HOST));
  button.append(who);
  button.append(el('span', 'sub', (Array.isArray(item.reasons) ? item.reasons : []).map(words).join('; ')));
  const session = { ...item, recordingIds: Array.isArray(item.recordingIds) ? item.recordingIds : [] };
  button.addEventListener('click', () => openSession(session, button));
  button.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
    ev.preventDefault();
    const all = [...queueList.querySelectorAll('button.rv-item')];
    const next = all[all.indexOf(button) + (ev.key === 'ArrowDown' ? 1 : -1)];
    if (next) next.focus();
  });
  li.append(button);
  return li;
}

// "Ranked at …; next ranking due at …": the queue is derived by a timer, so a session that
// arrived since the last run is not in it yet.
function rankedNote(body) {
  const at = parseTime(body.rankedAt);
  const next = parseTime(body.nextRankAt);
  const when = Number.isFinite(next) ? ` The next ranking is due at ${fmtTime(next).slice(0, 16)} UTC.` : '';
  return (Number.isFinite(at)
    ? `Ranked at ${fmtTime(at)} UTC; sessions that arrived since then are not ranked yet.`
    : 'Not ranked yet.') + when;
}

// The newest load: an older answer arriving after it would replace the list under the reviewer.
let queueLoads = 0;

// Reloads the queue. While a load runs the list is aria-busy; when it lands, the entry that had
// focus keeps it by session, so a refresh never drops a keyboard user.
async function loadQueue() {
  const note = document.getElementById('rv-count');
  const load = ++queueLoads;
  queueList.setAttribute('aria-busy', 'true');
  try {
    const body = await getDoc('reviews/queue', { limit: REVIEW_QUEUE_SIZE });
    if (load !== queueLoads) return;
    const items = Array.isArray(body.items) ? body.items : [];
    const focused = queueList.contains(document.activeElement) ? document.activeElement.dataset.session : null;
    queueList.replaceChildren(...items.map(queueEntry));
    note.textContent = items.length ? `${items.length} to review` : 'Nothing to review';
    document.getElementById('rv-ranked').textContent = rankedNote(body);
    for (const b of queueList.querySelectorAll('button.rv-item')) {
      if (focused !== null && b.dataset.session === focused) b.focus();
    }
  } catch (e) {
    if (load !== queueLoads) return;
    queueList.replaceChildren();
    note.textContent = `Queue unavailable — ${e.message}`;
  } finally {
    if (load === queueLoads) queueList.setAttribute('aria-busy', 'false');
  }
}


function logRow(r) {
  const tr = el('tr');
  tr.append(labelled(el('td', 'mono nowrap', fmtTime(parseTime(r.reviewedAt))), 'Reviewed at (UTC)'));
  const verdict = labelled(el('td'), 'Verdict');
  verdict.append(reviewNode(r.verdict, '', '').firstChild);
  const note = identityNote(r);
  if (note) verdict.append(el('span', 'sub', note));
  tr.append(verdict);
  tr.append(labelled(el('td', 'user', r.reviewer), 'Reviewer'));
  const what = labelled(el('td', 'user'), 'Session');
  // The Entra user recorded with it (or "unknown person"), the VM account beside it.
  what.append(personNode('span', '', r));
  what.append(line('span', '', [' → ', [str(r.targetVm) || '(no VM)'], ' on ', [hostName(r.bastionHost) || UNKNOWN_HOST]]));
  what.append(el('span', 'sub', `${str(r.subjectKind)} · session start ${fmtTime(parseTime(r.sessionStart)) || 'unknown'}`));
  tr.append(what);
  tr.append(labelled(cell('user', str(r.comment), str(r.ticket) ? `ticket ${str(r.ticket)}` : ''), 'Comment'));
  return tr;
}

// The reviews recorded in the form's range (by the time they were recorded), newest first.
/** Reloads the period's reviews; answers their ids as listed (null when they could not be read). */
async function loadPeriodReviews() {
  const { query } = readForm();
  const body = document.querySelector('#reviews tbody');
  const count = document.getElementById('log-count');
  if (!query) return;
  loadPeriodFigures(query);
  try {
    const found = await getAll('reviews', { from: query.from, to: query.to, bastion: query.bastion });
    const items = found.items.slice().reverse();
    body.replaceChildren(...items.map(logRow));
    document.getElementById('log-empty').hidden = items.length > 0;
    count.textContent = `${items.length} review${items.length === 1 ? '' : 's'}${found.truncated ? ' (more in the range)' : ''}`;
    return items.map((r) => str(r.reviewId));
  } catch (e) {
    body.replaceChildren();
    count.textContent = `Reviews unavailable — ${e.message}`;
    return null;
  }
}

// The period's review figures as its evidence pack counts them (GET reviews/figures); an answer
// for a period searched before the latest is dropped (the count is the function's own: the first
// search runs before this file's declarations).
async function loadPeriodFigures(query) {
  const line = document.getElementById('log-figures');
  loadPeriodFigures.loads = (loadPeriodFigures.loads || 0) + 1;
  const load = loadPeriodFigures.loads;
  try {
    const f = await getDoc('reviews/figures', { from: query.from, to: query.to, bastion: query.bastion });
    if (load !== loadPeriodFigures.loads) return;
    const n = (k) => Number(f[k]) || 0;
    line.textContent = `As the evidence pack counts this period: ${n('reviewed')} of ${n('sessions')} sessions `
      + `reviewed, ${n('reviewedOnTime')} on time (within ${n('deadlineHours')} hours of the session's end); `
      + `${n('overdue')} queued and overdue now.`;
  } catch (e) {
    if (load === loadPeriodFigures.loads) line.textContent = `The evidence pack's figures are unavailable — ${e.message}`;
  }
}

document.getElementById('rv-refresh').addEventListener('click', loadQueue);
loadQueue();
