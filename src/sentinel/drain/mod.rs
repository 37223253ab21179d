//! One run of `SentinelExport`: each table's rows, bucket by bucket and oldest first within one,
//! packed into full calls of at most 1 MB of JSON and posted to its stream under the table's lease;
//! an accepted call's rows are retired (the table's cursor moved past them in a closed bucket,
//! each removed in an open one), and a closed bucket every table has passed is deleted whole. A
//! row a later bucket holds again (recorded twice as a quarter hour turned) is retired unsent: the
//! later one is sent, so a redelivery is one row whatever the clock said. One
//! rule serves every stream, so any refusal but a call too large (413, or the connection aborted:
//! halved, down to single rows, never dropped) ends the run; a lost answer sends the same ids
//! twice, which the queries fold.

use std::time::Instant;

use time::Duration;

use crate::azure::AzureError;
use crate::export::Table;
use crate::export::outbox::{self, Buckets, RunEnd, Unsent, buckets};
use crate::ingestion::LogsIngestion;
use crate::ports::Ports;
use crate::tables::TableStore;

/// Rows read from the outbox at a time.
pub const PAGE: u32 = 1000;
/// JSON read ahead before packing: enough for several full calls.
pub const BUFFER_BYTES: usize = 16 * 1024 * 1024;
/// Rows one removal task takes (in transactions of 100).
const REMOVALS_PER_TASK: usize = 500;
/// Removal tasks at once.
const REMOVALS_IN_FLIGHT: usize = 4;
/// The lease outlives the run by this much (a crashed instance's lease expires then).
pub const LEASE_MARGIN: Duration = Duration::minutes(1);

/// What one run did, per table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// `(table, rows accepted)` of the tables this run drained.
    pub sent: Vec<(Table, usize)>,
    /// Calls made.
    pub calls: usize,
    /// Tables another instance was draining.
    pub leased_elsewhere: Vec<Table>,
    /// Rows still waiting in the tables this run read (at least; the page it stopped in).
    pub left: usize,
    /// What ended the run early (the service's answer, or a table error).
    pub error: Option<RunError>,
    /// Closed buckets deleted whole, every row in them sent.
    pub dropped: usize,
    /// Rows retired unsent because a later bucket holds the same row (sent from there).
    pub superseded: usize,
}

/// Why a run ended early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunError {
    /// The service asked to wait beyond the run's end.
    Throttled(String),
    /// Anything else: the service refused or failed, or the outbox could not be read.
    Failed(String),
}

impl Report {
    /// Rows accepted in all.
    pub fn total(&self) -> usize {
        self.sent.iter().map(|(_, n)| n).sum()
    }
}

/// Drains every table through `client` until `until`; `owner` names this run's leases. Then the
/// closed buckets every table has passed are deleted.
pub async fn run(ports: &Ports, client: &dyn LogsIngestion, owner: &str, until: Instant) -> Report {
    let mut report = Report::default();
    let tables = ports.tables.as_ref();
    let buckets = match buckets::buckets(tables, ports.clock.now()).await {
        Ok(b) => b,
        Err(e) => {
            report.error = Some(RunError::Failed(format!("outbox: {e}")));
            return report;
        }
    };
    // What waits in each table, looked at for all at once before any lease is taken: a table
    // with nothing to send is not claimed.
    let looked = futures::future::join_all(Table::ALL.map(|t| waiting(tables, t, &buckets))).await;
    for (table, looked) in Table::ALL.into_iter().zip(looked) {
        if report.error.is_some() || Instant::now() >= until {
            break;
        }
        let (mut held, first) = match looked {
            Ok(w) => w,
            Err(e) => {
                report.error = Some(RunError::Failed(format!("{}: {e}", table.key())));
                break;
            }
        };
        let now = ports.clock.now();
        if first.is_none() {
            // Nothing to send; another instance's lease still keeps the closed buckets (it may
            // be reading them).
            let st = held.state();
            let theirs = !st.lease_owner.is_empty() && st.lease_owner != owner;
            if theirs && st.lease_until.is_some_and(|u| u > now) {
                report.leased_elsewhere.push(table);
            }
            continue;
        }
        let remaining = until.saturating_duration_since(Instant::now());
        let lease = Duration::try_from(remaining).unwrap_or(Duration::ZERO) + LEASE_MARGIN;
        let cursor = held.state().cursor;
        match outbox::claim(tables, table, &mut held, owner, now, lease).await {
            Ok(true) => {}
            Ok(false) => {
                report.leased_elsewhere.push(table);
                continue;
            }
            Err(e) => {
                report.error = Some(RunError::Failed(format!("{}: {e}", table.key())));
                break;
            }
        }
        // Another instance moved the cursor since it was looked at: its page is read again.
        let first = first.filter(|_| held.state().cursor == cursor);
        let held = tokio::sync::Mutex::new(held);
        let end = one_table(
            ports,
            client,
            table,
            &buckets,
            &held,
            first,
            until,
            &mut report,
        )
        .await;
        let mut held = held.into_inner();
        let now = ports.clock.now();
        if let Err(e) = outbox::release(tables, table, &mut held, owner, now, &end).await {
            tracing::warn!(table = table.key(), error = %e, "sentinel.export: lease not released (it expires)");
        }
    }
    if report.error.is_none() && report.leased_elsewhere.is_empty() && !buckets.closed.is_empty() {
        match outbox::drop_sent(tables, &buckets.closed).await {
            Ok(dropped) => report.dropped = dropped.len(),
            Err(e) => {
                tracing::warn!(error = %e, "sentinel.export: sent buckets not deleted (next run)");
            }
        }
    }
    report
}

/// What `table` has waiting: its state row (read when a bucket is closed or a row waits) and
/// the first page of its rows in the first bucket, closed (from its cursor) or open, that holds
/// any, with that bucket's name (`None` when no bucket holds a row of it). A closed bucket takes no more writes,
/// so the cursor of a table none of them holds a row of is moved past them here (the buckets can
/// then be deleted), without its lease.
async fn waiting(
    tables: &dyn TableStore,
    table: Table,
    buckets: &Buckets,
) -> Result<(outbox::Held, Option<(String, Vec<Unsent>)>), AzureError> {
    let mut held = outbox::Held::default();
    if let Some(last) = buckets.closed.last() {
        held = outbox::hold(tables, table).await?;
        let cursor = held.state().cursor;
        for name in &buckets.closed {
            let Some(after) = buckets::resume(&cursor, name) else {
                continue;
            };
            let rows = outbox::unsent(tables, name, table, after, PAGE).await?;
            if !rows.is_empty() {
                return Ok((held, Some((name.clone(), rows))));
            }
        }
        if buckets::resume(&cursor, last).is_some() {
            outbox::advance(tables, table, &mut held, &buckets::cursor_done(last)).await?;
        }
    }
    for name in &buckets.open {
        let rows = outbox::unsent(tables, name, table, None, PAGE).await?;
        if !rows.is_empty() {
            if buckets.closed.is_empty() {
                held = outbox::hold(tables, table).await?;
            }
            return Ok((held, Some((name.clone(), rows))));
        }
    }
    Ok((held, None))
}

/// How a sent row leaves the outbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retire {
    /// Removed (an open bucket: writes may still land in it).
    Remove,
    /// Passed by the table's cursor (a closed bucket, deleted whole later).
    Cursor,
}

/// One bucket of one table being drained.
struct Source<'a> {
    table: Table,
    /// The table's state row as last read or written (its cursor moves through it).
    held: &'a tokio::sync::Mutex<outbox::Held>,
    stream: &'a str,
    name: &'a str,
    retire: Retire,
    /// The buckets drained after this one (a row they hold again is sent from there).
    later: &'a [String],
}

/// How draining a source ended.
enum Ended {
    /// Every row was sent.
    Drained,
    /// The run's time is up (rows may be left).
    OutOfTime,
    /// The service or the outbox stopped it.
    Stopped(RunError),
}

/// Drains `table`: the closed buckets from its cursor on (each then marked sent to its end), then
/// the open ones, from `first` (the first page found, in the bucket it names); the run's end for
/// its state row.
#[allow(clippy::too_many_arguments)]
async fn one_table(
    ports: &Ports,
    client: &dyn LogsIngestion,
    table: Table,
    buckets: &Buckets,
    held: &tokio::sync::Mutex<outbox::Held>,
    mut first: Option<(String, Vec<Unsent>)>,
    until: Instant,
    report: &mut Report,
) -> RunEnd {
    let tables = ports.tables.as_ref();
    let mut sent = 0;
    let ended = 'all: {
        let Some(stream) = table.stream() else {
            break 'all Ended::Stopped(RunError::Failed(format!(
                "{}: no stream declared",
                table.key()
            )));
        };
        let cursor = held.lock().await.state().cursor;
        let order: Vec<String> = buckets
            .closed
            .iter()
            .chain(&buckets.open)
            .cloned()
            .collect();
        for (i, name) in order.iter().enumerate() {
            let closed = i < buckets.closed.len();
            let after = if closed {
                match buckets::resume(&cursor, name) {
                    Some(after) => after,
                    None => continue,
                }
            } else {
                None
            };
            let page = match first.take() {
                Some((found, page)) if found == *name => Ok(page),
                other => {
                    first = other;
                    outbox::unsent(tables, name, table, after, PAGE).await
                }
            };
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    break 'all Ended::Stopped(RunError::Failed(format!("{}: {e}", table.key())));
                }
            };
            let source = Source {
                table,
                held,
                stream,
                name,
                retire: if closed {
                    Retire::Cursor
                } else {
                    Retire::Remove
                },
                later: &order[i + 1..],
            };
            match send::one_source(ports, client, &source, page, until, report, &mut sent).await {
                Ended::Drained => {}
                other => break 'all other,
            }
            if closed {
                let done = buckets::cursor_done(name);
                let moved = outbox::advance(tables, table, &mut *held.lock().await, &done).await;
                if let Err(e) = moved {
                    break 'all Ended::Stopped(RunError::Failed(format!("{}: {e}", table.key())));
                }
            }
        }
        Ended::Drained
    };
    report.sent.push((table, sent));
    match ended {
        Ended::Drained | Ended::OutOfTime => RunEnd { sent, error: None },
        Ended::Stopped(error) => {
            let text = match &error {
                RunError::Throttled(t) | RunError::Failed(t) => t.clone(),
            };
            report.error = Some(error);
            RunEnd {
                sent,
                error: Some(text),
            }
        }
    }
}

mod send;
#[cfg(test)]
mod tests;
