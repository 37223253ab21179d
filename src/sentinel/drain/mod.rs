//! One run of `SentinelExport`: each table's rows, bucket by bucket and oldest first within one,
//! packed into full calls of at most 1 MB of JSON and posted to its stream under the table's lease;
//! an accepted call's rows are retired (the table's cursor moved past them in a closed bucket,
//! each removed in an open one), and a closed bucket its table's cursor has passed is deleted
//! whole (each table has its own buckets). A
//! row a later bucket holds again (recorded twice as a quarter hour turned) is retired unsent: the
//! later one is sent, so a redelivery is one row whatever the clock said. One
//! rule serves every stream, so any refusal but a call too large (413, or the connection aborted:
//! halved, down to single rows, never dropped) ends the run; a lost answer sends the same ids
//! twice, which the queries fold.

use std::time::Instant;

use time::Duration;

use self::send::{Ended, PAGE, Source};
use crate::azure::AzureError;
use crate::export::Table;
use crate::export::outbox::{self, Buckets, RunEnd, Unsent, buckets};
use crate::ingestion::LogsIngestion;
use crate::ports::Ports;
use crate::tables::TableStore;

pub use report::{Report, RunError};

/// The lease outlives the run by this much (a crashed instance's lease expires then).
pub const LEASE_MARGIN: Duration = Duration::minutes(1);

/// Drains every table through `client` until `until`; `owner` names this run's leases. The
/// closed buckets of each table its cursor has passed are deleted while the leases are released.
pub async fn run(ports: &Ports, client: &dyn LogsIngestion, owner: &str, until: Instant) -> Report {
    let mut report = Report::default();
    let tables = ports.tables.as_ref();
    let listing = match buckets::buckets(tables, ports.clock.now()).await {
        Ok(b) => b,
        Err(e) => {
            report.error = Some(RunError::Failed(format!("outbox: {e}")));
            return report;
        }
    };
    // What waits in each table, looked at for all at once before any lease is taken: a table
    // with nothing to send is not claimed.
    let looked =
        futures::future::join_all(Table::ALL.map(|t| waiting(tables, t, listing.of(t)))).await;
    // The closed buckets sent to their end, and the leases to release.
    let mut sent_buckets = Vec::new();
    let mut drained = Vec::new();
    for (table, looked) in Table::ALL.into_iter().zip(looked) {
        if report.error.is_some() || Instant::now() >= until {
            break;
        }
        let buckets = listing.of(table);
        let (mut held, first) = match looked {
            Ok(Looked::Rows(held, first)) => (held, first),
            Ok(Looked::Nothing(state)) => {
                // Everything sent; another instance's lease on it keeps its buckets (it deletes
                // them itself).
                if state.leased_by_other(owner, ports.clock.now()) {
                    report.leased_elsewhere.push(table);
                } else {
                    sent_buckets.extend(buckets.closed.iter().cloned());
                }
                continue;
            }
            Err(e) => {
                report.error = Some(RunError::of(table, e));
                break;
            }
        };
        let now = ports.clock.now();
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
                report.error = Some(RunError::of(table, e));
                break;
            }
        }
        // Another instance moved the cursor since it was looked at: its page is read again.
        let first = Some(first).filter(|_| held.state().cursor == cursor);
        let held = tokio::sync::Mutex::new(held);
        let end = one_table(
            ports,
            client,
            table,
            buckets,
            &held,
            first,
            until,
            &mut report,
        )
        .await;
        let held = held.into_inner();
        let cursor = end.cursor.clone().unwrap_or_else(|| held.state().cursor);
        let passed = |b: &&String| buckets::resume(&cursor, b).is_none();
        sent_buckets.extend(buckets.closed.iter().filter(passed).cloned());
        drained.push((table, held, end));
    }
    let now = ports.clock.now();
    let releasing = futures::future::join_all(drained.iter_mut().map(|(table, held, end)| async {
        let released = outbox::release(tables, *table, held, owner, now, end).await;
        if let Err(e) = released {
            tracing::warn!(table = table.key(), error = %e, "sentinel.export: lease not released (it expires)");
        }
    }));
    let dropping = outbox::drop_sent(tables, &sent_buckets);
    match futures::join!(releasing, dropping).1 {
        Ok(dropped) => report.dropped = dropped.len(),
        Err(e) => {
            tracing::warn!(error = %e, "sentinel.export: sent buckets not deleted (next run)");
        }
    }
    report
}

/// What the look found waiting in one table.
enum Looked {
    /// Nothing to send in any of its buckets; its state (default when it has none).
    Nothing(outbox::StreamState),
    /// Its state row and the first page waiting, in the bucket it names.
    Rows(outbox::Held, (String, Vec<Unsent>)),
}

/// What `table` has waiting in its `buckets`: its state row (read only when it has a bucket, beside
/// the oldest bucket's first page) and the first page of its rows in the first bucket, closed
/// (after its cursor) or open, that holds any.
async fn waiting(
    tables: &dyn TableStore,
    table: Table,
    buckets: &Buckets,
) -> Result<Looked, AzureError> {
    let Some(oldest) = buckets.closed.iter().chain(&buckets.open).next() else {
        return Ok(Looked::Nothing(outbox::StreamState::default()));
    };
    // The state read beside the oldest bucket's first page (most often where its cursor is).
    let page = outbox::unsent(tables, oldest, table, None, PAGE);
    let (held, page) = futures::join!(outbox::hold(tables, table), page);
    let (held, mut probed) = (held?, Some((oldest, page)));
    let cursor = held.state().cursor;
    let closed = buckets
        .closed
        .iter()
        .filter_map(|b| Some((b, buckets::resume(&cursor, b)?)));
    let open = buckets.open.iter().map(|b| (b, None));
    for (name, after) in closed.chain(open) {
        let rows = match probed.take() {
            Some((b, page)) if b == name && after.is_none() => page?,
            _ => outbox::unsent(tables, name, table, after, PAGE).await?,
        };
        if !rows.is_empty() {
            return Ok(Looked::Rows(held, (name.clone(), rows)));
        }
    }
    Ok(Looked::Nothing(held.state()))
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
    let failed = |e: AzureError| Ended::Stopped(RunError::of(table, e));
    let mut sent = 0;
    let mut past_last = None;
    let ended = 'all: {
        let Some(stream) = table.stream() else {
            break 'all Ended::Stopped(RunError::of(table, "no stream declared"));
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
                Err(e) => break 'all failed(e),
            };
            let source = Source {
                table,
                held,
                stream,
                name,
                closed,
                later: &order[i + 1..],
            };
            match send::one_source(ports, client, &source, page, until, report, &mut sent).await {
                Ended::Drained => {}
                other => break 'all other,
            }
            if closed {
                let done = buckets::cursor_done(name);
                if i + 1 == order.len() {
                    // The table's last bucket: its cursor moves with the release.
                    past_last = Some(done);
                    break;
                }
                let moved = outbox::advance(tables, table, &mut *held.lock().await, &done).await;
                if let Err(e) = moved {
                    break 'all failed(e);
                }
            }
        }
        Ended::Drained
    };
    report.sent.push((table, sent));
    match ended {
        Ended::Drained | Ended::OutOfTime => RunEnd {
            sent,
            error: None,
            cursor: past_last,
        },
        Ended::Stopped(error) => {
            let text = match &error {
                RunError::Throttled(t) | RunError::Failed(t) => t.clone(),
            };
            report.error = Some(error);
            RunEnd {
                sent,
                error: Some(text),
                cursor: None,
            }
        }
    }
}

mod report;
mod send;
#[cfg(test)]
mod tests;
