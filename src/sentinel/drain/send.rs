//! Draining one bucket of one table: reading it a buffer at a time, sending each buffer in calls,
//! retiring the rows of each accepted call, and retiring unsent the rows a later bucket holds again.

use std::collections::VecDeque;
use std::time::Instant;

use futures::StreamExt as _;

use super::report::{Report, RunError};
use crate::azure::AzureError;
use crate::export::Table;
use crate::export::outbox::{self, Unsent, buckets};
use crate::ingestion::pack::{Call, halves, pack};
use crate::ingestion::{LogsIngestion, MAX_CALL_BYTES};
use crate::ports::Ports;
use crate::tables::TableStore;

/// Rows read from the outbox at a time.
pub(super) const PAGE: u32 = 1000;
/// Rows one removal task takes (in transactions of 100).
const REMOVALS_PER_TASK: usize = 500;
/// Removal tasks at once.
const REMOVALS_IN_FLIGHT: usize = 4;

/// One bucket of one table being drained.
pub(super) struct Source<'a> {
    pub(super) table: Table,
    /// The table's state row as last read or written (its cursor moves through it).
    pub(super) held: &'a tokio::sync::Mutex<outbox::Held>,
    pub(super) stream: &'a str,
    pub(super) name: &'a str,
    /// A closed bucket: a sent row is passed by the table's cursor (the bucket is deleted whole
    /// later); in an open one, where writes may still land, each sent row is removed.
    pub(super) closed: bool,
    /// The buckets drained after this one (a row they hold again is sent from there).
    pub(super) later: &'a [String],
}

/// How draining a source ended.
pub(super) enum Ended {
    /// Every row was sent.
    Drained,
    /// The run's time is up (rows may be left).
    OutOfTime,
    /// The service or the outbox stopped it.
    Stopped(RunError),
}

/// Drains one source from `first` (its first page) on: rows are read until a full call's worth
/// ([`MAX_CALL_BYTES`] of JSON) waits, then the full calls are sent while the next page is read,
/// adding the rows accepted to `sent`.
pub(super) async fn one_source(
    ports: &Ports,
    client: &dyn LogsIngestion,
    source: &Source<'_>,
    first: Vec<Unsent>,
    until: Instant,
    report: &mut Report,
    sent: &mut usize,
) -> Ended {
    let tables = ports.tables.as_ref();
    let table = source.table;
    let failed = |e: AzureError| Ended::Stopped(RunError::of(table, e));
    let mut exhausted = first.len() < PAGE as usize;
    let mut after = first.last().map(|p| p.row_key.clone());
    let mut buffer = match fold(tables, source, first, report).await {
        Ok(rows) => rows,
        Err(e) => return failed(e),
    };
    // Whatever ends the source, the rows read and not sent are counted left.
    let ended = 'run: loop {
        while !exhausted && json_bytes(&buffer) < MAX_CALL_BYTES {
            match next_page(tables, source, &mut after, &mut exhausted, report).await {
                Ok(page) => buffer.extend(page),
                Err(e) => break 'run failed(e),
            }
        }
        if buffer.is_empty() {
            break Ended::Drained;
        }
        // The full calls go while the next page is read.
        let more = !exhausted;
        let sending = send_rows(ports, client, source, &buffer, more, until);
        let reading = async {
            if more {
                Some(next_page(tables, source, &mut after, &mut exhausted, report).await)
            } else {
                None
            }
        };
        let ((accepted, calls, stop), read) = futures::join!(sending, reading);
        *sent += accepted;
        report.calls += calls;
        buffer.drain(..accepted);
        let read = match read.transpose() {
            Ok(page) => page.unwrap_or_default(),
            Err(e) => break failed(e),
        };
        buffer.extend(read);
        if let Some(stop) = stop {
            break Ended::Stopped(stop);
        }
        if Instant::now() >= until || (accepted == 0 && exhausted) {
            break if buffer.is_empty() && exhausted {
                Ended::Drained
            } else {
                Ended::OutOfTime
            };
        }
    };
    report.left += buffer.len();
    ended
}

/// The source's next page after `after` (moved past it), without the rows a later bucket holds
/// again; `exhausted` once a page comes back short.
async fn next_page(
    tables: &dyn TableStore,
    source: &Source<'_>,
    after: &mut Option<String>,
    exhausted: &mut bool,
    report: &mut Report,
) -> Result<Vec<Unsent>, AzureError> {
    let page = outbox::unsent(tables, source.name, source.table, after.as_deref(), PAGE).await?;
    *exhausted = page.len() < PAGE as usize;
    if let Some(last) = page.last() {
        *after = Some(last.row_key.clone());
    }
    fold(tables, source, page, report).await
}

/// JSON bytes of the records of `rows`.
fn json_bytes(rows: &[Unsent]) -> usize {
    rows.iter().map(|p| p.record.len() + 1).sum()
}

/// Sends `page` in calls (but a last partial one when `more` follow): `(rows accepted, a prefix;
/// calls made; why it stopped early)`.
pub(super) async fn send_rows(
    ports: &Ports,
    client: &dyn LogsIngestion,
    source: &Source<'_>,
    page: &[Unsent],
    more: bool,
    until: Instant,
) -> (usize, usize, Option<RunError>) {
    let (table, stream) = (source.table, source.stream);
    let records: Vec<&str> = page.iter().map(|p| p.record.as_str()).collect();
    let mut queue: VecDeque<Call> = pack(&records, MAX_CALL_BYTES).into();
    if more && queue.len() > 1 {
        queue.pop_back();
    }
    let (mut accepted, mut calls) = (0, 0);
    // An accepted call's rows are retired while the next call is sent (the retirement's table
    // calls overlap the upload; should the run stop between, the rows are only sent again).
    let mut retiring: Option<futures::future::BoxFuture<'_, ()>> = None;
    while let Some(call) = queue.pop_front() {
        if Instant::now() >= until {
            if let Some(r) = retiring.take() {
                r.await;
            }
            return (accepted, calls, None);
        }
        calls += 1;
        let upload = client.upload(stream, &call.gzip, until);
        let answer = match retiring.take() {
            Some(r) => futures::join!(upload, r).0,
            None => upload.await,
        };
        match answer {
            Ok(()) => {
                accepted += call.range.len();
                let rows = &page[call.range.clone()];
                // The source's last rows: a closed bucket's cursor goes past its end at once.
                let end = !more && queue.is_empty();
                retiring = Some(Box::pin(retire(ports, source, rows, end)));
            }
            Err(e @ AzureError::Rejected { status: 413, .. }) => {
                // Too large (answered 413 or by an aborted connection): halved, then the rest.
                let Some(two) = halves(&records, &call) else {
                    let e = format!(
                        "a single row refused as too large, or its connection closed without an answer ({e}); it stays in the outbox"
                    );
                    return (accepted, calls, Some(RunError::of(table, e)));
                };
                for half in two.into_iter().rev() {
                    queue.push_front(half);
                }
            }
            Err(e @ AzureError::Throttled { .. }) => {
                let text = format!("{}: {e}", table.key());
                return (accepted, calls, Some(RunError::Throttled(text)));
            }
            Err(e) => return (accepted, calls, Some(RunError::of(table, e))),
        }
    }
    if let Some(r) = retiring {
        r.await;
    }
    (accepted, calls, None)
}

/// Retires the sent `rows`: the cursor moved past them (a closed bucket; past its `end` when they
/// are its last, with the release when it is the table's last bucket), or each removed, a few transactions at once (an open one). A row not retired
/// is sent again later.
async fn retire(ports: &Ports, source: &Source<'_>, rows: &[Unsent], end: bool) {
    let (tables, table) = (ports.tables.as_ref(), source.table);
    if source.closed {
        let Some(last) = rows.last() else { return };
        let cursor = if end {
            if source.later.is_empty() {
                // The table's last bucket: its cursor moves with the release.
                return;
            }
            buckets::cursor_done(source.name)
        } else {
            buckets::cursor_at(source.name, &last.row_key)
        };
        let mut held = source.held.lock().await;
        if let Err(e) = outbox::advance(tables, table, &mut held, &cursor).await {
            tracing::warn!(table = table.key(), error = %e, "sentinel.export: cursor not moved; the rows will be sent again");
        }
        return;
    }
    // Built eagerly: a lazily mapped stream of borrowing futures trips the `Send` check of the route.
    let removals: Vec<_> = rows
        .chunks(REMOVALS_PER_TASK)
        .map(|chunk| outbox::remove_all(tables, source.name, table, chunk))
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

/// `page` without the rows a later bucket of `source` holds again, those retired unsent (removed
/// if unchanged from an open bucket; in a closed one the cursor passes them with the rest).
pub(super) async fn fold(
    tables: &dyn TableStore,
    source: &Source<'_>,
    page: Vec<Unsent>,
    report: &mut Report,
) -> Result<Vec<Unsent>, AzureError> {
    if source.later.is_empty() || page.is_empty() {
        return Ok(page);
    }
    let again = outbox::superseded(tables, source.table, source.later, &page).await?;
    if again.is_empty() {
        return Ok(page);
    }
    let (gone, keep): (Vec<Unsent>, Vec<Unsent>) =
        page.into_iter().partition(|p| again.contains(&p.row_key));
    report.superseded += gone.len();
    if !source.closed {
        // A row not removed (changed since read, or an error) is looked at again next run.
        outbox::remove_all(tables, source.name, source.table, &gone).await;
    }
    Ok(keep)
}
