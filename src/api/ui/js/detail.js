// detail.js — one session's view, opened from a table row, a timeline entry or a queue entry
// (click or Enter): the person and the VM account, the session's facts, who allowed it (its
// authorization record, sessions.js), each recording with its
// hash and last verification, holds, custody trail and portal and read links, the session's
// reviews, and the verdict form. It stays open after a sign-off: the confirmation is its first
// line and takes the focus; Escape or "Close" returns the focus to where the view was opened.
const detail = document.getElementById('detail');
const reviewForm = document.getElementById('rv-form');
const reviewStatus = document.getElementById('rv-status');
const confirmLine = document.getElementById('dt-confirm');
// How many of a session's recordings the view reads (each read is one audited detail request).
const DETAIL_RECORDINGS = 5;
let opened = null;

function setReviewStatus(message, isError) {
  reviewStatus.textContent = message;
  reviewStatus.classList.toggle('error', Boolean(isError));
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

// A read link the API issued: a secure URL, or plain HTTP on this machine (the storage emulator).
function readUrl(value) {
  try {
    const u = new URL(str(value));
    const local = u.protocol === 'http' + ':' && ['127.0.0.1', 'localhost', '[::1]'].includes(u.hostname);
    return u.protocol === 'https' + ':' || local ? u.toString() : null;
  } catch (e) {
    return null;
  }
}

function fact(list, label, value) {
  const dd = el('dd');
  if (value instanceof Node) dd.append(value);
  else dd.append(bdi(str(value) || '—'));
  list.append(el('dt', '', label), dd);
}

function link(text, href, label) {
  const a = el('a', 'ext', text);
  a.href = href;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  if (label) a.setAttribute('aria-label', label);
  return a;
}

// Opens the view for `s` (a session, or a recording not joined to one); `from` gets the focus back.
async function openSession(s, from) {
  const ids = (Array.isArray(s.recordingIds) ? s.recordingIds : []).map(str).filter(Boolean);
  opened = { s, ids, from, back: returnPoint(from, s), key: crypto.randomUUID() };
  const mine = opened;
  detail.hidden = false;
  confirmLine.hidden = true;
  confirmLine.textContent = '';
  const title = document.getElementById('dt-title');
  title.replaceChildren('Session of ', personOf(s).person ? bdi(personOf(s).person) : UNKNOWN_PERSON);
  const facts = document.getElementById('dt-facts');
  facts.replaceChildren();
  fact(facts, 'Person', personOf(s).person || UNKNOWN_PERSON);
  fact(facts, 'VM account', str(s.userName));
  fact(facts, 'VM', str(s.targetVm));
  fact(facts, 'Bastion host', hostName(s.bastionHost) || UNKNOWN_HOST);
  fact(facts, 'Client IP', [str(s.clientIp), str(s.protocol).toUpperCase()].filter(Boolean).join(' · '));
  const start = parseTime(s.start);
  const end = parseTime(s.end);
  fact(facts, 'Start – end (UTC)', `${fmtTime(start) || '—'} – ${fmtTime(end) || 'not logged'}`);
  fact(facts, 'Session id', str(s.sessionId) || 'no session joined');
  reviewForm.reset();
  setReviewStatus('', false);
  document.getElementById('dt-recordings').replaceChildren(el('p', 'empty', ids.length ? 'Loading…' : 'No recording names this session.'));
  document.getElementById('dt-history').replaceChildren();
  detail.scrollIntoView({ block: 'start' });
  title.focus();
  await Promise.all([loadRecordingsOf(mine), loadHistory(mine), loadAuthorization(mine)]);
}

// Where the focus returns when the view closes, should `from` have been redrawn meanwhile (a
// sign-off reloads the lists): the same table row, queue entry or timeline entry drawn anew, else
// the table row of the session's recording (a reviewed session leaves the queue).
function returnPoint(from, s) {
  const row = from.closest('#recordings tbody tr[data-id]');
  const entry = from.closest('#rv-queue button.rv-item, .tl-entry');
  const recording = (id) => `#recordings tbody tr[data-id="${CSS.escape(id)}"] button.link`;
  const points = [];
  if (row) points.push(recording(row.dataset.id));
  if (from.closest('#sessions tbody tr') && str(s.sessionId)) {
    points.push(`#sessions tbody tr[data-session="${CSS.escape(str(s.sessionId))}"] button.link`);
  }
  if (entry && str(s.sessionId)) {
    points.push(`${entry.matches('.tl-entry') ? '.tl-entry' : '#rv-queue button.rv-item'}[data-session="${CSS.escape(str(s.sessionId))}"]`);
  }
  for (const id of Array.isArray(s.recordingIds) ? s.recordingIds : []) points.push(recording(str(id)));
  return points;
}

function closeSession() {
  if (!opened) return;
  const { from, back } = opened;
  opened = null;
  detail.hidden = true;
  const again = back.map((sel) => document.querySelector(sel)).find(Boolean);
  const target = from.isConnected ? from : again;
  if (target) target.focus();
}

async function loadRecordingsOf(mine) {
  const box = document.getElementById('dt-recordings');
  const docs = [];
  for (const id of mine.ids.slice(0, DETAIL_RECORDINGS)) {
    try {
      docs.push(await getDoc(`recordings/${encodeURIComponent(id)}`));
    } catch (e) {
      docs.push({ id, error: e.message });
    }
  }
  if (opened !== mine) return;
  if (!mine.ids.length) return;
  box.replaceChildren(...docs.map(recordingBlock));
  if (mine.ids.length > DETAIL_RECORDINGS) {
    box.append(el('p', 'empty', `${mine.ids.length - DETAIL_RECORDINGS} more recordings are not shown.`));
  }
}

// One recording: what it is, its hash and verification, holds, custody trail and links.
function recordingBlock(doc) {
  const box = el('article', 'recording');
  const r = doc.recording || {};
  const row = doc.row || {};
  box.append(line('h4', 'rec-name', ['Recording ', [str(r.blobName) || str(doc.id)]]));
  if (doc.error) {
    box.append(el('p', 'status error', `Details unavailable — ${doc.error}`));
    return box;
  }
  const facts = el('dl', 'facts');
  // A catalogued recording whose content was overwritten outside the product reads as the list
  // shows it: replaced (its custody trail says when and what was there before).
  const replaced = str(r.status) === 'catalogued' && (r.replaced === true || Boolean(row.ReplacedAt));
  fact(facts, 'Status', replaced ? 'replaced' : str(r.status) || (doc.tombstone ? 'deleted' : 'unknown'));
  fact(facts, 'Size', fmtBytes(r.contentLength));
  fact(facts, 'Storage', [str(r.account), str(r.container)].filter(Boolean).join(' / '));
  const hash = el('span', 'mono hash', str(r.sha256) || 'not hashed yet');
  fact(facts, 'SHA-256', hash);
  if (row.HashedAt) fact(facts, 'Hashed at', `${fmtTime(parseTime(row.HashedAt))} UTC`);
  const check = doc.integrity;
  fact(facts, 'Last verification', check
    ? `${str(check.result)} at ${fmtTime(parseTime(check.verifiedAt))} UTC`
    : 'not verified yet (the weekly integrity run checks a sample of recordings)');
  fact(facts, 'Retention', [str(r.retentionClass), r.retainUntil ? `until ${str(r.retainUntil)}` : ''].filter(Boolean).join(' '));
  const holds = Array.isArray(doc.holds) ? doc.holds : [];
  fact(facts, 'Holds', holds.length
    ? holds.map((h) => [str(h.RowKey), str(h.Reason), str(h.SetBy || h.HeldBy)].filter(Boolean).join(' · ')).join('; ')
    : (r.legalHold ? 'held (hold not readable)' : 'none'));
  box.append(facts);
  box.append(el('h5', '', 'Custody trail'));
  box.append(custodyList(doc));
  const links = el('p', 'links');
  const portal = portalUrl(doc.portalLink);
  if (portal) {
    const text = doc.portalLinkScope === 'session-recordings'
      ? 'Open this host\u2019s session recordings in the Azure portal'
      : 'Open the list of Bastion hosts in the Azure portal (this host\u2019s resource id is not configured)';
    links.append(link(text, portal));
  }
  const dl = doc.download;
  const url = dl && readUrl(dl.url);
  if (url) {
    links.append(' ', link('Download the recording', url,
      `Download the recording (read link valid until ${str(dl.expiresOn)}; this read is recorded in the access audit)`));
  } else if (dl && dl.reason) {
    links.append(' ', el('span', 'sub', `No read link: ${str(dl.reason)}`));
  }
  box.append(links);
  return box;
}

// The custody events of a recording: replacement, re-tag, deletion (with who, when known), and
// the storage requests the custody workspace logged.
function custodyList(doc) {
  const row = doc.row || {};
  const events = [];
  if (row.ReplacedAt) {
    events.push(['Replaced', row.ReplacedAt,
      `content overwritten outside the product; the replaced content had ETag ${str(row.ReplacedEtag)}, ${fmtBytes(row.ReplacedLength)}, SHA-256 ${str(row.ReplacedSha256) || 'not hashed'}`]);
  }
  if (row.RetaggedAt) {
    events.push(['Re-tagged', row.RetaggedAt, `its tags were changed outside the product (from ${str(row.RetaggedFrom) || 'unknown'}) and restored`]);
  }
  if (row.DeletedAt) {
    events.push(['Deleted', row.DeletedAt, `reason: ${str(row.DeletionReason) || str(row.Status)}`]);
  }
  const t = doc.tombstone;
  if (t && t.DeletedAt) events.push(['Deleted by retention', t.DeletedAt, `outcome: ${str(t.Outcome)}`]);
  const a = doc.actor;
  if (a && (a.requesterUpn || a.requesterAppId || a.status)) {
    events.push(['Actor', a.time, [str(a.operation), str(a.requesterUpn) || str(a.requesterAppId) || str(a.requesterObjectId),
      str(a.callerIpAddress), str(a.status)].filter(Boolean).join(' · ')]);
  }
  const trail = doc.custody;
  const requests = trail && Array.isArray(trail.requests) ? trail.requests : [];
  for (const q of requests) {
    events.push(['Storage request', q.time, [str(q.operation), str(q.requesterUpn) || str(q.requesterAppId) || str(q.authenticationType),
      str(q.callerIpAddress), str(q.statusCode)].filter(Boolean).join(' · ')]);
  }
  const list = el('ol', 'custody');
  events.sort((x, y) => (parseTime(x[1]) || 0) - (parseTime(y[1]) || 0));
  for (const [what, at, text] of events) {
    const li = el('li');
    li.append(el('strong', '', what), ` ${fmtTime(parseTime(at)) || 'time unknown'} UTC — `, bdi(text));
    list.append(li);
  }
  if (!events.length) list.append(el('li', 'empty', 'No replacement, deletion or re-tag recorded.'));
  const note = !trail
    ? 'Storage requests: no custody workspace is configured, so the storage log is not read.'
    : trail.error ? `Storage requests: the custody workspace could not be read — ${str(trail.error)}`
      : `Storage requests: ${requests.length} logged in ${str(trail.timespan)}.`;
  const wrap = el('div');
  wrap.append(list, el('p', 'sub', note));
  return wrap;
}

// The session's reviews (of it or of its recordings), newest first.
async function loadHistory(mine) {
  const list = document.getElementById('dt-history');
  const s = mine.s;
  if (!str(s.sessionId)) {
    list.replaceChildren(el('li', 'empty', 'No session joined: its reviews are listed with the recording\u2019s row.'));
    return;
  }
  const now = Date.now();
  const to = Math.floor(now / DAY) * DAY + DAY;
  const start = parseTime(s.start);
  const from = Math.max(Number.isFinite(start) ? Math.floor(start / DAY) * DAY : to - 30 * DAY, to - 30 * DAY);
  try {
    const found = await getAll('reviews', {
      from: new Date(from).toISOString(), to: new Date(to).toISOString(), session: str(s.sessionId),
    });
    if (opened !== mine) return;
    const items = found.items.slice().reverse();
    list.replaceChildren(...items.map(historyEntry));
    if (!items.length) list.append(el('li', 'empty', 'Not reviewed yet.'));
  } catch (e) {
    if (opened === mine) list.replaceChildren(el('li', 'status error', `Reviews unavailable — ${e.message}`));
  }
}

function historyEntry(r) {
  const li = el('li');
  li.append(reviewNode(r.verdict, r.reviewer, r.reviewedAt));
  const more = [str(r.comment), str(r.ticket) ? `ticket ${str(r.ticket)}` : '',
    identityNote(r)].filter(Boolean);
  if (more.length) li.append(el('span', 'sub', more.join(' · ')));
  return li;
}

async function submitReview() {
  if (!opened) return;
  const mine = opened;
  const verdict = str(new FormData(reviewForm).get('verdict'));
  const comment = document.getElementById('rv-comment').value.trim();
  const ticket = document.getElementById('rv-ticket').value.trim();
  if (!verdict) return setReviewStatus('Choose a verdict.', true);
  if (verdict !== 'ok' && !comment) return setReviewStatus('A comment is required for follow-up and incident.', true);
  const submit = document.getElementById('rv-submit');
  submit.disabled = true;
  setReviewStatus('Signing off…', false);
  // A recording's review counts for its session and shows on both lists; a session without one
  // is reviewed as the session.
  const subject = mine.ids.length ? { recording: mine.ids[0] } : { session: str(mine.s.sessionId) };
  try {
    // The same key for every attempt at this review: a retried click records it once.
    const res = await fetch(apiUrl('reviews', {}), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Idempotency-Key': mine.key },
      credentials: 'same-origin',
      cache: 'no-store',
      body: JSON.stringify({ ...subject, verdict, comment, ticket }),
    });
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new ApiError(res.status, (body && str(body.detail)) || res.statusText);
    setReviewStatus('', false);
    reviewForm.reset();
    mine.key = crypto.randomUUID();
    confirmLine.hidden = false;
    const signed = `Signed off: ${str(body && body.verdict)} by ${isoText(body && body.reviewer)} `
      + `at ${fmtTime(parseTime(body && body.reviewedAt))} UTC.`;
    confirmLine.textContent = signed;
    confirmLine.focus();
    const [, , period] = await Promise.all([loadHistory(mine), loadQueue(), loadPeriodReviews(), refreshLists()]);
    // Say where it is listed only after the lists were read: the period list shows the reviews
    // made between From and To, which a review made now may not be.
    const listed = Array.isArray(period) && period.includes(str(body && body.reviewId));
    confirmLine.textContent = `${signed} ${listed
      ? 'It is listed under "Reviews of this session" and "Reviews in this period".'
      : 'It is listed under "Reviews of this session"; "Reviews in this period" does not list it: '
        + 'it was made outside the period searched above.'}`;
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
document.getElementById('dt-close').addEventListener('click', closeSession);
detail.addEventListener('keydown', (ev) => {
  if (ev.key === 'Escape') closeSession();
});
