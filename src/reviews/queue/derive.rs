//! `ReviewQueue`'s work ([`refresh`]): the sessions the join pass recorded as changed
//! ([`changes`]), whatever their day, derived again and put in or out of the queue, a page of the
//! record at a time: each session's `sessionwindows` row, its person's object id
//! ([`crate::reviews::people::bind`], with `GRAPH_ENDPOINT`), the duty check of the reviews recorded
//! before the join named it ([`crate::reviews::recheck`]), the failed-login bursts the detection
//! stored around it (a query per day and two per burst), its user's earlier starts to the VM
//! ([`pairs`]), its rank row ([`entry::put`]); then the page's records are cleared as read (one
//! recorded again meanwhile stays). A run that fails leaves the record: the next one derives the
//! same sessions again.
//!
//! The scores also rest on the settings and the hosts with an open estate finding, kept in row
//! `basis`. When they differ, the sessions whose score that changes are recorded as changed before
//! the row is updated (a crash in between repeats the step): the queued sessions of the hosts
//! whose finding opened or cleared and those hosts' sessions since the day before; every host's
//! when the settings changed.

use std::collections::{BTreeSet, HashSet};

use futures::{StreamExt as _, TryStreamExt as _};
use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::entry::{self, PARTITION, QUEUE_TABLE, rank_key};
use super::pairs;
use super::read::{self, ranked};
use super::risk::{self, user_of};
use crate::azure::AzureError;
use crate::catalogue::changes;
use crate::catalogue::days::{self, DayRow, Span};
use crate::catalogue::figures;
use crate::catalogue::session::outcome::LOGIN_FAILED;
use crate::clock::Budget;
use crate::dates::format_utc_millis;
use crate::graph::Directory;
use crate::ports::Ports;
use crate::reviews::settings::ReviewSettings;
use crate::spine::Finding;
use crate::spine::kinds::{self, Kind};
use crate::tables::filter::Op;
use crate::tables::ops::{get, query_all};
use crate::tables::{Entity, Filter, IN_FLIGHT, TableStore, get_str};

/// Changes taken per page.
const PAGE: u32 = 1000;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refreshed {
    /// Sessions derived.
    pub sessions: usize,
    /// Of those, queued now.
    pub queued: usize,
    /// Reviews found, once the join named their session, to be by its own user.
    pub self_reviews: usize,
    /// Sessions whose person could not be resolved to an object id (a Graph read failed).
    pub unresolved: usize,
}

/// What other domains raised that ranks a session, each read from that domain's own tables: the
/// entry point hands it in (`state::Raised`), so the queue reads no other domain's rows itself.
#[async_trait::async_trait]
pub trait Raised: Send + Sync {
    /// The Bastion hosts (lower case) with an open estate finding that calls for a review.
    async fn flagged_hosts(&self, tables: &dyn TableStore) -> Result<BTreeSet<String>, AzureError>;
    /// The failed-login detection's stored bursts whose window starts in `[from, to)` (`window`
    /// is `FAILED_LOGIN_WINDOW_MINUTES`).
    async fn bursts(
        &self,
        tables: &dyn TableStore,
        (from, to): (OffsetDateTime, OffsetDateTime),
        window: Duration,
    ) -> Result<Vec<Finding>, AzureError>;
    /// Whether burst `b` concerns session `s`: part of it, or right after it.
    fn concerns(&self, b: &Finding, s: &DayRow) -> bool;
    /// For each of `sessions`, the kind of a door beside Bastion open onto its VM during it (one
    /// read of the estate's doors).
    async fn doors_open(
        &self,
        tables: &dyn TableStore,
        sessions: &[DayRow],
        now: OffsetDateTime,
    ) -> Result<Vec<Option<&'static Kind>>, AzureError>;
}

/// Derives the sessions recorded as changed, for up to 4 minutes (the timer runs every 5).
///
/// # Errors
/// Table errors (the record stays for the next run; every write is idempotent).
pub async fn refresh(
    ports: &Ports,
    settings: &ReviewSettings,
    people: Option<&dyn Directory>,
    raised: &dyn Raised,
    now: OffsetDateTime,
) -> Result<Refreshed, AzureError> {
    let tables = ports.tables.as_ref();
    let flagged = raised.flagged_hosts(tables).await?;
    rebase(tables, settings, &flagged, now).await?;
    let done = drain(ports, settings, people, (raised, &flagged), now).await?;
    read::mark_ranked(tables, now).await?;
    Ok(done)
}

/// The pages of the change record, for up to 4 minutes.
async fn drain(
    ports: &Ports,
    settings: &ReviewSettings,
    people: Option<&dyn Directory>,
    raised: (&dyn Raised, &BTreeSet<String>),
    now: OffsetDateTime,
) -> Result<Refreshed, AzureError> {
    let tables = ports.tables.as_ref();
    let budget = Budget::after(ports.clock.clone(), Duration::minutes(4));
    let mut done = Refreshed::default();
    loop {
        let page = changes::marked(tables, PAGE).await?;
        // Futures gathered in a loop, not a closure: the timer's future must be `Send`.
        let mut reads = Vec::with_capacity(page.len());
        for c in &page {
            reads.push(days::get_row(tables, &c.day, &c.tunnel));
        }
        let rows: Vec<_> = futures::stream::iter(reads)
            .buffered(IN_FLIGHT)
            .try_collect()
            .await?;
        // A session gone from its day moved: its new day is recorded too.
        let rows: Vec<DayRow> = rows
            .into_iter()
            .flatten()
            .filter_map(|s| DayRow::from_entity(&s.entity))
            .collect();
        // Their people by object id (once per session), before any review of them is checked.
        if let Some(directory) = people {
            for s in rows.iter().filter(|s| !s.user_email.is_empty()) {
                let bound = crate::reviews::people::bind(
                    tables,
                    directory,
                    &s.tunnel_id,
                    &s.user_email,
                    now,
                );
                done.unresolved += usize::from(!bound.await?);
            }
        }
        // The join named these sessions: reviews recorded before it are checked again first, so
        // a self-review's session is queued by this very derivation.
        let rechecked = crate::reviews::recheck::after_join(ports, &rows, now).await?;
        done.self_reviews += rechecked.self_reviews;
        let derived = derive(tables, settings, raised, rows, now).await?;
        done.sessions += derived.len();
        done.queued += entry::put(tables, derived).await?;
        changes::clear(tables, &page).await?;
        if page.len() < PAGE as usize || budget.passed() {
            return Ok(done);
        }
    }
}

/// Each session's rank row (none when nothing calls for a review).
async fn derive(
    tables: &dyn TableStore,
    settings: &ReviewSettings,
    (raised, flagged): (&dyn Raised, &BTreeSet<String>),
    mut sessions: Vec<DayRow>,
    now: OffsetDateTime,
) -> Result<Vec<(String, Option<Entity>)>, AzureError> {
    // The detection's stored bursts a session may be part of or right after: those whose window
    // starts up to two windows before it (docs/reviews.md).
    let window = settings.burst_bucket;
    let mut bursts = Vec::new();
    for run in Span::runs(
        sessions.iter().map(|s| s.start).collect(),
        Duration::days(1),
    ) {
        let (from, to) = (run.from - window * 2, run.until + window);
        bursts.extend(raised.bursts(tables, (from, to), window).await?);
    }
    let of = |b: &Finding, s: &DayRow| raised.concerns(b, s);
    // A failed login of a burst read late: the sessions right after it are derived again.
    let mut seen: HashSet<String> = sessions.iter().map(|s| s.tunnel_id.clone()).collect();
    for b in &bursts {
        let failed = |s: &DayRow| s.outcome == LOGIN_FAILED && of(b, s);
        let Some(from) = sessions.iter().filter(|s| failed(s)).map(|s| s.start).min() else {
            continue;
        };
        let after = Span {
            from,
            until: from + window * 2,
        };
        for w in days::scan(tables, after, Vec::new()).await? {
            if of(b, &w) && seen.insert(w.tunnel_id.clone()) {
                sessions.push(w);
            }
        }
    }
    let firsts = pairs::firsts(tables, &sessions).await?;
    // The doors beside Bastion each VM had open (one read of table `estate` per page).
    let doors = if sessions.is_empty() {
        Vec::new()
    } else {
        raised.doors_open(tables, &sessions, now).await?
    };
    Ok(sessions
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let burst = bursts.iter().any(|b| of(b, s));
            let burst = burst.then_some(&kinds::LOGIN_FAILED_BURST);
            let estate = flagged.contains(&s.host.to_ascii_lowercase());
            let ctx = risk::Context {
                raised: (burst.into_iter())
                    .chain(estate.then_some(&kinds::ESTATE_FINDING))
                    .chain(doors.get(i).copied().flatten())
                    .collect(),
                first_to_vm: firsts.contains(&s.tunnel_id),
            };
            let (score, reasons) = risk::assess(s, &ctx, settings, now);
            let reasons: Vec<&str> = reasons.iter().map(|r| r.name).collect();
            let t = |v: Option<OffsetDateTime>| v.map(format_utc_millis).unwrap_or_default();
            let row = json!({"PartitionKey": PARTITION, "RowKey": rank_key(score, s.start, &s.tunnel_id),
                "TunnelId": s.tunnel_id, "SessionDay": s.day(), "Score": score.to_string(),
                "Reasons": reasons.join(","), "Start": t(Some(s.start)), "End": t(s.end),
                "DueAt": t(Some(figures::due_at(s, settings.deadline))),
                "UserName": user_of(s), "UserEmail": s.user_email, "TargetVm": s.vm, "BastionHost": s.host,
                "ClientIp": s.client_ip, "Outcome": s.outcome, "Recorded": s.recorded,
                "RecordingIds": s.recording_ids.join(",")});
            let row = (score > 0).then(|| crate::tables::entity(row));
            (s.tunnel_id.clone(), row)
        })
        .collect())
}

/// Records the sessions a new basis re-scores as changed, then stores the basis.
async fn rebase(
    tables: &dyn TableStore,
    settings: &ReviewSettings,
    flagged: &BTreeSet<String>,
    now: OffsetDateTime,
) -> Result<(), AzureError> {
    let (digest, hosts) = (
        settings.digest(),
        serde_json::to_string(flagged).unwrap_or_default(),
    );
    let was = get(tables, QUEUE_TABLE, "basis", "basis").await?;
    let field = |k: &str| {
        was.as_ref()
            .and_then(|w| get_str(&w.entity, k))
            .unwrap_or_default()
    };
    let before: BTreeSet<String> = serde_json::from_str(field("Hosts")).unwrap_or_default();
    let touched: Vec<Option<&str>> = match &was {
        // First run: nothing was derived under another basis.
        None => Vec::new(),
        Some(_) if field("Settings") != digest => vec![None],
        Some(_) if field("Hosts") == hosts => return Ok(()),
        Some(_) => before
            .symmetric_difference(flagged)
            .map(|h| Some(h.as_str()))
            .collect(),
    };
    let since = (now - Duration::days(1)).date().midnight().assume_utc();
    let mut sessions = Vec::new();
    for host in touched {
        let queued = query_all(tables, QUEUE_TABLE, &Filter::And(ranked(host)), usize::MAX).await?;
        for row in queued {
            let s = |k: &str| get_str(&row.entity, k).unwrap_or_default().to_owned();
            sessions.push((s("SessionDay"), s("TunnelId")));
        }
        let of_host = host.map(|h| Filter::str("BastionHost", Op::Eq, h));
        let span = days::Span {
            from: since,
            until: now,
        };
        for w in days::scan(tables, span, of_host.into_iter().collect()).await? {
            sessions.push((w.day(), w.tunnel_id));
        }
    }
    changes::record(tables, &sessions).await?;
    let row =
        json!({"PartitionKey": "basis", "RowKey": "basis", "Settings": digest, "Hosts": hosts});
    entry::upsert(tables, &row).await
}
