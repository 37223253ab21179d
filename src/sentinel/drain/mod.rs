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
    for table in Table::ALL {
        if report.error.is_some() || Instant::now() >= until {
            break;
        }
        // Nothing to claim when no bucket is closed and no open one holds a row of the table.
        let mut first = None;
        if buckets.closed.is_empty() {
            match first_rows(tables, table, &buckets.open).await {
                Ok(Some(found)) => first = Some(found),
                Ok(None) => continue,
                Err(e) => {
                    report.error = Some(RunError::Failed(format!("{}: {e}", table.key())));
                    break;
                }
            }
        }
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
        let end = one_table(ports, client, table, &buckets, first, until, &mut report).await;
        if let Err(e) = outbox::release(tables, table, owner, ports.clock.now(), &end).await {
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

/// The first page of `table`'s rows in the first of the `open` buckets that holds any, with that
/// bucket's name.
async fn first_rows(
    tables: &dyn TableStore,
    table: Table,
    open: &[String],
) -> Result<Option<(String, Vec<Unsent>)>, AzureError> {
    for name in open {
        let rows = outbox::unsent(tables, name, table, None, PAGE).await?;
        if !rows.is_empty() {
            return Ok(Some((name.clone(), rows)));
        }
    }
    Ok(None)
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
/// the open ones from `first` (the first page found, when looked for); the run's end for its
/// state row.
async fn one_table(
    ports: &Ports,
    client: &dyn LogsIngestion,
    table: Table,
    buckets: &Buckets,
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
        let cursor = match outbox::state(tables, table).await {
            Ok(st) => st.unwrap_or_default().cursor,
            Err(e) => break 'all Ended::Stopped(RunError::Failed(format!("{}: {e}", table.key()))),
        };
        let order: Vec<String> = buckets
            .closed
            .iter()
            .chain(&buckets.open)
            .cloned()
            .collect();
        for (i, name) in buckets.closed.iter().enumerate() {
            let Some(after) = buckets::resume(&cursor, name) else {
                continue;
            };
            let source = Source {
                table,
                stream,
                name,
                retire: Retire::Cursor,
                later: &order[i + 1..],
            };
            let page = match outbox::unsent(tables, name, table, after, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    break 'all Ended::Stopped(RunError::Failed(format!("{}: {e}", table.key())));
                }
            };
            match send::one_source(ports, client, &source, page, until, report, &mut sent).await {
                Ended::Drained => {}
                other => break 'all other,
            }
            let done = buckets::cursor_done(name);
            if let Err(e) = outbox::advance(tables, table, &done).await {
                break 'all Ended::Stopped(RunError::Failed(format!("{}: {e}", table.key())));
            }
        }
        for (i, name) in buckets.open.iter().enumerate() {
            let page = match first.take() {
                Some((found, page)) if found == *name => page,
                Some(other) => {
                    first = Some(other);
                    continue;
                }
                None => match outbox::unsent(tables, name, table, None, PAGE).await {
                    Ok(page) => page,
                    Err(e) => {
                        break 'all Ended::Stopped(RunError::Failed(format!(
                            "{}: {e}",
                            table.key()
                        )));
                    }
                },
            };
            let source = Source {
                table,
                stream,
                name,
                retire: Retire::Remove,
                later: &order[buckets.closed.len() + i + 1..],
            };
            match send::one_source(ports, client, &source, page, until, report, &mut sent).await {
                Ended::Drained => {}
                other => break 'all other,
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
