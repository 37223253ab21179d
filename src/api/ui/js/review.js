// review.js — the review panel: the queue (riskiest first, with reasons), one session's details
// with its recording's portal link, and the verdict form. Keyboard: queue entries are buttons
// (Tab, Enter; ArrowUp/ArrowDown move between them); the form is plain controls. Values from the
// API reach the page through textContent only; the portal link is used only when it is an Azure
// portal address.
const REVIEW_QUEUE_SIZE = 50;
const queueList = document.getElementById('rv-queue');
const reviewForm = document.getElementById('rv-form');
const reviewStatus = document.getElementById('rv-status');
let reviewing = null;

function setReviewStatus(message, isError) {
  reviewStatus.textContent = message;
  reviewStatus.classList.toggle('error', Boolean(isError));
}

// GET → parsed JSON of a single document (the recording detail).
async function getDoc(path) {
  const res = await fetch(apiUrl(path, {}), {
    headers: { Accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store',
  });
  const body = await res.json().catch(() => null);
  if (!res.ok || !body) throw new ApiError(res.status, (body && str(body.detail)) || 'request failed');
  return body;
}

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
  button.append(line('span', 'rv-who', [
    [str(item.userName) || '(no user)'], ' → ', [str(item.targetVm) || '(no VM)'], ' on ',
    [hostName(item.bastionHost) || UNKNOWN_HOST],
  ]));
  button.append(el('span', 'sub', (Array.isArray(item.reasons) ? item.reasons : []).map(str).join(', ')));
  button.addEventListener('click', () => openReview(item, button));
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

// The newest load: an older answer arriving after it would replace the list under the reviewer.
let queueLoads = 0;

// Reloads the queue. While a load runs the list is aria-busy; when it lands, the entry that had
// focus (or is being reviewed) keeps it by session, so a refresh never drops a keyboard user.
async function loadQueue() {
  const note = document.getElementById('rv-count');
  const load = ++queueLoads;
  queueList.setAttribute('aria-busy', 'true');
  try {
    const body = await getJson('reviews/queue', { limit: REVIEW_QUEUE_SIZE });
    if (load !== queueLoads) return;
    const focused = queueList.contains(document.activeElement) ? document.activeElement.dataset.session : null;
    queueList.replaceChildren(...body.items.map(queueEntry));
    note.textContent = body.items.length ? `${body.items.length} to review` : 'Nothing to review';
    for (const b of queueList.querySelectorAll('button.rv-item')) {
      if (reviewing) b.setAttribute('aria-current', String(b.dataset.session === str(reviewing.item.sessionId)));
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

// The link when it is a secure Azure portal address, else null.
function portalUrl(value) {
  try {
    const u = new URL(str(value));
    return u.protocol === 'https' + ':' && u.hostname === 'portal.azure.com' ? u.toString() : null;
  } catch (e) {
    return null;
  }
}

function fact(list, label, value) {
  list.append(el('dt', '', label), el('dd', '', str(value) || '—'));
}

async function openReview(item, button) {
  reviewing = { item, key: crypto.randomUUID(), button };
  for (const b of queueList.querySelectorAll('button.rv-item')) b.setAttribute('aria-current', String(b === button));
  document.getElementById('rv-detail').hidden = false;
  document.getElementById('rv-subject').replaceChildren('Session ', bdi(str(item.sessionId)));
  const facts = document.getElementById('rv-facts');
  facts.replaceChildren();
  fact(facts, 'User', item.userName);
  fact(facts, 'VM', item.targetVm);
  fact(facts, 'Bastion host', hostName(item.bastionHost));
  fact(facts, 'Client IP', item.clientIp);
  fact(facts, 'Start', fmtTime(parseTime(item.start)));
  fact(facts, 'End', fmtTime(parseTime(item.end)));
  fact(facts, 'Review due', fmtTime(parseTime(item.dueAt)));
  fact(facts, 'Reasons', (Array.isArray(item.reasons) ? item.reasons : []).map(str).join(', '));
  fact(facts, 'Recording', item.recordingId || 'none');
  const portal = document.getElementById('rv-portal');
  portal.hidden = true;
  reviewForm.reset();
  setReviewStatus('', false);
  document.getElementById('rv-verdict-ok').focus();
  if (typeof item.recordingId === 'string' && item.recordingId) {
    try {
      const doc = await getDoc(`recordings/${encodeURIComponent(item.recordingId)}`);
      const link = portalUrl(doc.portalLink);
      if (reviewing && reviewing.item === item && link) {
        portal.href = link;
        portal.hidden = false;
      }
    } catch (e) {
      setReviewStatus(`Recording details unavailable — ${e.message}`, true);
    }
  }
}

async function submitReview() {
  if (!reviewing) return;
  const verdict = str(new FormData(reviewForm).get('verdict'));
  const comment = document.getElementById('rv-comment').value.trim();
  const ticket = document.getElementById('rv-ticket').value.trim();
  if (!verdict) return setReviewStatus('Choose a verdict.', true);
  if (verdict !== 'ok' && !comment) return setReviewStatus('A comment is required for follow-up and incident.', true);
  const submit = document.getElementById('rv-submit');
  submit.disabled = true;
  setReviewStatus('Signing off…', false);
  try {
    // The same key for every attempt at this review: a retried click records it once.
    const res = await fetch(apiUrl('reviews', {}), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': reviewing.key },
      credentials: 'same-origin',
      cache: 'no-store',
      body: JSON.stringify({ session: reviewing.item.sessionId, verdict, comment, ticket }),
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, (body && str(body.detail)) || res.statusText);
    const position = Number(reviewing.button.dataset.index);
    setReviewStatus(`Signed off as ${str(body && body.verdict)} by ${isoText(body && body.reviewer)}.`, false);
    reviewing = null;
    document.getElementById('rv-detail').hidden = true;
    await loadQueue();
    // Focus moves on to the entry that took the reviewed one's place.
    const entries = [...queueList.querySelectorAll('button.rv-item')];
    (entries[Math.min(position, entries.length - 1)] || document.getElementById('rv-refresh')).focus();
  } catch (e) {
    setReviewStatus(`Sign-off failed — ${e.message}`, true);
  } finally {
    submit.disabled = false;
  }
}

reviewForm.addEventListener('submit', (ev) => {
  ev.preventDefault();
  submitReview();
});
document.getElementById('rv-refresh').addEventListener('click', loadQueue);
loadQueue();
