//! `ReviewQueue`'s work ([`refresh`]): the sessions the join pass recorded as changed
//! ([`changes`]), whatever their start day, derived again and put in or out of the queue.
//!
//! A run first compares the settings and the open estate findings with those the queue was
//! derived under ([`basis`](super::basis)), then takes the record a page at a time: each session's
//! `sessionwindows` row (a point read), the context its risk needs (the failed logins before it,
//! a query per start day; the sessions right after a failed login among them; the user's
//! earlier sessions to the VM, a `reviewpairs` row per pair), its score and reasons, its entry
//! ([`entry::put`]); then it clears the page's records as read (one recorded again meanwhile
//! stays for the next run). A run that fails leaves the record, so the next one derives again.

use std::collections::{BTreeSet, HashSet};

use futures::{StreamExt as _, TryStreamExt as _};
use time::{Duration, OffsetDateTime};

use super::entry::{self, Derived, PARTITION, rank_key};
use super::risk::{self, Reason, user_of};
use super::{basis, pairs};
use crate::catalogue::changes::{self, Change};
use crate::catalogue::session::outcome::LOGIN_FAILED;
use crate::catalogue::window::{self, Span, WindowRow};
use crate::clock::Budget;
use crate::dates::format_utc_millis;
use crate::ports::Ports;
use crate::reviews::settings::ReviewSettings;
use crate::tables::filter::Op;
use crate::tables::{Entity, Filter, TableError, TableStore};

/// Changes taken per page.
const PAGE: u32 = 1000;
/// Session rows read at once.
const READERS: usize = 16;
/// How long a run takes pages (the timer runs every 5 minutes; the rest waits for the next run).
const RUN: Duration = Duration::minutes(4);

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Sessions derived.
    pub sessions: usize,
    /// Of those, queued now.
    pub queued: usize,
}

/// Derives the sessions recorded as changed, page by page, within the run's time.
///
/// # Errors
/// Table errors (the record stays: the next run derives again, every write being idempotent).
pub async fn refresh(
    ports: &Ports,
    settings: &ReviewSettings,
    now: OffsetDateTime,
) -> Result<Refreshed, TableError> {
    let tables = ports.tables.as_ref();
    // A finding opening or clearing on a host changes its sessions' risk.
    let flagged = crate::estate::store::flagged_hosts(tables).await?;
    basis::rebase(tables, settings, &flagged, now).await?;
    let budget = Budget::after(ports.clock.clone(), RUN);
    let mut done = Refreshed::default();
    loop {
        let page = changes::pending(tables, PAGE).await?;
        let sessions = windows_of(tables, &page).await?;
        let derived = derive(tables, settings, &flagged, sessions, now).await?;
        done.sessions += derived.len();
        done.queued += entry::put(tables, &derived).await?;
        changes::clear(tables, &page).await?;
        if page.len() < PAGE as usize || budget.passed() {
            return Ok(done);
        }
    }
}

/// The current rows of the changed sessions (a session gone from its day moved: its new day is
/// recorded too).
async fn windows_of(
    tables: &dyn TableStore,
    page: &[Change],
) -> Result<Vec<WindowRow>, TableError> {
    let mut reads = Vec::with_capacity(page.len());
    for c in page {
        reads.push(window::get_row(tables, &c.day, &c.tunnel));
    }
    let rows: Vec<_> = futures::stream::iter(reads)
        .buffered(READERS)
        .try_collect()
        .await?;
    Ok(rows
        .into_iter()
        .flatten()
        .filter_map(|s| WindowRow::from_entity(&s.entity))
        .collect())
}

/// Each session's rank row (none when nothing calls for a review), from its row and context.
async fn derive(
    tables: &dyn TableStore,
    settings: &ReviewSettings,
    flagged: &BTreeSet<String>,
    mut sessions: Vec<WindowRow>,
    now: OffsetDateTime,
) -> Result<Vec<Derived>, TableError> {
    let later = after_failures(tables, settings, &sessions).await?;
    sessions.extend(later);
    let bursts = bursts(tables, settings, &sessions).await?;
    let firsts = pairs::firsts(tables, &sessions).await?;
    Ok(sessions
        .iter()
        .map(|s| {
            let ctx = risk::Context {
                burst: bursts.contains(&s.tunnel_id),
                first_to_vm: firsts.contains(&s.tunnel_id),
                estate: flagged.contains(&s.host.to_ascii_lowercase()),
            };
            let (score, reasons) = risk::assess(s, ctx, settings, now);
            Derived {
                tunnel: s.tunnel_id.clone(),
                rank: (score > 0).then(|| rank_row(s, score, &reasons, settings.deadline)),
            }
        })
        .collect())
}

/// The sessions among `sessions` in or right after a failed-login burst, with the failed logins
/// before them read for context (a query per start day of each stretch of them).
async fn bursts(
    tables: &dyn TableStore,
    settings: &ReviewSettings,
    sessions: &[WindowRow],
) -> Result<HashSet<String>, TableError> {
    let window = settings.burst_window;
    let failed = [Filter::str("Outcome", Op::Eq, LOGIN_FAILED)];
    let mut context: Vec<WindowRow> = sessions.to_vec();
    let mine: HashSet<&str> = sessions.iter().map(|s| s.tunnel_id.as_str()).collect();
    let times = sessions.iter().map(|s| s.start).collect();
    for run in Span::runs(times, Duration::days(1)) {
        let span = Span {
            from: run.from - window,
            until: run.until,
        };
        let before = window::started_within(tables, span, &failed).await?;
        context.extend(
            before
                .into_iter()
                .filter(|w| !mine.contains(w.tunnel_id.as_str())),
        );
    }
    let threshold = settings.burst_threshold;
    Ok(risk::in_bursts(&context, threshold, window)
        .into_iter()
        .collect())
}

/// The sessions of a failed login's user or address that started within the burst window after
/// it, not among `sessions`: a failed login that arrived late can put them in a burst.
async fn after_failures(
    tables: &dyn TableStore,
    settings: &ReviewSettings,
    sessions: &[WindowRow],
) -> Result<Vec<WindowRow>, TableError> {
    let failed: Vec<&WindowRow> = sessions
        .iter()
        .filter(|s| s.outcome == LOGIN_FAILED)
        .collect();
    let keys: HashSet<(u8, String)> = failed.iter().flat_map(|s| risk::keys(s)).collect();
    let mut seen: HashSet<String> = sessions.iter().map(|s| s.tunnel_id.clone()).collect();
    let mut out = Vec::new();
    let window = settings.burst_window;
    for run in Span::runs(failed.iter().map(|s| s.start).collect(), window) {
        let span = Span {
            from: run.from,
            until: run.until + window,
        };
        for w in window::started_within(tables, span, &[]).await? {
            if risk::keys(&w).iter().any(|k| keys.contains(k)) && seen.insert(w.tunnel_id.clone()) {
                out.push(w);
            }
        }
    }
    Ok(out)
}

/// The rank row of a session with `score > 0`.
fn rank_row(s: &WindowRow, score: u32, reasons: &[Reason], deadline: Duration) -> Entity {
    let t = |v: OffsetDateTime| format_utc_millis(v).into();
    let reasons: Vec<&str> = reasons.iter().map(|r| r.as_str()).collect();
    let mut e = Entity::new();
    e.insert("PartitionKey".into(), PARTITION.into());
    e.insert(
        "RowKey".into(),
        rank_key(score, s.start, &s.tunnel_id).into(),
    );
    e.insert("TunnelId".into(), s.tunnel_id.clone().into());
    e.insert("SessionDay".into(), s.day().into());
    e.insert("Score".into(), score.to_string().into());
    e.insert("Reasons".into(), reasons.join(",").into());
    e.insert("Start".into(), t(s.start));
    e.insert("End".into(), s.end.map_or_else(|| "".into(), t));
    e.insert("DueAt".into(), t(s.end.unwrap_or(s.start) + deadline));
    for (k, v) in [
        ("UserName", user_of(s)),
        ("TargetVm", &s.vm),
        ("BastionHost", &s.host),
        ("ClientIp", &s.client_ip),
        ("Outcome", &s.outcome),
    ] {
        e.insert(k.into(), v.into());
    }
    e.insert("Recorded".into(), s.recorded.into());
    e.insert("RecordingIds".into(), s.recording_ids.join(",").into());
    e
}
