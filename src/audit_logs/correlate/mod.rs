//! Recording ↔ session matching (pure).
//!
//! 1. **Exact**: a GUID in the recording's name or metadata is a session's tunnelId (done by the
//!    caller with point reads; see `join`).
//! 2. **Heuristic**: successful sessions whose window `[start, end + upload lag]` (or
//!    `[start, start + open max]` while the end is unknown) contains the recording's creation time,
//!    narrowed by whatever the recording's name/metadata mention (VM name, user, e-mail). One left:
//!    `heuristic`; several: `ambiguous`, all kept as candidates (never forced 1:1).
//!
//! A recording that names a GUID which is no session yet is first **awaiting** that session (for
//! `RECORDING_SESSION_WAIT_MINUTES` after its creation), so it is never attached by time to another
//! session while its own audit records are merely late; after the wait it is matched by time.
//!
//! The result depends only on the set of sessions, the recording and (for the wait) the time, not
//! on arrival order, so re-running it whenever either side changes converges.

use time::{Duration, OffsetDateTime};

use super::repo::WindowRow;
use super::sessions::outcome;

/// Tolerated clock skew between Bastion's record times and storage creation times.
pub const SKEW: Duration = Duration::minutes(2);

/// How sure a join is (`MatchConfidence`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// The recording names the session's tunnelId.
    Exact,
    /// The only session in the window (after narrowing).
    Heuristic,
    /// Several sessions fit; all are kept as candidates.
    Ambiguous,
    /// The recording names a GUID that is no session yet: it waits for that session (within
    /// `RECORDING_SESSION_WAIT_MINUTES` of its creation) instead of being matched by time to
    /// another one meanwhile. Names no session.
    Awaiting,
}

impl Confidence {
    /// The stored value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Heuristic => "heuristic",
            Self::Ambiguous => "ambiguous",
            Self::Awaiting => "awaiting",
        }
    }
}

/// What is known about a recording for matching.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingFacts {
    /// When the blob was created.
    pub created: OffsetDateTime,
    /// Lower-case blob name and metadata values (hints such as a VM name, if Bastion writes any).
    pub hints: String,
    /// The Bastion host the recording's source is tied to (lower-case), if the configuration says:
    /// then only that host's sessions are candidates. (Exact matches need no such limit: a tunnel
    /// id is a GUID Bastion draws per session.)
    pub bastion: Option<String>,
}

/// A match: one tunnel for exact/heuristic, the sorted candidates for ambiguous, none while awaiting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Confidence.
    pub confidence: Confidence,
    /// Tunnel ids.
    pub tunnels: Vec<String>,
}

/// A closed time range `[from, until]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First instant.
    pub from: OffsetDateTime,
    /// Last instant.
    pub until: OffsetDateTime,
}

impl Span {
    /// The smallest span covering both.
    #[must_use]
    pub fn union(self, o: Self) -> Self {
        Self {
            from: self.from.min(o.from),
            until: self.until.max(o.until),
        }
    }

    /// True when `t` lies within.
    pub fn contains(&self, t: OffsetDateTime) -> bool {
        self.from <= t && t <= self.until
    }

    /// True when `o` lies within.
    pub fn covers(&self, o: &Self) -> bool {
        self.from <= o.from && o.until <= self.until
    }
}

/// The creation times of recordings that may belong to a session starting at `start` (and
/// ending at `end`, when known): `[start - skew, end + lag]`, or `[start - skew, start + open max]`
/// while the end is unknown.
pub fn window_span(
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
    lag: Duration,
    open_max: Duration,
) -> Span {
    Span {
        from: start - SKEW,
        until: end.map_or(start + open_max, |e| e + lag),
    }
}

/// True when a recording created at `t` may belong to the session of `row`.
pub fn in_window(row: &WindowRow, t: OffsetDateTime, lag: Duration, open_max: Duration) -> bool {
    row.outcome == outcome::CONNECTED && window_span(row.start, row.end, lag, open_max).contains(t)
}

/// True when the (lower-case) hints contain `value`, ignoring ASCII case: compared in place,
/// because a tick's join runs this for every recording against every candidate session.
fn mentions(hints: &str, value: &str) -> bool {
    value.len() >= 3
        && hints
            .as_bytes()
            .windows(value.len())
            .any(|w| w.eq_ignore_ascii_case(value.as_bytes()))
}

/// The match of a recording none of whose GUIDs is a session yet: awaiting that session while
/// `now` is within `wait` of its creation and it names a GUID at all, else by time against `rows`
/// (`None` when no session fits).
pub fn match_unkeyed(
    rec: &RecordingFacts,
    names_guid: bool,
    rows: &[WindowRow],
    times: MatchTimes,
) -> Option<Match> {
    if names_guid && times.now < rec.created + times.wait {
        return Some(Match {
            confidence: Confidence::Awaiting,
            tunnels: Vec::new(),
        });
    }
    match_heuristic(rec, rows, times.lag, times.open_max)
}

/// The times a match depends on: "now", and the join's settings.
#[derive(Debug, Clone, Copy)]
pub struct MatchTimes {
    /// The time of the decision.
    pub now: OffsetDateTime,
    /// `RECORDING_SESSION_WAIT_MINUTES`.
    pub wait: Duration,
    /// `RECORDING_UPLOAD_LAG_MINUTES`.
    pub lag: Duration,
    /// `OPEN_SESSION_MAX_HOURS`.
    pub open_max: Duration,
}

/// Heuristic match of a recording against indexed sessions; `None` when no session fits.
pub fn match_heuristic(
    rec: &RecordingFacts,
    rows: &[WindowRow],
    lag: Duration,
    open_max: Duration,
) -> Option<Match> {
    let mut candidates: Vec<&WindowRow> = rows
        .iter()
        .filter(|r| in_window(r, rec.created, lag, open_max))
        .filter(|r| {
            rec.bastion
                .as_deref()
                .is_none_or(|b| r.host.eq_ignore_ascii_case(b))
        })
        .collect();
    // Narrow only by what the recording actually mentions; an unmentioned field narrows nothing.
    let fields: [fn(&WindowRow) -> &str; 3] = [|r| &r.vm, |r| &r.user_email, |r| &r.user_name];
    for field in fields {
        let mentioned: Vec<&WindowRow> = candidates
            .iter()
            .copied()
            .filter(|r| mentions(&rec.hints, field(r)))
            .collect();
        if !mentioned.is_empty() {
            candidates = mentioned;
        }
    }
    let mut tunnels: Vec<String> = candidates.iter().map(|r| r.tunnel_id.clone()).collect();
    tunnels.sort();
    tunnels.dedup();
    match tunnels.len() {
        0 => None,
        1 => Some(Match {
            confidence: Confidence::Heuristic,
            tunnels,
        }),
        _ => Some(Match {
            confidence: Confidence::Ambiguous,
            tunnels,
        }),
    }
}

#[cfg(test)]
mod tests;
