//! One round of the session-side join over at most `ROUND` pending sessions.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use super::load::{self, Affected, AffectedSet};
use super::plan::{Known, Plan, plan};
use super::{Deadline, Joiner, PendingReport};
use crate::audit_logs::correlate::Confidence;
use crate::audit_logs::correlate::Match;
use crate::audit_logs::join::lookup::{get_session, windows_for};
use crate::audit_logs::join::recording::decide;
use crate::audit_logs::join::write::{Marks, RowWrite, write_join};
use crate::audit_logs::repo::WindowRow;
use crate::audit_logs::repo::windows::settle_batch;
use crate::audit_logs::sessions::SessionRecord;
use crate::invocation::HandlerError;
use crate::tables::{Entity, MAX_BATCH, Stored, TableError, get_list, get_str};

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

/// Runs one round over `rows` (pending index rows as read).
///
/// # Errors
/// `Retryable` on storage failures.
pub(super) async fn run(
    join: &Joiner,
    now: OffsetDateTime,
    rows: Vec<Stored>,
    deadline: &Deadline,
    report: &mut PendingReport,
) -> Result<Round, HandlerError> {
    let mut pending: Vec<(WindowRow, Stored)> = rows
        .into_iter()
        .filter_map(|s| Some((WindowRow::from_entity(&s.entity)?, s)))
        .collect();
    pending.sort_by(|(a, _), (b, _)| (a.start, &a.tunnel_id).cmp(&(b.start, &b.tunnel_id)));
    // Exact keys first, one partition per session; the round keeps the sessions read in time.
    let mut keyed = Vec::new();
    let mut taken = 0;
    let named = !join.probe_keys || load::any_keys(join).await?;
    for (row, _) in &pending {
        if named {
            keyed.extend(load::keyed(join, &row.tunnel_id).await?);
        }
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
        times: join.times(now),
    };
    let plans: Vec<(&Affected, Plan)> = affected
        .values()
        .map(|a| (a, plan(&a.row.value, &a.row.raw, a.via_keys, &known)))
        .collect();
    report.evaluated += plans.iter().filter(|(_, p)| *p != Plan::Skip).count();
    let mut gate = Gate {
        deadline,
        wrote: false,
    };
    // What each planned recording's row holds once written: its sessions' state is derived from it.
    let mut holds: Vec<(String, Option<Match>)> = Vec::with_capacity(plans.len());
    let mut marks = Marks {
        deferred: Some(&changed),
        rows: &rows,
        ..Marks::default()
    };
    for (a, p) in &plans {
        let id = a.row.value.key.id();
        let m = match p {
            Plan::Keep(m) => {
                holds.push((id, Some(m.clone())));
                continue;
            }
            // Joined exactly elsewhere, or matching nothing: it names what its row says.
            Plan::Skip => {
                holds.push((id, stored_match(&a.row.raw)));
                continue;
            }
            Plan::Write(m) => m,
        };
        if !gate.open(report) {
            return Ok(Round::default());
        }
        let session = match m {
            Some(m) if matches!(m.confidence, Confidence::Exact | Confidence::Heuristic) => {
                session(join, &mut sessions, &m.tunnels[0]).await?
            }
            _ => None,
        };
        let held = match write_join(join, &a.row, m.as_ref(), session.as_ref(), &mut marks).await? {
            RowWrite::Rewritten => {
                report.rewritten += 1;
                gate.wrote = true;
                m.clone()
            }
            RowWrite::Unchanged => m.clone(),
            RowWrite::Refused => stored_match(&a.row.raw),
            // Changed since the round read it: the recording-side join reads and decides again
            // (marking what it changes; the pending sessions it names are derived next round).
            RowWrite::Lost => {
                gate.wrote = true;
                let (held, marked) = decide(join, &a.row.value.key, None, now).await?;
                marks.marked.extend(marked);
                held
            }
        };
        holds.push((id, held));
    }
    let mut ids: HashMap<&str, Vec<String>> = HashMap::new();
    for (id, m) in &holds {
        for t in m.iter().flat_map(|m| &m.tunnels) {
            ids.entry(t.as_str()).or_default().push(id.clone());
        }
    }
    // Each pending session's state from every recording that can name it, in the write that
    // clears its range: a day's rows (sorted by start, so adjacent) 100 to a round trip.
    let settles: Vec<(&Stored, Vec<String>)> = pending
        .iter()
        .map(|(row, read)| {
            let mut named = ids.remove(row.tunnel_id.as_str()).unwrap_or_default();
            named.sort();
            (read, named)
        })
        .collect();
    let day = |s: &Stored| get_str(&s.entity, "PartitionKey").map(str::to_owned);
    let mut settled = 0;
    'days: for part in settles.chunk_by(|a, b| day(a.0) == day(b.0)) {
        for chunk in part.chunks(MAX_BATCH) {
            if !gate.open(report) {
                break 'days;
            }
            gate.wrote |= settle_batch(&join.ports.tables, chunk, true).await? > 0;
            settled += chunk.len();
        }
    }
    report.sessions += settled;
    Ok(Round {
        settled,
        marked: marks.marked,
    })
}

/// What one round did.
#[derive(Debug, Default)]
pub(super) struct Round {
    /// Pending sessions settled.
    pub settled: usize,
    /// Sessions it marked pending (their state needs another round): `(start day, tunnel id)`.
    pub marked: Vec<(String, String)>,
}

/// The match a row holds, as stored.
fn stored_match(raw: &Entity) -> Option<Match> {
    let confidence = match get_str(raw, "MatchConfidence")? {
        "exact" => Confidence::Exact,
        "heuristic" => Confidence::Heuristic,
        "ambiguous" => Confidence::Ambiguous,
        _ => Confidence::Awaiting,
    };
    let tunnels = get_list(raw, "MatchCandidates")
        .map(str::to_owned)
        .collect();
    Some(Match {
        confidence,
        tunnels,
    })
}

/// Point-reads the GUIDs of recordings found through `recordingkeys` that the round does not know
/// yet, so their exact match is decided as the recording side decides it (first GUID with a
/// session wins).
async fn resolve_keys(
    join: &Joiner,
    affected: &AffectedSet,
    existing: &mut HashSet<String>,
    sessions: &mut Sessions,
) -> Result<(), TableError> {
    for a in affected.values().filter(|a| a.via_keys) {
        for key in &a.row.value.candidate_keys {
            if existing.contains(key) || sessions.contains_key(key) {
                continue;
            }
            let s = get_session(&join.ports.tables, key).await?;
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
    join: &Joiner,
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
    join: &Joiner,
    sessions: &mut Sessions,
    tunnel: &str,
) -> Result<Option<SessionRecord>, TableError> {
    if let Some(s) = sessions.get(tunnel) {
        return Ok(s.clone());
    }
    let s = get_session(&join.ports.tables, tunnel).await?;
    sessions.insert(tunnel.to_owned(), s.clone());
    Ok(s)
}
