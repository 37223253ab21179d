// estate.js — the status strip per Bastion host (GET estate) and the "live now" lane (GET
// sessions/live). Host, user and VM names come from Resource Manager: textContent only. The
// section stays hidden when the estate checks are off or the caller cannot read them.
const STRIP_STATUSES = ['ok', 'high', 'medium', 'info', 'unchecked'];

// `what` is the page's own text, or pieces for `line` (outside values isolated).
function chip(cls, title, what) {
  const li = document.createElement('li');
  li.className = `chip ${cls}`;
  const rest = Array.isArray(what) ? line('span', 'what', what) : el('span', 'what', String(what));
  li.append(el('strong', '', String(title)), rest);
  return li;
}

function hostChip(h) {
  const status = STRIP_STATUSES.includes(h.status) ? h.status : 'unchecked';
  const open = Array.isArray(h.open) ? h.open.map(words) : [];
  const what = open.length ? open.join(', ') : (status === 'ok' ? 'no finding' : 'not checked yet');
  return chip(`sev-${status}`, h.hostName || h.host || '?', what);
}

function liveChip(s) {
  const who = s.user ? String(s.user) : 'no user name';
  const target = s.targetHost || s.targetIp || '?';
  const since = s.start && !Number.isNaN(Date.parse(s.start)) ? ` since ${fmtTime(Date.parse(s.start)).slice(11, 16)}` : '';
  const li = chip(s.unrecordable ? 'unrecordable' : 'sev-ok', s.hostName || '?',
    [[who], ' → ', [target], ' (', [s.protocol || '?'], `)${since}${s.unrecordable ? ' · not recorded' : ''}`]);
  return li;
}

async function loadEstate() {
  const section = document.getElementById('estate');
  let estate;
  try {
    estate = await getJson('estate', {});
  } catch (e) {
    section.hidden = true;
    return;
  }
  if (estate.checks !== 'on' || !Array.isArray(estate.hosts)) {
    section.hidden = true;
    return;
  }
  document.getElementById('estate-strip').replaceChildren(...estate.hosts.map(hostChip));
  let live = { items: [] };
  try {
    live = await getJson('sessions/live', {});
  } catch (e) {
    live = { items: [] };
  }
  const lane = document.getElementById('live-lane');
  lane.replaceChildren(...(live.items.length
    ? live.items.map(liveChip)
    : [chip('sev-unchecked', 'No live session', '')]));
  section.hidden = false;
}
