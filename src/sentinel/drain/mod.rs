//! One run of `SentinelExport`: each table's rows, oldest first, packed into full calls of at most
//! 1 MB of JSON and posted to its stream under the table's lease; an accepted call's rows are
//! removed. One rule serves every stream, so any refusal but a call too large (413, or the
//! connection aborted: halved, down to single rows, never dropped) ends the run; a lost answer
//! sends the same ids twice, which the queries fold.

use std::collections::VecDeque;
use std::time::Instant;

use futures::StreamExt as _;
use time::Duration;

use crate::azure::AzureError;
use crate::export::Table;
use crate::export::outbox::{self, Pending, RunEnd};
use crate::ingestion::pack::{Call, halves, pack};
use crate::ingestion::{LogsIngestion, MAX_CALL_BYTES};
use crate::ports::Ports;

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

/// Drains every table through `client` until `until`; `owner` names this run's leases.
pub async fn run(ports: &Ports, client: &dyn LogsIngestion, owner: &str, until: Instant) -> Report {
    let mut report = Report::default();
    let tables = ports.tables.as_ref();
    for table in Table::ALL {
        if report.error.is_some() || Instant::now() >= until {
            break;
        }
        let first = match outbox::pending(tables, table, None, PAGE).await {
            Ok(rows) if rows.is_empty() => continue,
            Ok(rows) => rows,
            Err(e) => {
                report.error = Some(RunError::Failed(format!("{}: {e}", table.key())));
                break;
            }
        };
        let now = ports.clock.now();
        let remaining = until.saturating_duration_since(Instant::now());
        let lease = Duration::try_from(remaining).unwrap_or(Duration::ZERO) + LEASE_MARGIN;
        match outbox::claim(tables, table, owner, now, lease).await {
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
        let end = one_table(ports, client, table, first, until, &mut report).await;
        if let Err(e) = outbox::release(tables, table, owner, ports.clock.now(), &end).await {
            tracing::warn!(table = table.key(), error = %e, "sentinel.export: lease not released (it expires)");
        }
    }
    report
}

/// Drains one table from `first` (its first page) on, a buffer of [`BUFFER_BYTES`] at a time so
/// calls are full; the run's end for its state row.
async fn one_table(
    ports: &Ports,
    client: &dyn LogsIngestion,
    table: Table,
    first: Vec<Pending>,
    until: Instant,
    report: &mut Report,
) -> RunEnd {
    let tables = ports.tables.as_ref();
    let Some(stream) = table.stream() else {
        let e = format!("{}: no stream declared", table.key());
        report.error = Some(RunError::Failed(e.clone()));
        return RunEnd {
            sent: 0,
            error: Some(e),
        };
    };
    let full = |rows: &[Pending]| rows.len() == PAGE as usize;
    let mut exhausted = !full(&first);
    let mut after = first.last().map(|p| p.row_key.clone());
    let mut buffer = first;
    let mut sent = 0;
    let stopped = |report: &mut Report, sent: usize, error: RunError| {
        let text = match &error {
            RunError::Throttled(t) | RunError::Failed(t) => t.clone(),
        };
        report.sent.push((table, sent));
        report.error = Some(error);
        RunEnd {
            sent,
            error: Some(text),
        }
    };
    loop {
        while !exhausted && json_bytes(&buffer) < BUFFER_BYTES {
            match outbox::pending(tables, table, after.as_deref(), PAGE).await {
                Ok(page) => {
                    exhausted = !full(&page);
                    if let Some(last) = page.last() {
                        after = Some(last.row_key.clone());
                    }
                    buffer.extend(page);
                }
                Err(e) => {
                    report.left += buffer.len();
                    let e = RunError::Failed(format!("{}: {e}", table.key()));
                    return stopped(report, sent, e);
                }
            }
        }
        if buffer.is_empty() {
            break;
        }
        let (accepted, calls, stop) =
            send_rows(ports, client, table, stream, &buffer, !exhausted, until).await;
        sent += accepted;
        report.calls += calls;
        buffer.drain(..accepted);
        if let Some(stop) = stop {
            report.left += buffer.len();
            return stopped(report, sent, stop);
        }
        if Instant::now() >= until || (accepted == 0 && exhausted) {
            report.left += buffer.len();
            break;
        }
    }
    report.sent.push((table, sent));
    RunEnd { sent, error: None }
}

/// JSON bytes of the records of `rows`.
fn json_bytes(rows: &[Pending]) -> usize {
    rows.iter().map(|p| p.record.len() + 1).sum()
}

/// Sends `page` in calls (but a last partial one when `more` follow): `(rows accepted, a prefix;
/// calls made; why it stopped early)`.
async fn send_rows(
    ports: &Ports,
    client: &dyn LogsIngestion,
    table: Table,
    stream: &str,
    page: &[Pending],
    more: bool,
    until: Instant,
) -> (usize, usize, Option<RunError>) {
    let records: Vec<&str> = page.iter().map(|p| p.record.as_str()).collect();
    let mut queue: VecDeque<Call> = pack(&records, MAX_CALL_BYTES).into();
    if more && queue.len() > 1 {
        queue.pop_back();
    }
    let (mut accepted, mut calls) = (0, 0);
    while let Some(call) = queue.pop_front() {
        if Instant::now() >= until {
            return (accepted, calls, None);
        }
        calls += 1;
        match client.upload(stream, &call.gzip, until).await {
            Ok(()) => {
                accepted += call.range.len();
                remove(ports, table, &page[call.range.clone()]).await;
            }
            Err(e @ AzureError::Rejected { status: 413, .. }) => {
                // Too large (answered 413 or by an aborted connection): halved, then the rest.
                let Some(two) = halves(&records, &call) else {
                    let e = format!(
                        "{}: a single row refused as too large, or its connection closed without an answer ({e}); it stays in the outbox",
                        table.key()
                    );
                    return (accepted, calls, Some(RunError::Failed(e)));
                };
                for half in two.into_iter().rev() {
                    queue.push_front(half);
                }
            }
            Err(e @ AzureError::Throttled { .. }) => {
                let text = format!("{}: {e}", table.key());
                return (accepted, calls, Some(RunError::Throttled(text)));
            }
            Err(e) => {
                let text = format!("{}: {e}", table.key());
                return (accepted, calls, Some(RunError::Failed(text)));
            }
        }
    }
    (accepted, calls, None)
}

/// Removes the sent `rows`, a few transactions at once; a row not removed is sent again later.
async fn remove(ports: &Ports, table: Table, rows: &[Pending]) {
    let tables = ports.tables.as_ref();
    // Built eagerly: a lazily mapped stream of borrowing futures trips the `Send` check of the route.
    let removals: Vec<_> = rows
        .chunks(REMOVALS_PER_TASK)
        .map(|chunk| outbox::remove_all(tables, table, chunk))
        .collect();
    let results: Vec<(usize, usize, usize)> = futures::stream::iter(removals)
        .buffer_unordered(REMOVALS_IN_FLIGHT)
        .collect()
        .await;
    let failed: usize = results.iter().map(|r| r.2).sum();
    if failed > 0 {
        tracing::warn!(
            table = table.key(),
            failed,
            "sentinel.export: sent rows not removed; they will be sent again"
        );
    }
}

#[cfg(test)]
mod tests;
