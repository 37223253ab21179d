//! The day row of a session: table `sessionwindows` (PK = session start day, RK = tunnel id; the
//! table keeps its name for the rows deployments hold), one [`DayRow`] per session, with every
//! field the join's time match, the detections and `GET /api/sessions` read, so each of them is a
//! partition-scoped query over a day or two.
//!
//! Besides the session's fields it holds four things of its own:
//! - **recorded state** (`Recorded`, `RecordingIds`): derived by the join from the current matches
//!   of every recording that can name the session, written whole ([`put_recorded`]), never accumulated;
//! - **the pending join** (`JoinFrom`/`JoinUntil`): set in the same write that changes a field the
//!   match reads ([`put`]), with the creation times of the recordings whose match may change, and
//!   cleared by the join once it has derived the state from reads taken after that write (widened
//!   by the join for a session it could not cover, [`put_pending`]);
//! - **`UnrecordedNotified`**, the marker of `session.unrecorded` ([`mark_unrecorded`]);
//! - **the latest review** (`ReviewId`, `ReviewVerdict`, `Reviewer`, `ReviewedAt`): set by the
//!   reviews domain through [`put_review`], kept by every other writer.
//!
//! With the Sentinel export on, every write of a row records its `BastionSessions_CL` row in the
//! outbox first, through one recorder (keyed by the write's time and the tunnel id, so a retry or a
//! lost race records over the same key); a write that changes nothing records nothing. Off,
//! nothing more is done.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::recording::SessionView;
use super::session::{SessionRecord, outcome_rank, tunnel_key};
use crate::azure::AzureError;
use crate::dates::{format_date, format_utc_millis, timestamp};
use crate::export::Outbox;
use crate::export::rows::SessionRow;
use crate::tables::ops::{Companions, Once, get, insert_once, query_all, remove, update_with};
use crate::tables::{Entity, Filter, Stored, TableStore, WriteMode, filter::Op};
use crate::tables::{get_i64, get_list, get_str, int64};

/// Table of the sessions' day rows.
pub const DAYS_TABLE: &str = "sessionwindows";

/// Most recording ids kept per session row.
pub const MAX_IDS: usize = 20;

/// A closed time range `[from, until]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First instant.
    pub from: OffsetDateTime,
    /// Last instant.
    pub until: OffsetDateTime,
}

impl Span {
    /// The instant `t` alone.
    pub fn at(t: OffsetDateTime) -> Self {
        Self { from: t, until: t }
    }

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

    /// `spans` merged where they overlap or lie at most `gap` apart.
    pub fn merged_near(mut spans: Vec<Self>, gap: time::Duration) -> Vec<Self> {
        spans.sort_by_key(|s| s.from);
        let mut out: Vec<Self> = Vec::new();
        for s in spans {
            match out.last_mut() {
                Some(last) if s.from <= last.until + gap => *last = last.union(s),
                _ => out.push(s),
            }
        }
        out
    }

    /// True when this span lies within the union of `spans`.
    pub fn within(&self, spans: &[Self]) -> bool {
        let merged = Self::merged_near(spans.to_vec(), time::Duration::ZERO);
        merged.iter().any(|s| s.covers(self))
    }

    /// `times` grouped into spans whose neighbours are less than `gap` apart.
    pub fn runs(times: Vec<OffsetDateTime>, gap: time::Duration) -> Vec<Self> {
        // Less than `gap` apart is at most a nanosecond (the times' resolution) less.
        let spans = times.into_iter().map(Self::at).collect();
        Self::merged_near(spans, gap - time::Duration::NANOSECOND)
    }
}

/// A session as the index holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayRow {
    /// Tunnel id.
    pub tunnel_id: String,
    /// Start (or first record) time: its day is the partition.
    pub start: OffsetDateTime,
    /// End, when known.
    pub end: Option<OffsetDateTime>,
    /// Bastion host.
    pub host: String,
    /// VM name.
    pub vm: String,
    /// VM user.
    pub user_name: String,
    /// Portal user.
    pub user_email: String,
    /// Protocol.
    pub protocol: String,
    /// Outcome.
    pub outcome: String,
    /// Client address.
    pub client_ip: String,
    /// Target resource id.
    pub target_resource_id: String,
    /// Subscription of the target.
    pub subscription: String,
    /// Resource group of the target.
    pub resource_group: String,
    /// Duration in ms, when known.
    pub duration_ms: Option<i64>,
    /// When the end became known to us (processing time): the grace period counts from here.
    pub end_arrived_at: Option<OffsetDateTime>,
    /// When the row was first written under its start day (processing time, `Written`): a row
    /// written long after its start is found by it (the authorization pass reads the rows written
    /// since its last pass, whatever their start).
    pub written: Option<OffsetDateTime>,
    /// The current match of at least one recording names this session.
    pub recorded: bool,
    /// Ids of the recordings whose current match names it (the first [`MAX_IDS`]).
    pub recording_ids: Vec<String>,
    /// How it is recorded (`RecordedBy`, [`Derived::by`]): `exact` (a recording names its tunnel
    /// id), `probable` (matched by time alone), `ambiguous` (unrecorded: a time match tied between
    /// it and another session), empty otherwise.
    pub recorded_by: String,
    /// A recording vouching for it was overwritten outside the product (`RecordingReplaced`):
    /// its custody is broken, shown beside its recorded state.
    pub replaced: bool,
    /// `session.unrecorded` already emitted.
    pub unrecorded_notified: bool,
    /// A join pass has derived its state at least once (`Joined`): until then it looks up the
    /// recordings that named its tunnel id before it existed.
    pub joined: bool,
    /// Creation times of recordings whose match may have changed with this session, until joined.
    pub pending: Option<Span>,
    /// The session's latest review (of it, or of a recording joined to it), as the reviews
    /// domain put it here ([`put_review`]).
    pub review: Option<ReviewMark>,
    /// Its authorization verdict (`Authorization`: `pim`, `pim-group`, `jit`, `standing`,
    /// `none`, `unknown`; empty: not decided yet), as the authorization domain put it here
    /// ([`put_authorization`]).
    pub authorization: String,
    /// The authorization record as JSON text (`AuthorizationRecord`: evidence, window,
    /// approver, justification, ticket, reasons).
    pub authorization_record: String,
}

/// A session's latest review as its day row carries it (`ReviewId`, `ReviewVerdict`,
/// `Reviewer`, `ReviewedAt`): what its `BastionSessions_CL` rows show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewMark {
    /// The review's stable id (breaks ties between reviews of the same millisecond).
    pub id: String,
    /// `ok`, `follow-up`, `incident`.
    pub verdict: String,
    /// The authenticated principal.
    pub reviewer: String,
    /// When it was recorded.
    pub at: OffsetDateTime,
}

impl ReviewMark {
    /// True when `self` is later than `other` (by time, then id): it supersedes it.
    pub fn supersedes(&self, other: Option<&Self>) -> bool {
        other.is_none_or(|o| (self.at, &self.id) > (o.at, &o.id))
    }

    /// The later of two.
    fn latest(a: Option<Self>, b: Option<Self>) -> Option<Self> {
        match (a, b) {
            (Some(a), b) if a.supersedes(b.as_ref()) => Some(a),
            (a, None) => a,
            (_, b) => b,
        }
    }
}

/// The index partition (start day) of a session, when it has any time at all.
pub fn day_of(s: &SessionRecord) -> Option<String> {
    s.session_start
        .or(s.first_record_time)
        .map(|t| format_date(t.date()))
}

impl DayRow {
    /// The day row of session `s` (`None` when it has no time yet), with empty state.
    pub fn of(s: &SessionRecord) -> Option<Self> {
        Some(Self {
            tunnel_id: s.tunnel_id.clone(),
            start: s.session_start.or(s.first_record_time)?,
            end: s.session_end,
            host: s.bastion_host.clone(),
            vm: s.target_vm.clone(),
            user_name: s.user_name.clone(),
            user_email: s.user_email.clone(),
            protocol: s.protocol.clone(),
            outcome: s.outcome.clone(),
            client_ip: s.client_ip.clone(),
            target_resource_id: s.target_resource_id.clone(),
            subscription: s.subscription.clone(),
            resource_group: s.resource_group.clone(),
            duration_ms: s.effective_duration_ms(),
            end_arrived_at: None,
            written: None,
            recorded: false,
            recording_ids: Vec::new(),
            recorded_by: String::new(),
            replaced: false,
            unrecorded_notified: false,
            joined: false,
            pending: None,
            review: None,
            authorization: String::new(),
            authorization_record: String::new(),
        })
    }

    /// Its partition.
    pub fn day(&self) -> String {
        format_date(self.start.date())
    }

    /// The outcome as the lists show it: `success`, `failed-login`, `other` or `unknown`.
    pub fn public_outcome(&self) -> &'static str {
        match self.outcome.as_str() {
            "connected" => "success",
            "login-failed" => "failed-login",
            "other" => "other",
            _ => "unknown",
        }
    }

    /// The fields a recording joined to this session shows.
    pub fn view(&self) -> SessionView {
        SessionView {
            tunnel_id: self.tunnel_id.clone(),
            bastion_host: self.host.clone(),
            user_name: self.user_name.clone(),
            user_email: self.user_email.clone(),
            client_ip: self.client_ip.clone(),
            protocol: self.protocol.clone(),
            target_resource_id: self.target_resource_id.clone(),
            target_vm: self.vm.clone(),
            subscription: self.subscription.clone(),
            resource_group: self.resource_group.clone(),
            start: Some(self.start),
            end: self.end,
            duration_ms: self.duration_ms,
        }
    }

    /// Its `BastionSessions_CL` row as of `at`, with the latest review and the authorization it
    /// carries; `None` without a tunnel id.
    pub fn session_row(&self, at: OffsetDateTime) -> Option<SessionRow> {
        let r = self.review.as_ref();
        Some(SessionRow {
            time_generated: at,
            session_id: Some(self.tunnel_id.clone()).filter(|t| !t.is_empty())?,
            bastion_host: self.host.clone(),
            user_name: self.user_name.clone(),
            user_email: self.user_email.clone(),
            client_ip: self.client_ip.clone(),
            target_vm: self.vm.clone(),
            target_resource_id: self.target_resource_id.clone(),
            protocol: self.protocol.clone(),
            session_start: Some(self.start),
            session_end: self.end,
            duration_ms: self.duration_ms,
            outcome: self.public_outcome().to_owned(),
            recorded: self.recorded,
            recording_ids: self.recording_ids[..self.recording_ids.len().min(MAX_IDS)].to_vec(),
            join_pending: self.pending.is_some(),
            review_verdict: r.map(|r| r.verdict.clone()).unwrap_or_default(),
            reviewer: r.map(|r| r.reviewer.clone()).unwrap_or_default(),
            reviewed_at: r.map(|r| r.at),
            authorization: self.authorization.clone(),
        })
    }

    /// Reads an index entity.
    pub fn from_entity(e: &Entity) -> Option<Self> {
        let s = |k: &str| get_str(e, k).unwrap_or_default().to_owned();
        let t = |k: &str| get_str(e, k).and_then(timestamp);
        let b = |k: &str| e.get(k).and_then(Value::as_bool).unwrap_or(false);
        Some(Self {
            tunnel_id: get_str(e, "RowKey")?.to_owned(),
            start: t("Start")?,
            end: t("End"),
            host: s("BastionHost"),
            vm: s("TargetVm"),
            user_name: s("UserName"),
            user_email: s("UserEmail"),
            protocol: s("Protocol"),
            outcome: s("Outcome"),
            client_ip: s("ClientIp"),
            target_resource_id: s("TargetResourceId"),
            subscription: s("TargetSubscription"),
            resource_group: s("TargetResourceGroup"),
            duration_ms: get_i64(e, "DurationMs"),
            end_arrived_at: t("EndArrivedAt"),
            written: t("Written"),
            recorded: b("Recorded"),
            recording_ids: get_list(e, "RecordingIds").map(str::to_owned).collect(),
            recorded_by: s("RecordedBy"),
            replaced: b("RecordingReplaced"),
            unrecorded_notified: b("UnrecordedNotified"),
            joined: b("Joined"),
            pending: t("JoinFrom")
                .zip(t("JoinUntil"))
                .map(|(from, until)| Span { from, until }),
            review: t("ReviewedAt")
                .filter(|_| !s("ReviewVerdict").is_empty())
                .map(|at| ReviewMark {
                    id: s("ReviewId"),
                    verdict: s("ReviewVerdict"),
                    reviewer: s("Reviewer"),
                    at,
                }),
            authorization: s("Authorization"),
            authorization_record: s("AuthorizationRecord"),
        })
    }

    /// The entity: every field, the state flags always (queries filter on them), an unknown end
    /// and an absent pending range as `""` (the time match compares `End` as text).
    pub fn to_entity(&self) -> Entity {
        let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
        let (ids, r) = (&self.recording_ids, self.review.as_ref());
        let mut e = crate::tables::entity(json!({
            "PartitionKey": self.day(), "RowKey": tunnel_key(&self.tunnel_id),
            "Start": t(Some(self.start)), "End": t(self.end), "BastionHost": self.host,
            "TargetVm": self.vm, "UserName": self.user_name, "UserEmail": self.user_email,
            "Protocol": self.protocol, "Outcome": self.outcome, "ClientIp": self.client_ip,
            "TargetResourceId": self.target_resource_id, "TargetSubscription": self.subscription,
            "TargetResourceGroup": self.resource_group,
            "EndArrivedAt": self.end_arrived_at.map(format_utc_millis), "Recorded": self.recorded,
            "Written": self.written.map(format_utc_millis),
            "RecordingIds": ids[..ids.len().min(MAX_IDS)].join(","),
            "RecordedBy": self.recorded_by, "RecordingReplaced": self.replaced,
            "UnrecordedNotified": self.unrecorded_notified, "Joined": self.joined,
            "JoinFrom": t(self.pending.map(|p| p.from)),
            "JoinUntil": t(self.pending.map(|p| p.until)),
            "ReviewId": r.map(|r| &r.id), "ReviewVerdict": r.map(|r| &r.verdict),
            "Reviewer": r.map(|r| &r.reviewer), "ReviewedAt": r.map(|r| format_utc_millis(r.at)),
            "Authorization": (!self.authorization.is_empty()).then_some(&self.authorization),
            "AuthorizationRecord": (!self.authorization_record.is_empty())
                .then_some(&self.authorization_record),
        }));
        e.retain(|_, v| !v.is_null());
        if let Some(d) = self.duration_ms {
            int64(&mut e, "DurationMs", d);
        }
        e
    }

    /// Takes the session's fields from `s`, keeping this row's state and markers, and every field
    /// this row knows that `s` does not (the earlier start, the later end, the higher-ranked
    /// outcome). A session only
    /// gains fields as records merge, so for a writer whose `s` is the stored session this is `s`'s
    /// fields; a writer whose `s` was read before another writer's change (two hours of one
    /// session written at once) may write after it, and must not take the end or a name away.
    fn take_fields(&mut self, s: &SessionRecord) {
        let Some(fresh) = Self::of(s) else {
            return;
        };
        let end = fresh.end.max(self.end);
        if end == fresh.end {
            self.duration_ms = fresh.duration_ms.or(self.duration_ms);
        }
        // The earlier: a view without the session's start reads it as its first record's.
        (self.start, self.end) = (fresh.start.min(self.start), end);
        self.tunnel_id = fresh.tunnel_id;
        if outcome_rank(&fresh.outcome) >= outcome_rank(&self.outcome) {
            self.outcome = fresh.outcome;
        }
        for (kept, fresh) in [
            (&mut self.host, fresh.host),
            (&mut self.vm, fresh.vm),
            (&mut self.user_name, fresh.user_name),
            (&mut self.user_email, fresh.user_email),
            (&mut self.protocol, fresh.protocol),
            (&mut self.client_ip, fresh.client_ip),
            (&mut self.target_resource_id, fresh.target_resource_id),
            (&mut self.subscription, fresh.subscription),
            (&mut self.resource_group, fresh.resource_group),
        ] {
            if !fresh.is_empty() {
                *kept = fresh;
            }
        }
    }
}

/// The one recorder of every writer of the table: records the `BastionSessions_CL` row of
/// `next` (the row about to be written, `None`: nothing is written) as of `at`, before the write,
/// when the export is on; off, nothing.
///
/// # Errors
/// Table errors.
async fn record(
    outbox: &Outbox,
    next: Option<&DayRow>,
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    match next
        .filter(|_| outbox.enabled())
        .and_then(|w| w.session_row(at))
    {
        Some(row) => outbox.record(&row).await,
        None => Ok(()),
    }
}

/// [`record`] within an update's `change`: what it returns once `next` is recorded (owned, so the
/// future borrows nothing).
fn record_then_write(
    outbox: &Outbox,
    next: Option<DayRow>,
    at: OffsetDateTime,
) -> impl Future<Output = Result<Option<(Entity, Companions)>, AzureError>> + Send + use<> {
    let outbox = outbox.clone();
    async move {
        record(&outbox, next.as_ref(), at).await?;
        Ok(next.map(|w| (w.to_entity(), Companions::new())))
    }
}

/// Widens `slot` by `span`.
fn widen(slot: &mut Option<Span>, span: Option<Span>) {
    if let Some(span) = span {
        *slot = Some(slot.map_or(span, |p| p.union(span)));
    }
}

/// Where a session's day row stood before a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Before<'a> {
    /// The session had no row: its day row is inserted without a read (one a crash left makes
    /// the insert conflict; it is read and merged then, so a wrong guess costs a call, never a row).
    New,
    /// Under this start day (`None`: the session had no time, so no day row).
    Day(Option<&'a str>),
}

/// Inserts the day row of a session seen for the first time, never over a stored one: `false`
/// when a row is there already (the caller then merges through [`put`]).
///
/// # Errors
/// Table errors.
pub async fn insert_new(
    tables: &dyn TableStore,
    outbox: &Outbox,
    s: &SessionRecord,
    arrived: OffsetDateTime,
    pending: Option<Span>,
) -> Result<bool, AzureError> {
    let Some(mut w) = DayRow::of(s) else {
        return Ok(true);
    };
    if w.end.is_some() {
        w.end_arrived_at = Some(arrived);
    }
    w.written = Some(arrived);
    widen(&mut w.pending, pending);
    record(outbox, Some(&w), arrived).await?;
    let written = insert_once(tables, DAYS_TABLE, &w.to_entity()).await?;
    Ok(matches!(written, Once::Inserted(_)))
}

/// Writes the day row of `s`: its fields, the end's arrival (`arrived` when the end is new),
/// and its pending range widened by `pending`, keeping its state and markers. When a later record
/// revealed an earlier start day, the row moves: the old row's markers and pending range are
/// carried, and the old row is deleted once the new one is written (its recorded state is derived
/// again by the join, which the move's pending range asks for). `stray`: a day the writer put the
/// row under in an earlier attempt, neither the stored session's nor this one: its row is deleted
/// last (one gone already is no error).
///
/// # Errors
/// Table errors.
pub async fn put(
    tables: &dyn TableStore,
    outbox: &Outbox,
    s: &SessionRecord,
    arrived: OffsetDateTime,
    before: Before<'_>,
    pending: Option<Span>,
    stray: Option<&str>,
) -> Result<(), AzureError> {
    let Some(day) = day_of(s) else {
        return Ok(());
    };
    let old_day = match before {
        Before::Day(Some(d)) if d != day => Some(d),
        _ => None,
    };
    let old = match old_day {
        Some(d) => get(tables, DAYS_TABLE, d, &tunnel_key(&s.tunnel_id))
            .await?
            .and_then(|o| DayRow::from_entity(&o.entity)),
        None => None,
    };
    let current = match before {
        Before::New => None,
        Before::Day(_) => get(tables, DAYS_TABLE, &day, &tunnel_key(&s.tunnel_id)).await?,
    };
    update_with(tables, DAYS_TABLE, &day, &s.tunnel_id, current, |cur| {
        let cur = cur.and_then(|c| DayRow::from_entity(&c.entity));
        let next = cur.clone().or_else(|| DayRow::of(s)).map(|mut w| {
            if let Some(o) = &old {
                w.unrecorded_notified |= o.unrecorded_notified;
                w.joined |= o.joined;
                w.end_arrived_at = w.end_arrived_at.or(o.end_arrived_at);
                widen(&mut w.pending, o.pending);
                w.review = ReviewMark::latest(w.review.take(), o.review.clone());
            }
            w.take_fields(s);
            if w.end.is_some() && w.end_arrived_at.is_none() {
                w.end_arrived_at = Some(arrived);
            }
            w.written = w.written.or(Some(arrived));
            widen(&mut w.pending, pending);
            w
        });
        let next = next.filter(|w| cur.as_ref() != Some(w));
        record_then_write(outbox, next, arrived)
    })
    .await?;
    let tunnel = tunnel_key(&s.tunnel_id);
    for d in old_day.into_iter().chain(stray) {
        remove(tables, DAYS_TABLE, d, &tunnel, None).await?;
    }
    Ok(())
}

/// A session's recorded state as the join derives it from the current matches of the recordings
/// that can name it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    /// Every recording whose match vouches for it (exact or probable).
    pub ids: Vec<String>,
    /// The strongest of their matches: `exact`, else `probable`; with none, `ambiguous` when a
    /// time match tied between it and another session, else empty.
    pub by: &'static str,
    /// One of them was overwritten outside the product.
    pub replaced: bool,
}

impl Derived {
    /// Adds a match of `confidence` (`exact`, `probable` or `ambiguous`), of a recording
    /// `replaced` or not, keeping the strongest.
    pub fn note(&mut self, confidence: &'static str, replaced: bool) {
        let rank = |c: &str| {
            ["", "ambiguous", "probable", "exact"]
                .iter()
                .position(|k| *k == c)
        };
        if rank(confidence) > rank(self.by) {
            self.by = confidence;
        }
        self.replaced |= replaced;
    }
}

/// `row` with its recorded state `d` and its pending range cleared when it is still `joined` (the
/// range the join read: one a change widened since stays, for the next join); `None` when that
/// changes nothing.
fn with_recorded(row: &DayRow, d: &Derived, joined: Option<Span>) -> Option<DayRow> {
    let (ids, mut w) = (&d.ids, row.clone());
    w.recording_ids = ids[..ids.len().min(MAX_IDS)].to_vec();
    w.recorded = !ids.is_empty();
    w.recorded_by = d.by.to_owned();
    w.replaced = d.replaced && w.recorded;
    w.joined = true;
    if w.pending == joined {
        w.pending = None;
    }
    (w != *row).then_some(w)
}

/// Reads the row of session `tunnel` under start day `day`.
///
/// # Errors
/// Table errors.
pub async fn get_row(
    tables: &dyn TableStore,
    day: &str,
    tunnel: &str,
) -> Result<Option<Stored>, AzureError> {
    get(tables, DAYS_TABLE, day, &tunnel_key(tunnel)).await
}

/// Records the join of sessions: each `(row as read, state, clear)` gets its recorded state and, when `clear`, loses the pending range it was read with, in one entity group
/// transaction per partition and 100 rows, each conditional on the row as read; when a batch is
/// refused (a row changed since), each row is written alone on the row as stored then. The rows
/// that change are first recorded as changed ([`changes`](super::changes)), so none is lost to a
/// crash between the two.
///
/// # Errors
/// Table errors.
pub async fn put_recorded(
    tables: &dyn TableStore,
    outbox: &Outbox,
    mut rows: Vec<(Stored, Derived, bool)>,
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    let day = |s: &Stored| {
        get_str(&s.entity, "PartitionKey")
            .unwrap_or_default()
            .to_owned()
    };
    rows.sort_by_key(|(s, _, _)| day(s));
    let planned: Vec<(&Stored, DayRow, &Derived, Option<Span>)> = rows
        .iter()
        .filter_map(|(read, ids, clear)| {
            let row = DayRow::from_entity(&read.entity)?;
            let joined = row.pending.filter(|_| *clear);
            let next = with_recorded(&row, ids, joined)?;
            Some((read, next, ids, joined))
        })
        .collect();
    let changed: Vec<(String, String)> = planned
        .iter()
        .map(|(_, next, _, _)| (next.day(), next.tunnel_id.clone()))
        .collect();
    super::changes::record(tables, &changed).await?;
    let days = planned.chunk_by(|a, b| day(a.0) == day(b.0));
    for chunk in days.flat_map(|d| d.chunks(crate::tables::MAX_BATCH)) {
        let writes: Vec<(Entity, WriteMode)> = chunk
            .iter()
            .map(|(read, next, _, _)| (next.to_entity(), WriteMode::IfMatch(read.etag.clone())))
            .collect();
        for (_, next, _, _) in chunk {
            record(outbox, Some(next), at).await?;
        }
        if writes.len() > 1 && tables.batch(DAYS_TABLE, &writes).await.is_ok() {
            continue;
        }
        for (read, next, ids, joined) in chunk {
            let current = Some((*read).clone());
            update_with(
                tables,
                DAYS_TABLE,
                &next.day(),
                &next.tunnel_id,
                current,
                |cur| {
                    let row = cur.and_then(|c| DayRow::from_entity(&c.entity));
                    let next = row.and_then(|row| with_recorded(&row, ids, *joined));
                    record_then_write(outbox, next, at)
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// Rewrites the row of `tunnel` under start day `day` with `f` (given the row as stored at each
/// attempt; `None`: nothing to write), recorded first as of `at`, as every write of the table is.
async fn change(
    tables: &dyn TableStore,
    outbox: &Outbox,
    (day, tunnel): (&str, &str),
    at: OffsetDateTime,
    mut f: impl FnMut(DayRow) -> Option<DayRow> + Send,
) -> Result<(), AzureError> {
    let rk = tunnel_key(tunnel);
    let current = get(tables, DAYS_TABLE, day, &rk).await?;
    update_with(tables, DAYS_TABLE, day, &rk, current, |cur| {
        let next = cur.and_then(|c| DayRow::from_entity(&c.entity));
        record_then_write(outbox, next.and_then(&mut f), at)
    })
    .await
    .map(drop)
}

/// Widens the pending range of `w`'s row by `span`: the join could not derive its state this time
/// and leaves it to the next pass.
///
/// # Errors
/// Table errors.
pub async fn put_pending(
    tables: &dyn TableStore,
    outbox: &Outbox,
    w: &DayRow,
    span: Span,
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    change(tables, outbox, (&w.day(), &w.tunnel_id), at, |mut row| {
        (!row.pending.is_some_and(|p| p.covers(&span))).then(|| {
            widen(&mut row.pending, Some(span));
            row
        })
    })
    .await
}

/// Sets `UnrecordedNotified` on `row` when `due` (given the row as stored at each attempt) says
/// it is still due; `seen` is set when any attempt found it due, also when the write then failed
/// (a mark whose answer was lost still counts).
///
/// # Errors
/// Table errors.
pub async fn mark_unrecorded(
    tables: &dyn TableStore,
    outbox: &Outbox,
    row: &DayRow,
    due: impl Fn(&DayRow) -> bool + Send + Sync,
    seen: &mut bool,
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    change(
        tables,
        outbox,
        (&row.day(), &row.tunnel_id),
        at,
        |mut row| {
            let now_due = due(&row);
            *seen |= now_due;
            row.unrecorded_notified = true;
            now_due.then_some(row)
        },
    )
    .await
}

/// Makes `review` the latest review on the row of session `tunnel` under start day `day`, unless
/// the row holds a later one (or the same: a retry writes nothing), so its `BastionSessions_CL`
/// row carries the review. No row (a session without a time): nothing. The reviews domain calls
/// this after the review's own rows are written.
///
/// # Errors
/// Table errors.
pub async fn put_review(
    tables: &dyn TableStore,
    outbox: &Outbox,
    day: &str,
    tunnel: &str,
    review: &ReviewMark,
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    change(tables, outbox, (day, tunnel), at, |mut row| {
        review.supersedes(row.review.as_ref()).then(|| {
            row.review = Some(review.clone());
            row
        })
    })
    .await
}

/// Puts session `tunnel`'s authorization `verdict` and `record` (JSON text) on its row under
/// start day `day`, unless the row holds them already (a pass deciding the same writes nothing).
/// No row: nothing.
///
/// # Errors
/// Table errors.
pub async fn put_authorization(
    tables: &dyn TableStore,
    outbox: &Outbox,
    (day, tunnel): (&str, &str),
    (verdict, record): (&str, &str),
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    change(tables, outbox, (day, tunnel), at, |mut row| {
        (row.authorization != verdict || row.authorization_record != record).then(|| {
            row.authorization = verdict.to_owned();
            row.authorization_record = record.to_owned();
            row
        })
    })
    .await
}

/// Takes review `id` off the row of session `tunnel` under start day `day` when it is the row's
/// latest (a review found to be the session user's own no longer counts); nothing otherwise.
///
/// # Errors
/// Table errors.
pub async fn drop_review(
    tables: &dyn TableStore,
    outbox: &Outbox,
    (day, tunnel): (&str, &str),
    id: &str,
    at: OffsetDateTime,
) -> Result<(), AzureError> {
    change(tables, outbox, (day, tunnel), at, |mut row| {
        (row.review.as_ref().map(|r| r.id.as_str()) == Some(id)).then(|| {
            row.review = None;
            row
        })
    })
    .await
}

/// Rows with a pending join whose start day is `since_day` or later, at most `limit`, as read.
///
/// # Errors
/// Table errors.
pub async fn pending(
    tables: &dyn TableStore,
    since_day: &str,
    limit: usize,
) -> Result<Vec<(DayRow, Stored)>, AzureError> {
    let filter = Filter::And(vec![
        Filter::str("PartitionKey", Op::Ge, since_day),
        Filter::str("JoinFrom", Op::Gt, ""),
    ]);
    query(tables, &filter, limit).await
}

/// The rows matching `filter`, at most `limit` read, as read.
///
/// # Errors
/// Table errors.
pub async fn query(
    tables: &dyn TableStore,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<(DayRow, Stored)>, AzureError> {
    Ok(read_rows(
        query_all(tables, DAYS_TABLE, filter, limit).await?,
    ))
}

/// The day rows of the sessions that started within `span` and match every one of `more`, read by
/// one query over the span's day partitions (a `PartitionKey` range, followed through its
/// continuations: the Table service continues after 1,000 rows, 5 seconds or at a partition
/// boundary) rather than one query per day: for a long span read every tick.
///
/// # Errors
/// Table errors.
pub async fn scan(
    tables: &dyn TableStore,
    span: Span,
    more: Vec<Filter>,
) -> Result<Vec<DayRow>, AzureError> {
    let mut all = vec![
        Filter::str("PartitionKey", Op::Ge, format_date(span.from.date())),
        Filter::str("PartitionKey", Op::Le, format_date(span.until.date())),
        Filter::str("Start", Op::Ge, format_utc_millis(span.from)),
        Filter::str("Start", Op::Le, format_utc_millis(span.until)),
    ];
    all.extend(more);
    let rows = query_all(tables, DAYS_TABLE, &Filter::And(all), usize::MAX).await?;
    Ok(read_rows(rows).into_iter().map(|(w, _)| w).collect())
}

/// Parses rows as read, dropping any that are not day rows.
pub fn read_rows(rows: Vec<Stored>) -> Vec<(DayRow, Stored)> {
    rows.into_iter()
        .filter_map(|s| Some((DayRow::from_entity(&s.entity)?, s)))
        .collect()
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn row() -> DayRow {
        let mut s = SessionRecord::new("t");
        s.session_start = Some(datetime!(2025-03-14 09:00 UTC));
        s.outcome = "connected".into();
        DayRow::of(&s).expect("row")
    }

    #[test]
    fn runs_split_where_neighbours_are_the_gap_apart_or_more() {
        let t = datetime!(2025-03-14 09:00 UTC);
        let gap = time::Duration::minutes(10);
        let nano = time::Duration::NANOSECOND;
        let (near, far) = (t + gap * 2 - nano * 2, t + gap * 3 - nano * 2);
        let times = vec![near, t, t + gap - nano, far];
        let first = Span {
            from: t,
            until: near,
        };
        assert_eq!(Span::runs(times, gap), vec![first, Span::at(far)]);
        assert_eq!(Span::runs(vec![t, t + gap], gap).len(), 2, "the gap apart");
    }

    #[test]
    fn rows_round_trip_and_keep_their_state_flags() {
        let mut w = row();
        w.pending = Some(Span::at(datetime!(2025-03-14 09:30 UTC)));
        w.recording_ids = vec!["a".into()];
        w.recorded = true;
        w.recorded_by = "probable".into();
        w.replaced = true;
        w.duration_ms = Some(5);
        w.authorization = "pim".into();
        w.authorization_record = r#"{"evidence":["a"]}"#.into();
        w.review = Some(ReviewMark {
            id: "r-1".into(),
            verdict: "ok".into(),
            reviewer: "auditor@contoso.com".into(),
            at: datetime!(2025-03-14 12:00 UTC),
        });
        let mut e = w.to_entity();
        crate::tables::strip_annotations(&mut e);
        assert_eq!(DayRow::from_entity(&e), Some(w));
        let e = row().to_entity();
        assert_eq!(e["Recorded"], Value::Bool(false), "queries filter on it");
        assert_eq!(e["End"], "", "an unknown end compares as text");
    }

    #[test]
    fn the_state_is_derived_whole_and_the_pending_range_cleared_only_as_read() {
        let read = Some(Span::at(datetime!(2025-03-14 09:30 UTC)));
        let mut w = row();
        w.pending = read;
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let two = Derived {
            ids,
            by: "exact",
            replaced: false,
        };
        let none = Derived::default();
        let marked = with_recorded(&w, &two, read).expect("marked");
        assert_eq!(
            (marked.recorded, marked.recording_ids.len(), marked.pending),
            (true, 2, None)
        );
        assert_eq!(with_recorded(&marked, &two, None), None, "same links");
        let withdrawn = with_recorded(&marked, &none, None).expect("withdrawn");
        assert!(!withdrawn.recorded && withdrawn.recording_ids.is_empty());
        let wider = Some(Span::at(datetime!(2025-03-14 11:00 UTC)));
        w.pending = wider;
        let kept = with_recorded(&w, &none, read).expect("state written");
        assert_eq!(kept.pending, wider, "a change since the read stays pending");
        let many: Vec<String> = (0..30).map(|i| format!("r{i}")).collect();
        assert_eq!(
            with_recorded(
                &row(),
                &Derived {
                    ids: many,
                    by: "exact",
                    replaced: false
                },
                None
            )
            .expect("marked")
            .recording_ids
            .len(),
            MAX_IDS
        );
    }
}
