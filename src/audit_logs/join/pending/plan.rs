//! What one tick's join does with one affected recording (pure): recompute its match from what the
//! tick read, and compare it with the match its row holds.

use std::collections::HashSet;

use time::Duration;

use crate::audit_logs::correlate::{Confidence, Match, RecordingFacts, match_heuristic};
use crate::audit_logs::join::fields::candidates_text;
use crate::audit_logs::join::{hints, source_bastion};
use crate::audit_logs::repo::WindowRow;
use crate::catalogue::model::CatalogueEntry;
use crate::tables::{Entity, get_str};

/// The decision for one recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// Not this round's business (joined exactly to a session that did not change) or no session
    /// fits (a row is never un-joined: the recording-side join does not either).
    Skip,
    /// The row already holds this match and its session's fields did not change: nothing to write
    /// (its sessions are still marked with it).
    Keep(Match),
    /// The match differs from the row's, or its session changed: rewrite (if the row then differs).
    Write(Match),
}

/// What the round knows, shared by every recording it plans.
pub(super) struct Known<'a> {
    /// Tunnels known to have a session row (the round's sessions, the index rows read, and point
    /// reads of GUIDs of recordings found through `recordingkeys`).
    pub existing: &'a HashSet<String>,
    /// The round's (changed) sessions.
    pub changed: &'a HashSet<String>,
    /// Index rows of every session that can match the recordings planned.
    pub rows: &'a [WindowRow],
    /// `RECORDING_UPLOAD_LAG_MINUTES`.
    pub lag: Duration,
    /// `OPEN_SESSION_MAX_HOURS`.
    pub open_max: Duration,
}

/// The match a catalogue row holds: `(MatchConfidence, MatchCandidates)`.
fn stored(raw: &Entity) -> Option<(&str, &str)> {
    Some((
        get_str(raw, "MatchConfidence")?,
        get_str(raw, "MatchCandidates").unwrap_or_default(),
    ))
}

/// Plans one recording. `via_keys`: it was found through `recordingkeys` (one of its GUIDs is a
/// changed session), so every GUID of it was resolved into `existing`; a recording found only by
/// time keeps the rule both join sides uphold: a GUID naming an existing session was joined
/// exactly when the second of the two arrived.
pub(super) fn plan(entry: &CatalogueEntry, raw: &Entity, via_keys: bool, k: &Known<'_>) -> Plan {
    let stored = stored(raw);
    if !via_keys && stored.is_some_and(|(c, _)| c == Confidence::Exact.as_str()) {
        return Plan::Skip;
    }
    let exact = entry
        .candidate_keys
        .iter()
        .find(|key| k.existing.contains(key.as_str()));
    let found = match exact {
        Some(key) => Some(Match {
            confidence: Confidence::Exact,
            tunnels: vec![key.clone()],
        }),
        None => {
            let facts = RecordingFacts {
                created: entry.blob_created,
                hints: hints(entry),
                bastion: source_bastion(entry),
            };
            match_heuristic(&facts, k.rows, k.lag, k.open_max)
        }
    };
    let Some(m) = found else {
        return Plan::Skip;
    };
    let same = stored.is_some_and(|(c, t)| c == m.confidence.as_str() && t == candidates_text(&m));
    let fields_may_change =
        m.confidence != Confidence::Ambiguous && k.changed.contains(m.tunnels[0].as_str());
    if same && !fields_may_change {
        Plan::Keep(m)
    } else {
        Plan::Write(m)
    }
}
