//! One page: the query for a window, its rows read as a stream, folded and stored a chunk at a
//! time through the tail's own batch (the same fold, session rows, index rows and failed logins
//! as a `PT1H.json` chunk), skipping rows the cursor has seen.

use time::OffsetDateTime;

use super::Workspace;
use super::kql;
use super::row::{Columns, WorkspaceRow};
use super::window::{CursorState, PageResult, Window, tick_of};
use crate::audit_logs::join::Deadline;
use crate::audit_logs::tail::Tail;
use crate::audit_logs::tail::batch::{self, Batch};
use crate::invocation::HandlerError;
use crate::loganalytics::{Item, LogsQuery};
use crate::rest::RestError;

/// Rows folded and stored together (bounds memory: the answer itself is never held).
const CHUNK: usize = 1000;

/// How a page ended.
#[derive(Debug)]
pub enum Paged {
    /// Rows handled; the cursor may advance by this.
    Done {
        /// What was handled.
        result: PageResult,
        /// Rows newly stored.
        stored: u64,
        /// Session rows changed.
        sessions: usize,
        /// The time budget stopped it.
        cut: bool,
    },
    /// The answer carried a partial-result error: nothing may advance.
    Partial(String),
}

/// Why a page failed.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The query call failed.
    #[error(transparent)]
    Rest(#[from] RestError),
    /// The answer broke off or was not the documented shape.
    #[error("unreadable answer: {0}")]
    Broken(String),
    /// Storing failed.
    #[error(transparent)]
    Store(#[from] HandlerError),
}

/// What reading one workspace needs.
pub struct Reader<'a> {
    /// The tail's dependencies (tables, settings; its batch stores the rows).
    pub tail: &'a Tail,
    /// The query client.
    pub logs: &'a dyn LogsQuery,
    /// The workspace.
    pub ws: &'a Workspace,
    /// The tick's time.
    pub now: OffsetDateTime,
    /// When storing must stop.
    pub deadline: &'a Deadline,
}

/// Queries `w` (at most `take` rows plus one to learn whether more follow) and stores its new rows.
///
/// # Errors
/// [`PageError`]; rows stored before it stay stored (idempotent), the cursor does not move.
pub async fn run(
    r: &Reader<'_>,
    cursor: &CursorState,
    w: Window,
    take: usize,
) -> Result<Paged, PageError> {
    let (logs, ws) = (r.logs, r.ws);
    let query = kql::page(w, take + 1, ws.bastion.as_deref());
    let mut answer = logs.query(&ws.id, &query, &kql::timespan(w)).await?;
    let mut columns = None;
    let (mut chunk, mut seen_rows) = (Vec::with_capacity(CHUNK), 0usize);
    let mut result = PageResult {
        handled: Vec::new(),
        next: None,
    };
    let (mut stored, mut sessions, mut cut) = (0, 0, false);
    loop {
        let item = answer.next().await;
        let end = match item {
            Some(Item::Columns(names)) => {
                columns = Some(
                    Columns::new(names.iter().map(String::as_str)).map_err(PageError::Broken)?,
                );
                continue;
            }
            Some(Item::Row(values)) => {
                let cols = columns
                    .as_ref()
                    .ok_or_else(|| PageError::Broken("a row before the columns".into()))?;
                let row = WorkspaceRow::new(cols, &values).map_err(PageError::Broken)?;
                seen_rows += 1;
                if seen_rows > take {
                    // The row past the page: it and everything after wait for the next page.
                    result.next.get_or_insert(tick_of(row.ingested));
                    continue;
                }
                if cut {
                    continue; // drained only to learn whether the answer is whole
                }
                chunk.push(row);
                if chunk.len() < CHUNK {
                    continue;
                }
                None
            }
            Some(Item::End(partial)) => Some(partial),
            Some(Item::Broken(e)) => return Err(PageError::Broken(e)),
            None => return Err(PageError::Broken("the answer ended without its end".into())),
        };
        if !cut {
            let c = store(r, cursor, &mut chunk, &mut result).await?;
            stored += c.0;
            sessions += c.1;
            cut = c.2;
        }
        if let Some(partial) = end {
            if let Some(e) = partial {
                return Ok(Paged::Partial(e));
            }
            return Ok(Paged::Done {
                result,
                stored,
                sessions,
                cut,
            });
        }
    }
}

/// Stores one chunk's new rows; returns (rows stored, sessions changed, cut by the deadline) and
/// extends `result` with the rows handled (a prefix when cut, `next` then set to the first not).
async fn store(
    r: &Reader<'_>,
    cursor: &CursorState,
    chunk: &mut Vec<WorkspaceRow>,
    result: &mut PageResult,
) -> Result<(u64, usize, bool), HandlerError> {
    let (tail, ws, now, deadline) = (r.tail, r.ws, r.now, r.deadline);
    let rows = std::mem::take(chunk);
    let host = ws.bastion.as_deref().unwrap_or("");
    let window = tail.settings.failed_login_window;
    let records: Vec<_> = rows.iter().map(WorkspaceRow::record).collect();
    let mut b = Batch::for_chunk(rows.len() * 1024);
    for (i, (row, rec)) in rows.iter().zip(&records).enumerate() {
        if !cursor.seen.contains(&(tick_of(row.ingested), row.digest)) {
            b.add_at(i as u64, rec, row.raw.as_bytes(), host, window);
        }
    }
    let flushed = batch::flush(tail, b, now, deadline).await?;
    let upto = flushed
        .cut
        .map_or(rows.len(), |c| usize::try_from(c).unwrap_or(rows.len()));
    let stored = rows[..upto]
        .iter()
        .filter(|r| !cursor.seen.contains(&(tick_of(r.ingested), r.digest)))
        .count() as u64;
    result
        .handled
        .extend(rows[..upto].iter().map(|r| (tick_of(r.ingested), r.digest)));
    if let Some(next) = rows.get(upto) {
        result.next = Some(tick_of(next.ingested));
    }
    Ok((stored, flushed.sessions, flushed.cut.is_some()))
}
