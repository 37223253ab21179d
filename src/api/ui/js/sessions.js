// sessions.js — the sessions table (the timeline's sessions, one row each, with who allowed
// them) and a session's authorization record in its view (GET /api/sessions/{id}), with the VM
// sign-in's MFA and whether its VM account is shared, as text only. A verdict shows as words
// with a mark, never as colour alone: `none` carries a cross, a bold face and a solid border
// (its row a bar at its left edge), `unknown` a question mark and a dashed border.
// [words, badge class, mark, what it means]; a session without a verdict is `undecided`.
const VERDICTS = {
  pim: ['PIM', 'good', '\u2713', 'a PIM activation of a role reaching the VM covered its start'],
  'pim-group': ['PIM for Groups', 'good', '\u2713', 'a PIM for Groups membership holding such a role covered its start'],
  jit: ['Just-in-time', 'good', '\u2713', 'a just-in-time request opened the VM\u2019s port to Bastion at its start'],
  standing: ['Standing access', 'warn', '\u2022', 'a permanent role assignment allowed it'],
  none: ['None found', 'bad authz-none', '\u2715', 'every source was read and none covers this session'],
  unknown: ['Unknown', 'authz-unknown', '?', 'a source needed to decide could not be read'],
  undecided: ['Not decided yet', '', '\u2026', 'decided by the estate check within two of its runs after the session starts'],
};

// What the VM sign-in's MFA result says (`mfa` of the record; absent: no VM sign-in found).
const MFA = {
  satisfied: 'satisfied',
  'not-satisfied': 'not satisfied',
  unknown: 'unknown: SigninLogs could not be read whole',
};

function verdictOf(value) {
  const v = str(value);
  return Object.hasOwn(VERDICTS, v) ? v : 'undecided';
}

// The verdict's badge: its mark (hidden from assistive tech: the words say it) and its words.
function verdictNode(value) {
  const v = verdictOf(value);
  const [word, kind, mark] = VERDICTS[v];
  const node = el('span', `badge authz ${kind}`.trim());
  node.dataset.verdict = v;
  const m = el('span', 'mark', mark);
  m.setAttribute('aria-hidden', 'true');
  node.append(m, word);
  return node;
}

// The table's state: the sessions of the last search and how many are shown.
const sessionsTable = { items: [], shown: 0 };

function sessionRow(s) {
  const tr = el('tr');
  tr.dataset.session = str(s.sessionId);
  const failed = s.kind === 'failed-login';
  tr.dataset.verdict = failed ? '' : verdictOf(s.authorization);
  if (tr.dataset.verdict === 'none') tr.classList.add('unauthorized');
  const when = fmtTime(parseTime(s.start));
  const open = el('button', 'link mono', when);
  open.type = 'button';
  open.setAttribute('aria-label', `Open the session of ${personText(s)} at ${when} UTC`);
  open.addEventListener('click', () => openSession(s, open));
  const first = labelled(el('td', 'nowrap'), 'Start (UTC)');
  first.append(open, el('span', 'sub', fmtDuration(Number(s.durationMs))));
  tr.append(first);
  tr.append(labelled(personNode('td', 'user', s), 'Person'));
  tr.append(labelled(cell('host nowrap', hostName(s.bastionHost).toLowerCase() || UNKNOWN_HOST), 'Bastion'));
  tr.append(labelled(cell('vm', str(s.targetVm)), 'VM'));
  tr.append(labelled(cell('nowrap', str(s.kind).replace('-', ' ')), 'Session'));
  const authz = labelled(el('td', 'authz'), 'Authorization');
  if (failed) authz.append(el('span', 'unknown', 'not applicable (failed login)'));
  else authz.append(verdictNode(s.authorization));
  const ticket = str(s.authorizationRecord && s.authorizationRecord.ticket);
  if (ticket) authz.append(line('span', 'sub', ['ticket ', [ticket]]));
  tr.append(authz);
  tr.addEventListener('click', (ev) => {
    if (ev.target !== open) openSession(s, open);
  });
  return tr;
}

// The next PAGE_SIZE sessions (all of a new search's first page).
function showSessions(append) {
  const body = document.querySelector('#sessions tbody');
  if (!append) {
    body.replaceChildren();
    sessionsTable.shown = 0;
  }
  const next = sessionsTable.items.slice(sessionsTable.shown, sessionsTable.shown + PAGE_SIZE);
  body.append(...next.map(sessionRow));
  sessionsTable.shown += next.length;
  const total = sessionsTable.items.length;
  document.getElementById('ss-empty').hidden = total > 0;
  document.getElementById('ss-more').hidden = sessionsTable.shown >= total;
  document.getElementById('ss-count').textContent =
    `${sessionsTable.shown} of ${total} session${total === 1 ? '' : 's'} shown`;
}

function renderSessions(items) {
  sessionsTable.items = items;
  showSessions(false);
}

document.getElementById('ss-more').addEventListener('click', () => showSessions(true));

// The session's authorization record, read anew by its id (a recording's row carries none).
async function loadAuthorization(mine) {
  const list = document.getElementById('dt-authz');
  const id = str(mine.s.sessionId);
  if (!id) {
    list.replaceChildren(el('dt', '', 'Verdict'), el('dd', 'unknown', 'no session joined'));
    return;
  }
  list.replaceChildren(el('dt', '', 'Verdict'), el('dd', '', 'Loading…'));
  let doc;
  try {
    doc = await getDoc(`sessions/${encodeURIComponent(id)}`);
  } catch (e) {
    if (opened === mine) list.replaceChildren(el('dt', '', 'Verdict'), el('dd', 'status error', `unavailable — ${e.message}`));
    return;
  }
  if (opened !== mine) return;
  list.replaceChildren();
  const v = verdictOf(doc.authorization);
  const verdict = el('span');
  verdict.append(verdictNode(v), ` ${VERDICTS[v][3]}`);
  fact(list, 'Verdict', verdict);
  const r = doc.authorizationRecord && typeof doc.authorizationRecord === 'object' ? doc.authorizationRecord : {};
  const from = parseTime(r.from);
  const until = parseTime(r.until);
  if (Number.isFinite(from) || Number.isFinite(until)) {
    fact(list, 'Window (UTC)', `${fmtTime(from) || '—'} – ${fmtTime(until) || 'open or permanent'}`);
  }
  const texts = (x) => (Array.isArray(x) ? x.map(str).filter(Boolean).join('; ') : '');
  for (const [label, value] of [['Approver', str(r.approver)], ['Justification', str(r.justification)],
    ['Ticket', str(r.ticket)], ['Evidence', texts(r.evidence)], ['Not readable', texts(r.reasons)],
    ['MFA (VM sign-in)', MFA[str(r.mfa)] ? `${MFA[str(r.mfa)]}${r.mfaSignIn ? ` (sign-in ${str(r.mfaSignIn)})` : ''}` : '']]) {
    if (value) fact(list, label, value);
  }
  const shared = doc.sharedAccount && typeof doc.sharedAccount === 'object' ? doc.sharedAccount : null;
  if (shared) {
    const people = Array.isArray(shared.people) ? shared.people.map(str) : [];
    fact(list, 'Shared account', `${str(shared.account)} on ${str(shared.targetVm)} used by ${people.length} persons: `
      + `${people.join(', ')} (${fmtTime(parseTime(shared.firstUse)) || '—'} – ${fmtTime(parseTime(shared.lastUse)) || '—'} UTC)`);
    const entra = str(shared.entraLogin);
    fact(list, 'Entra ID login on the VM', entra === 'present' ? 'present: people sign in as themselves (remediated)' : entra);
  }
}
