//! Recording ↔ session matching (pure): the one decision the join makes for a recording, from the
//! sessions it knows.
//!
//! 1. **Exact**: a GUID in the recording's name or metadata is a known session's tunnel id (the
//!    first such GUID wins).
//! 2. **Awaiting**: it names a GUID that is no session yet and is younger than the wait
//!    (`RECORDING_SESSION_WAIT_MINUTES`): it is not attached by time to another session while its
//!    own audit records are merely late.
//! 3. **Probable** / **ambiguous** (matched by time alone): successful sessions whose window
//!    `[start - skew, end + upload lag]` (or `[start - skew, start + open max]` while the end is
//!    unknown) contains the recording's creation time, narrowed by whatever its name and metadata
//!    mention (VM, e-mail, user), then to those whose start lies nearest its creation time. One
//!    left: probable, the others stay unrecorded (a recording belongs to at most one session);
//!    several at the same distance (a tie): ambiguous, the tied ones kept as candidates, vouching
//!    for none.
//! 4. **Suspect**: a blob that could not be the recording of the sessions found above vouches for
//!    none of them (they stay unrecorded): catalogued shorter than `RECORDING_MIN_BYTES`
//!    ([`Doubt::TooSmall`]), or created (`x-ms-creation-time`) outside the vouching window
//!    `[start - skew, end + RECORDING_VOUCH_LAG_HOURS]` of every session found
//!    ([`Doubt::OutsideWindow`]; [`Times::vouching`]), or whose current content the storage logs
//!    show written neither through a SAS nor by the hosts' recording identity
//!    ([`Doubt::OtherWriter`], [`Doubt::NotRecordingIdentity`]; read by `CustodyActor` with the
//!    custody workspace, and only once the logs arrive). A match by time alone needs more: it
//!    vouches only once the logs show its content written by the hosts' recording identity or
//!    their SAS (`WriterVerdict` `vouches`); until then it is [`Doubt::WriterUnconfirmed`]. Its
//!    candidates are kept. A name or metadata alone cannot vouch: anyone with write access to the
//!    container can plant a blob naming any tunnel id, at any time. A blob deleted before it was
//!    catalogued matches nothing (its content was never read).
//! 5. **Replaced**: a recording whose content was overwritten outside the product keeps the
//!    session its content had before ([`decide_view`]): the replacement is a custody finding of
//!    that session's recording, not a new blob to match.
//!
//! The result depends only on the sessions, the recording and (for the wait) the time, not on the
//! order anything arrived in, so deciding again whenever either side changes converges.

use std::collections::BTreeMap;

use time::{Duration, OffsetDateTime};

use crate::catalogue::days::{DayRow, Span};
use crate::catalogue::doubt::Doubt;
use crate::catalogue::recording::{
    Confidence, Match, Recording, STATUS_DELETED_BEFORE, SessionView,
};
use crate::catalogue::session::{SessionRecord, outcome};
use crate::catalogue::writer::{VOUCHES, Writer};

/// Tolerated clock skew between Bastion's record times and storage creation times.
pub const SKEW: Duration = Duration::minutes(2);

/// The join's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Times {
    /// `RECORDING_UPLOAD_LAG_MINUTES`: recordings are created within `[start, end + lag]`.
    pub lag: Duration,
    /// `OPEN_SESSION_MAX_HOURS`: window end of a session whose end is not known.
    pub open_max: Duration,
    /// `RECORDING_SESSION_WAIT_MINUTES`: how long a recording naming an unknown GUID awaits it.
    pub wait: Duration,
    /// `RECORDING_VOUCH_LAG_HOURS`: a blob vouches for a session only when created within
    /// `[start - skew, end + vouch]` ([`Self::vouching`]).
    pub vouch: Duration,
}

impl Times {
    /// The creation times of recordings that may belong to `row`'s session: from its start less
    /// the skew to its end plus the upload lag (its end not known: its start plus the open most).
    pub fn window_of(&self, row: &DayRow) -> Span {
        Span {
            from: row.start - SKEW,
            until: row.end.map_or(row.start + self.open_max, |e| e + self.lag),
        }
    }

    /// The creation times of blobs that can be the recording of `row`'s session, whatever names
    /// it: from its start (less the skew) to its end plus `RECORDING_VOUCH_LAG_HOURS` (or, while
    /// its end is unknown, the open window's end plus that lag). Bastion uploads a recording while
    /// or after its session runs; a blob created before, or long after, is not its recording.
    pub fn vouching(&self, row: &DayRow) -> Span {
        Span {
            from: row.start - SKEW,
            until: row.end.unwrap_or(row.start + self.open_max) + self.vouch.max(self.lag),
        }
    }

    /// How far before a recording's creation a session that may match it can start: the open
    /// window, and at least a day so a long session whose end is known is still found.
    pub fn lookback(&self) -> Duration {
        self.open_max.max(Duration::days(1))
    }

    /// The creation times of the recordings whose join a change of a session from `before` to
    /// `after` may change (its old and new windows), when the change touches anything a joined
    /// recording shows or the match reads; `None` otherwise.
    pub fn affected(&self, before: Option<&SessionRecord>, after: &SessionRecord) -> Option<Span> {
        let (old, new) = (before.and_then(DayRow::of), DayRow::of(after));
        if old == new {
            return None;
        }
        let span = |w: &DayRow| self.window_of(w);
        match (old.as_ref().map(span), new.as_ref().map(span)) {
            (Some(a), Some(b)) => Some(a.union(b)),
            (a, b) => a.or(b),
        }
    }

    /// A recording's rejoin time, when the join decides `m` (decided now) again: at the end of its
    /// wait while it awaits its session, else at once (so the sessions it names get their
    /// recorded state).
    pub fn rejoin_at(
        &self,
        r: &Recording,
        m: Option<&Match>,
        now: OffsetDateTime,
    ) -> OffsetDateTime {
        match m {
            Some(m) if m.confidence == Confidence::Awaiting => r.blob_created + self.wait,
            _ => now,
        }
    }
}

/// True when a recording created at `t` may belong to the session of `row`.
pub fn in_window(row: &DayRow, t: OffsetDateTime, times: &Times) -> bool {
    row.outcome == outcome::CONNECTED && times.window_of(row).contains(t)
}

/// Lower-case blob name plus metadata values: whatever the recording says about itself.
pub fn hints(r: &Recording) -> String {
    let meta: BTreeMap<String, String> = serde_json::from_str(&r.metadata).unwrap_or_default();
    let all = std::iter::once(&r.blob_name).chain(meta.values());
    all.map(String::as_str)
        .collect::<Vec<_>>()
        .join("\n")
        .to_ascii_lowercase()
}

/// True when the (lower-case) hints contain `value`, ignoring ASCII case: compared in place,
/// because a join runs this for every recording against every candidate session.
fn mentions(hints: &str, value: &str) -> bool {
    value.len() >= 3
        && hints
            .as_bytes()
            .windows(value.len())
            .any(|w| w.eq_ignore_ascii_case(value.as_bytes()))
}

/// [`decide`] as a row stores it: the match and the matched session's fields. A replaced
/// recording (its content overwritten outside the product) whose join named a session keeps that
/// match, with the session's fields as read now (else as the row holds them): its new content is
/// not a recording to match, and the session it was recorded for stays its session.
pub fn decide_view<'a>(
    r: &Recording,
    exact: impl Fn(&str) -> Option<&'a DayRow>,
    rows: &'a [DayRow],
    times: &Times,
    now: OffsetDateTime,
) -> (Option<Match>, Option<SessionView>) {
    if r.replaced.is_some()
        && let Some(j) = r.joined.as_ref().filter(|j| j.session.is_some())
    {
        let tunnel = j.m.session().unwrap_or_default();
        let fresh = exact(tunnel).or_else(|| rows.iter().find(|w| w.tunnel_id == tunnel));
        return (
            Some(j.m.clone()),
            fresh.map(DayRow::view).or_else(|| j.session.clone()),
        );
    }
    let (m, s) = decide(r, exact, rows, times, now);
    (m, s.map(DayRow::view))
}

/// True when the storage logs show `r`'s current content written by the hosts' recording
/// identity or their SAS (`WriterVerdict` `vouches`): what a match by time alone needs.
fn writer_confirmed(r: &Recording) -> bool {
    r.writer
        .as_ref()
        .is_some_and(|w| w.wrote(&r.etag) && w.verdict == VOUCHES)
}

/// The decision for `r` at `now`: `exact(guid)` gives the session a GUID names when it is known,
/// `rows` the sessions whose window can contain its creation time. Returns the match (`None`: no
/// session fits) and, for an exact or probable one, the session's row; a match the blob cannot
/// vouch for is [`Confidence::Suspect`] with its candidates and no session.
pub fn decide<'a>(
    r: &Recording,
    exact: impl Fn(&str) -> Option<&'a DayRow>,
    rows: &'a [DayRow],
    times: &Times,
    now: OffsetDateTime,
) -> (Option<Match>, Option<&'a DayRow>) {
    // Deleted before the catalogue read it: nothing shows it was a recording of anything.
    if r.status == STATUS_DELETED_BEFORE {
        return (None, None);
    }
    let (m, s) = found(r, exact, rows, times, now);
    let doubt = match (&m, s) {
        (Some(m), _) if m.confidence == Confidence::Awaiting => None,
        (Some(_), _) if r.below_min_bytes.is_some() => Some(Doubt::TooSmall),
        (Some(m), s) if !created_in_window(r, m, s, rows, times) => Some(Doubt::OutsideWindow),
        (Some(m), _) => r.other_writer().and_then(Writer::doubt).or_else(|| {
            (m.confidence == Confidence::Probable && !writer_confirmed(r))
                .then_some(Doubt::WriterUnconfirmed)
        }),
        _ => None,
    };
    match (m, doubt) {
        (Some(m), Some(d)) => {
            let m = Match {
                confidence: Confidence::Suspect(d),
                tunnels: m.tunnels,
            };
            (Some(m), None)
        }
        (m, _) => (m, s),
    }
}

/// True when `r`'s blob was created within the vouching window ([`Times::vouching`]) of the
/// session `m` names (`s`) or of one of its candidates (found in `rows`). The creation time is the
/// blob's own (`x-ms-creation-time`), else the time of the event that catalogued it.
fn created_in_window(
    r: &Recording,
    m: &Match,
    s: Option<&DayRow>,
    rows: &[DayRow],
    times: &Times,
) -> bool {
    let t = r.created.unwrap_or(r.blob_created);
    let fits = |row: &DayRow| times.vouching(row).contains(t);
    match s {
        Some(row) => fits(row),
        None => rows
            .iter()
            .filter(|row| m.tunnels.contains(&row.tunnel_id))
            .any(fits),
    }
}

/// The sessions `r` names or fits, before [`decide`] asks whether it can be their recording.
fn found<'a>(
    r: &Recording,
    exact: impl Fn(&str) -> Option<&'a DayRow>,
    rows: &'a [DayRow],
    times: &Times,
    now: OffsetDateTime,
) -> (Option<Match>, Option<&'a DayRow>) {
    let matched = |confidence, tunnels, s| {
        (
            Some(Match {
                confidence,
                tunnels,
            }),
            s,
        )
    };
    if let Some(s) = r.candidate_keys.iter().find_map(|k| exact(k)) {
        return matched(Confidence::Exact, vec![s.tunnel_id.clone()], Some(s));
    }
    if !r.candidate_keys.is_empty() && now < r.blob_created + times.wait {
        return matched(Confidence::Awaiting, Vec::new(), None);
    }
    let hints = hints(r);
    let bastion = r.source_bastion.to_ascii_lowercase();
    let mut candidates: Vec<&DayRow> = rows
        .iter()
        .filter(|s| in_window(s, r.blob_created, times))
        .filter(|s| bastion.is_empty() || s.host.eq_ignore_ascii_case(&bastion))
        .collect();
    // Narrow only by what the recording mentions; an unmentioned field narrows nothing.
    let fields: [fn(&DayRow) -> &str; 3] = [|s| &s.vm, |s| &s.user_email, |s| &s.user_name];
    for field in fields {
        let mentioned: Vec<&DayRow> = candidates
            .iter()
            .copied()
            .filter(|s| mentions(&hints, field(s)))
            .collect();
        if !mentioned.is_empty() {
            candidates = mentioned;
        }
    }
    // The nearest start wins; sessions at the same distance tie.
    let distance = |s: &DayRow| (r.blob_created - s.start).abs();
    if let Some(best) = candidates.iter().map(|s| distance(s)).min() {
        candidates.retain(|s| distance(s) == best);
    }
    candidates.sort_by(|a, b| a.tunnel_id.cmp(&b.tunnel_id));
    candidates.dedup_by(|a, b| a.tunnel_id == b.tunnel_id);
    let tunnels = candidates.iter().map(|s| s.tunnel_id.clone()).collect();
    match candidates.as_slice() {
        [] => (None, None),
        [one] => matched(Confidence::Probable, tunnels, Some(*one)),
        _ => matched(Confidence::Ambiguous, tunnels, None),
    }
}

#[cfg(test)]
#[path = "correlate_tests.rs"]
mod tests;
