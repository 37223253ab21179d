//! Sending one buffer of a bucket's rows in calls, and retiring the rows of each accepted call.

use std::collections::VecDeque;
use std::time::Instant;

use futures::StreamExt as _;

use super::{REMOVALS_IN_FLIGHT, REMOVALS_PER_TASK, Retire, RunError, Source};
use crate::azure::AzureError;
use crate::export::outbox::{self, Pending, buckets};
use crate::ingestion::pack::{Call, halves, pack};
use crate::ingestion::{LogsIngestion, MAX_CALL_BYTES};
use crate::ports::Ports;

/// Sends `page` in calls (but a last partial one when `more` follow): `(rows accepted, a prefix;
/// calls made; why it stopped early)`.
pub(super) async fn send_rows(
    ports: &Ports,
    client: &dyn LogsIngestion,
    source: &Source<'_>,
    page: &[Pending],
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
    while let Some(call) = queue.pop_front() {
        if Instant::now() >= until {
            return (accepted, calls, None);
        }
        calls += 1;
        match client.upload(stream, &call.gzip, until).await {
            Ok(()) => {
                accepted += call.range.len();
                retire(ports, source, &page[call.range.clone()]).await;
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

/// Retires the sent `rows`: the cursor moved past them (a closed bucket), or each removed, a few
/// transactions at once (an open one). A row not retired is sent again later.
async fn retire(ports: &Ports, source: &Source<'_>, rows: &[Pending]) {
    let (tables, table) = (ports.tables.as_ref(), source.table);
    if source.retire == Retire::Cursor {
        let Some(last) = rows.last() else { return };
        let cursor = buckets::cursor_at(source.name, &last.row_key);
        if let Err(e) = outbox::advance(tables, table, &cursor).await {
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
