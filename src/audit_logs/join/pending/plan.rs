//! What one tick's join does with one affected recording (pure): recompute its match from what the
//! tick read, and compare it with the match its row holds.

use std::collections::HashSet;

use crate::audit_logs::correlate::{Confidence, Match, MatchTimes, RecordingFacts, match_unkeyed};
use crate::audit_logs::join::fields::candidates_text;
use crate::audit_logs::join::{hints, source_bastion};
use crate::audit_logs::repo::WindowRow;
use crate::catalogue::model::CatalogueEntry;
use crate::tables::{Entity, get_str};

/// The decision for one recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Plan {
    /// Not this round's business (joined exactly to a session that did not change), or no session
    /// fits and none did.
    Skip,
    /// The row already holds this match and its session's fields did not change: nothing to write.
    Keep(Match),
    /// The result differs from the row's (a match, or `None`: no session fits any more), or its
    /// session changed: rewrite (if the row then differs).
    Write(Option<Match>),
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
    /// The tick's time and the join's settings.
    pub times: MatchTimes,
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
/// exactly when the second of the two arrived (so its GUIDs, if any, are no session yet).
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
            match_unkeyed(&facts, !entry.candidate_keys.is_empty(), k.rows, k.times)
        }
    };
    let same = match (&found, stored) {
        (Some(m), Some((c, t))) => c == m.confidence.as_str() && t == candidates_text(m),
        (None, None) => true,
        _ => false,
    };
    let fields_may_change = found.as_ref().is_some_and(|m| {
        matches!(m.confidence, Confidence::Exact | Confidence::Heuristic)
            && k.changed.contains(m.tunnels[0].as_str())
    });
    match found {
        Some(m) if same && !fields_may_change => Plan::Keep(m),
        None if same => Plan::Skip,
        found => Plan::Write(found),
    }
}
