//! One round of the session-side join over at most `ROUND` pending sessions.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::load::{self, Affected, AffectedSet};
use super::plan::{Known, Plan, plan};
use super::{Deadline, Join, PendingReport};
use crate::audit_logs::correlate::Confidence;
use crate::audit_logs::join::lookup::{get_session, windows_for};
use crate::audit_logs::join::recording::join_from;
use crate::audit_logs::join::write::{RowWrite, write_join};
use crate::audit_logs::repo::WindowRow;
use crate::audit_logs::repo::windows::{MAX_IDS, mark_recorded, row_of, settle};
use crate::audit_logs::sessions::SessionRecord;
use crate::invocation::HandlerError;
use crate::tables::{Entity, Stored, TableError, get_str};

/// Sessions read in this round: tunnel → record (point reads, and reads for writes).
type Sessions = HashMap<String, Option<SessionRecord>>;

/// The deadline, except that a round always makes one write: what it writes stays done (the next
/// tick finds it unchanged), so every tick makes progress however slow the store.
struct Gate<'a> {
    deadline: &'a Deadline,
    wrote: bool,
}

impl Gate<'_> {
    /// True while more work is allowed; records a cut otherwise.
    fn open(&self, report: &mut PendingReport) -> bool {
        let open = !self.wrote || !self.deadline.passed();
        report.cut |= !open;
        open
    }
}

/// Runs one round over `rows` (pending index rows as read); returns how many sessions it settled.
///
/// # Errors
/// `Retryable` on storage failures.
pub(super) async fn run(
    join: &Join,
    rows: Vec<Stored>,
    deadline: &Deadline,
    report: &mut PendingReport,
) -> Result<usize, HandlerError> {
    let mut pending: Vec<(WindowRow, Stored)> = rows
        .into_iter()
        .filter_map(|s| Some((WindowRow::from_entity(&s.entity)?, s)))
        .collect();
    pending.sort_by(|(a, _), (b, _)| (a.start, &a.tunnel_id).cmp(&(b.start, &b.tunnel_id)));
    // Exact keys first, one partition per session; the round keeps the sessions read in time.
    let mut keyed = Vec::new();
    let mut taken = 0;
    for (row, _) in &pending {
        keyed.extend(load::keyed(join, &row.tunnel_id).await?);
        taken += 1;
        if deadline.passed() {
            report.cut = true;
            break;
        }
    }
    pending.truncate(taken);
    let changed: HashSet<String> = pending.iter().map(|(r, _)| r.tunnel_id.clone()).collect();
    let spans = load::merge(pending.iter().filter_map(|(r, _)| r.pending).collect());
    let mut affected = AffectedSet::new();
    load::created_within(join, &spans, &mut affected).await?;
    load::add_keyed(join, &keyed, &mut affected).await?;

    let mut existing = changed.clone();
    let mut sessions = Sessions::new();
    resolve_keys(join, &affected, &mut existing, &mut sessions).await?;
    let cache = windows_needed(join, &affected, &existing).await?;
    existing.extend(cache.iter().map(|(r, _)| r.tunnel_id.clone()));
    let rows: Vec<WindowRow> = cache.iter().map(|(r, _)| r.clone()).collect();
    let known = Known {
        existing: &existing,
        changed: &changed,
        rows: &rows,
        lag: join.upload_lag,
        open_max: join.open_session_max,
    };
    let plans: Vec<(&Affected, Plan)> = affected
        .values()
        .map(|a| (a, plan(&a.row.value, &a.row.raw, a.via_keys, &known)))
        .filter(|(_, p)| *p != Plan::Skip)
        .collect();
    report.evaluated += plans.len();

    // Every session a planned match names gets the recording's id (written only when missing).
    let mut marks: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (a, p) in &plans {
        let (Plan::Keep(m) | Plan::Write(m)) = p else {
            continue;
        };
        for t in &m.tunnels {
            // A row keeps at most `MAX_IDS` ids: more would only be dropped there.
            let ids = marks.entry(t.as_str()).or_default();
            if ids.len() < MAX_IDS {
                ids.push(a.row.value.key.id());
            }
        }
    }
    // Marks before rows: a crash in between leaves a mark early, never a joined row unmarked.
    let cached: HashMap<&str, &Stored> = cache
        .iter()
        .map(|(r, s)| (r.tunnel_id.as_str(), s))
        .collect();
    let mut gate = Gate {
        deadline,
        wrote: false,
    };
    for (tunnel, ids) in marks.iter().filter(|(t, _)| !changed.contains(**t)) {
        if !gate.open(report) {
            return Ok(0);
        }
        gate.wrote |= match cached.get(tunnel) {
            Some(read) => settle(&join.tables, read, ids, false).await?,
            None => mark_elsewhere(join, &mut sessions, tunnel, ids).await?,
        };
    }
    for (a, p) in &plans {
        let Plan::Write(m) = p else { continue };
        if !gate.open(report) {
            return Ok(0);
        }
        let session = match m.confidence {
            Confidence::Ambiguous => None,
            _ => session(join, &mut sessions, &m.tunnels[0]).await?,
        };
        match write_join(join, &a.row, m, session.as_ref()).await? {
            RowWrite::Rewritten => {
                report.rewritten += 1;
                gate.wrote = true;
            }
            RowWrite::Unchanged | RowWrite::Refused => {}
            // Changed since the round read it: the recording-side join reads and decides again.
            RowWrite::Lost => {
                join_from(join, &a.row.value.key, None).await?;
                gate.wrote = true;
            }
        }
    }
    let mut settled = 0;
    for (row, read) in &pending {
        if !gate.open(report) {
            break;
        }
        let ids = marks
            .get(row.tunnel_id.as_str())
            .map_or(&[][..], Vec::as_slice);
        gate.wrote |= settle(&join.tables, read, ids, true).await?;
        settled += 1;
    }
    report.sessions += settled;
    Ok(settled)
}

/// Point-reads the GUIDs of recordings found through `recordingkeys` that the round does not know
/// yet, so their exact match is decided as the recording side decides it (first GUID with a
/// session wins).
async fn resolve_keys(
    join: &Join,
    affected: &AffectedSet,
    existing: &mut HashSet<String>,
    sessions: &mut Sessions,
) -> Result<(), TableError> {
    for a in affected.values().filter(|a| a.via_keys) {
        for key in &a.row.value.candidate_keys {
            if existing.contains(key) || sessions.contains_key(key) {
                continue;
            }
            let s = get_session(&join.tables, key).await?;
            if s.is_some() {
                existing.insert(key.clone());
            }
            sessions.insert(key.clone(), s);
        }
    }
    Ok(())
}

/// True when the row holds an exact match.
fn exact(raw: &Entity) -> bool {
    get_str(raw, "MatchConfidence") == Some(Confidence::Exact.as_str())
}

/// The index rows of the sessions that can match the recordings planned by time (those not
/// joined exactly through a GUID): one read of the days their creation times need.
async fn windows_needed(
    join: &Join,
    affected: &AffectedSet,
    existing: &HashSet<String>,
) -> Result<Vec<(WindowRow, Stored)>, TableError> {
    let by_time = affected.values().filter(|a| {
        let by_key = a.via_keys
            && a.row
                .value
                .candidate_keys
                .iter()
                .any(|k| existing.contains(k));
        !by_key && (a.via_keys || !exact(&a.row.raw))
    });
    let times: Vec<_> = by_time.map(|a| a.row.value.blob_created).collect();
    match (times.iter().min(), times.iter().max()) {
        (Some(&from), Some(&to)) => windows_for(join, from, to).await,
        _ => Ok(Vec::new()),
    }
}

/// A session record for a write, read once per round.
async fn session(
    join: &Join,
    sessions: &mut Sessions,
    tunnel: &str,
) -> Result<Option<SessionRecord>, TableError> {
    if let Some(s) = sessions.get(tunnel) {
        return Ok(s.clone());
    }
    let s = get_session(&join.tables, tunnel).await?;
    sessions.insert(tunnel.to_owned(), s.clone());
    Ok(s)
}

/// Marks a session the round holds no index row of (an exact match through a GUID whose session
/// did not change): its own row, read and written as the recording side does.
async fn mark_elsewhere(
    join: &Join,
    sessions: &mut Sessions,
    tunnel: &str,
    ids: &[String],
) -> Result<bool, TableError> {
    let Some(s) = session(join, sessions, tunnel).await? else {
        return Ok(false);
    };
    let rows: Vec<WindowRow> = row_of(&join.tables, &s).await?.into_iter().collect();
    for id in ids {
        mark_recorded(&join.tables, &rows, id).await?;
    }
    Ok(!rows.is_empty())
}
