//! The join itself ([`Join`]) and what a pass reads: recordings by creation and rejoin time, and
//! the day rows that can match them.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use super::correlate::{self, Times};
use crate::azure::AzureError;
use crate::catalogue::days::{self, DayRow, Span};
use crate::catalogue::key::{naming, put_guids};
use crate::catalogue::policy::{Policy, retag};
use crate::catalogue::recording::{Joined, Recording, RecordingKey};
use crate::catalogue::repo::{self, Versioned};
use crate::catalogue::session::{self, outcome};
use crate::dates::{format_date, format_utc, format_utc_millis};
use crate::ports::Ports;
use crate::tables::filter::Op;
use crate::tables::{Filter, Stored};

/// What the join needs, built by its caller.
#[derive(Clone)]
pub struct Join {
    /// The tables, the watched sources (re-tagging) and the clock.
    pub ports: Ports,
    /// Retention policy (re-tagging by session fields).
    pub policy: Arc<Policy>,
    /// The matching settings.
    pub times: Times,
    /// `RECORDING_MIN_BYTES`: a recording catalogued shorter vouches for no session (0: none is
    /// too short).
    pub min_bytes: u64,
}

crate::telemetry::debug_fields!(Join { times });

impl Join {
    /// A join over `ports`, judging recordings shorter than `min_bytes` too small to vouch.
    pub fn new(ports: &Ports, policy: Arc<Policy>, times: Times, min_bytes: u64) -> Self {
        Self {
            ports: ports.clone(),
            policy,
            times,
            min_bytes,
        }
    }

    /// The join of a recording about to be catalogued, from the sessions known now: those its
    /// GUIDs name, else those whose window can hold its creation time; with its re-tag and
    /// `JoinDue`. When no GUID names a known session its GUIDs are indexed before its row is
    /// written, so a session arriving later finds it (or the pass finds both at its rejoin time).
    ///
    /// # Errors
    /// Storage failures.
    pub async fn decide_new(&self, mut r: Recording) -> Result<Recording, AzureError> {
        let mut known = Vec::new();
        for key in &r.candidate_keys {
            if let Some(s) = session::get(self.ports.tables.as_ref(), key).await? {
                known.extend(DayRow::of(&s));
                break;
            }
        }
        if known.is_empty() {
            put_guids(self.ports.tables.as_ref(), &r.key, &r.candidate_keys).await?;
        }
        let by_time: Vec<DayRow> = if r.candidate_keys.is_empty() {
            let t = r.blob_created;
            let rows = sessions_within(self, t, t).await?;
            rows.into_iter().map(|(w, _)| w).collect()
        } else {
            Vec::new()
        };
        let now = self.ports.clock.now();
        let exact = |k: &str| known.iter().find(|s| s.tunnel_id == k);
        let (m, s) = correlate::decide_view(&r, exact, &by_time, &self.times, now);
        // The sessions it names within their window are pending before its row exists: until a
        // pass derives their recorded state from it, nothing (the API, the unrecorded check) reads
        // them as settled. One it names from outside its window is not (the pending range would
        // span the days between): its GUIDs are indexed instead, where the unrecorded check's
        // last look finds it, and the pass that reads the recording to rejoin records it.
        let named = m.iter().flat_map(|m| &m.tunnels);
        let mut outside = false;
        for row in known.iter().chain(&by_time) {
            if !named.clone().any(|t| *t == row.tunnel_id) {
                continue;
            }
            if self.times.window_of(row).contains(r.blob_created) {
                let at = Span::at(r.blob_created);
                days::put_pending(self.ports.tables.as_ref(), &self.ports.outbox, row, at, now)
                    .await?;
            } else {
                outside = true;
            }
        }
        if outside && !known.is_empty() {
            put_guids(self.ports.tables.as_ref(), &r.key, &r.candidate_keys).await?;
        }
        r.rejoin_at = Some(self.times.rejoin_at(&r, m.as_ref(), now));
        r.joined = m.map(|m| Joined { m, session: s });
        if r.session().is_some() {
            retag(&self.policy, &self.ports.sources, &mut r).await?;
        }
        Ok(r)
    }

    /// The evidence looked at before a session is called unrecorded: the catalogued recordings
    /// created within its window or naming its tunnel id whose stored match vouches for it (a
    /// suspect match vouches for none). When any
    /// does, its day row is marked pending over their creation times (the next pass derives its
    /// recorded state from them) and `true` is returned.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn named_in_catalogue(&self, row: &DayRow) -> Result<bool, AzureError> {
        let tables = self.ports.tables.as_ref();
        let mut found = created_within(self, self.times.window_of(row)).await?;
        found.extend(readable(self, naming(tables, &row.tunnel_id).await?).await?);
        let names = |r: &Recording| {
            r.matched()
                .is_some_and(|m| m.vouched().contains(&row.tunnel_id))
        };
        let times: Vec<OffsetDateTime> = found
            .iter()
            .filter(|r| names(&r.value))
            .map(|r| r.value.blob_created)
            .collect();
        let Some(span) = times.iter().map(|t| Span::at(*t)).reduce(Span::union) else {
            return Ok(false);
        };
        let now = self.ports.clock.now();
        days::put_pending(tables, &self.ports.outbox, row, span, now).await?;
        Ok(true)
    }
}

/// The catalogue's rows of `keys`: one gone, or no longer parsing, names nothing and is left out.
pub(super) async fn readable(
    join: &Join,
    keys: Vec<RecordingKey>,
) -> Result<Vec<Versioned<Recording>>, AzureError> {
    let (repo, mut out) = (join.ports.catalogue(), Vec::new());
    for key in keys {
        match repo.get(&key).await {
            Ok(Some(r)) => out.push(r),
            Ok(None) | Err(AzureError::Permanent(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// The first start day whose pending sessions a tick's pass reads: `window` (the tail's) and two
/// days more before `now`.
pub fn horizon(now: OffsetDateTime, window: Duration) -> String {
    format_date((now - window - Duration::days(2)).date())
}

/// Every catalogued recording created within `span`: one query over the range of creation days.
/// A row lives under its blob's creation day and records the event time, a moment later: the day
/// before is read too when the span starts within an hour of midnight.
///
/// # Errors
/// Table errors.
pub(super) async fn created_within(
    join: &Join,
    span: Span,
) -> Result<Vec<Versioned<Recording>>, AzureError> {
    let first = format_date((span.from - Duration::hours(1)).date());
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, first),
        Filter::str("PartitionKey", Op::Le, format_date(span.until.date())),
        Filter::str("BlobCreated", Op::Ge, format_utc(span.from)),
        Filter::str("BlobCreated", Op::Le, format_utc(span.until)),
    ]);
    repo::versioned(join.ports.tables.as_ref(), &filter, usize::MAX).await
}

/// The recordings created on `since_day` or later, outside `forced` (a pass reads those by
/// creation time and decides them all again), whose rejoin time (`JoinDue`) lies in
/// `(after, until]`: one query over a range of partitions.
///
/// # Errors
/// Table errors.
pub(super) async fn rejoining(
    join: &Join,
    since_day: &str,
    (after, until): (Option<OffsetDateTime>, OffsetDateTime),
    forced: Option<Span>,
) -> Result<Vec<Versioned<Recording>>, AzureError> {
    let mut all = vec![
        Filter::str("PartitionKey", Op::Ge, since_day),
        Filter::str("JoinDue", Op::Le, format_utc_millis(until)),
    ];
    let after = after.map(format_utc_millis).unwrap_or_default();
    all.push(Filter::str("JoinDue", Op::Gt, after));
    if let Some(s) = forced {
        // `BlobCreated` is stored to the second (`format_utc` truncates): a row is within the span
        // from the span's start rounded up to its second (a row of the second it starts in lies
        // before it).
        let first = format_utc(s.from + Duration::nanoseconds(999_999_999));
        all.push(Filter::Or(vec![
            Filter::str("BlobCreated", Op::Lt, first),
            Filter::str("BlobCreated", Op::Gt, format_utc(s.until)),
        ]));
    }
    repo::versioned(join.ports.tables.as_ref(), &Filter::And(all), usize::MAX).await
}

/// The filter, over the start days from `first` to `last` (partitions), for the sessions whose
/// window can contain a creation time in `[from, to]`: connected, started before `to` (+ skew),
/// and ending (end + lag, or start + open max while the end is unknown) at or after `from`. Times
/// are stored as fixed-width RFC 3339 text, so the service compares them in time order; an unknown
/// end is `""`.
pub fn window_filter(
    t: &Times,
    (first, last): (&str, &str),
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Filter {
    Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, first),
        Filter::str("PartitionKey", Op::Le, last),
        Filter::str("Outcome", Op::Eq, outcome::CONNECTED),
        Filter::str("Start", Op::Le, format_utc_millis(to + correlate::SKEW)),
        Filter::Or(vec![
            Filter::str("End", Op::Ge, format_utc_millis(from - t.lag)),
            Filter::And(vec![
                Filter::str("End", Op::Eq, ""),
                Filter::str("Start", Op::Ge, format_utc_millis(from - t.open_max)),
            ]),
        ]),
    ])
}

/// The day rows (with their ETags) of the sessions that may match a recording created between
/// `from` and `to`: the start days from `from - lookback` to `to`, in one query over that range of
/// partitions (a query costs a call whatever its range; a query per day cost two or more for each
/// recording).
///
/// # Errors
/// Table errors.
pub(super) async fn sessions_within(
    join: &Join,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<Vec<(DayRow, Stored)>, AzureError> {
    let first = format_date((from - join.times.lookback()).date());
    let last = format_date(to.date());
    let filter = window_filter(&join.times, (&first, &last), from, to);
    days::query(join.ports.tables.as_ref(), &filter, usize::MAX).await
}
