//! One page: the query's rows streamed and folded through the tail's own batch, skipping rows the
//! cursor has seen; written when the page ends or past a bound on what it keeps in memory.

use time::OffsetDateTime;

use super::kql;
use super::row::{Columns, WorkspaceRow};
use super::source::Workspace;
use crate::audit_logs::error::Error;
use crate::audit_logs::tail::Tailer;
use crate::audit_logs::tail::batch::Batch;
use crate::audit_logs::tail::keep;
use crate::azure::AzureError;
use crate::clock::Budget;
use crate::loganalytics::slice::{CursorState, PageResult, RowId, Slice, tick_of};
use crate::loganalytics::{Item, LogsQuery};

/// Rows parsed and folded together (the answer itself is never kept whole).
const CHUNK: usize = 1000;
/// Sessions folded before they are written (a session's records in a page cost one write).
const HELD_SESSIONS: usize = 4096;
/// Rows folded before they are written (their identities and failed logins kept).
const HELD_ROWS: usize = 50_000;
/// Bytes of raw lines (`LastRaw`, one per session) kept before they are written.
const HELD_RAW: usize = 8 << 20;

/// The server wait a query asks for with no time budget (a backfill): the service's default.
const WAIT_UNBOUNDED: std::time::Duration = std::time::Duration::from_secs(180);
/// The shortest server wait asked for.
const WAIT_MIN: std::time::Duration = std::time::Duration::from_secs(5);

/// The server wait with `left` of the budget: a 504 then costs a smaller page, not the tick.
pub fn server_wait(left: Option<time::Duration>) -> std::time::Duration {
    left.map_or(WAIT_UNBOUNDED, |l| {
        std::time::Duration::try_from(l)
            .unwrap_or_default()
            .clamp(WAIT_MIN, crate::loganalytics::MAX_WAIT)
    })
}

/// How a page ended.
#[derive(Debug)]
pub enum Paged {
    /// Rows handled (the cursor may advance by them), and what storing them did.
    Done(PageResult, Read),
    /// The answer carried a partial-result error, or the server timed the query out (504):
    /// nothing may advance.
    Partial(String),
}

/// What reading one workspace did, or one page of it ([`run`]).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Read {
    /// Queries sent (none counted by a page).
    pub queries: u64,
    /// Rows newly stored.
    pub stored: u64,
    /// Session rows changed.
    pub sessions: usize,
    /// The time budget stopped it: the rest continues next tick.
    pub cut: bool,
}

/// Why a page failed.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// The query call failed.
    #[error(transparent)]
    Rest(#[from] AzureError),
    /// The answer broke off or was not the documented shape.
    #[error("unreadable answer: {0}")]
    Broken(String),
    /// Storing failed.
    #[error(transparent)]
    Store(#[from] Error),
}

/// What reading one workspace needs.
pub struct Reader<'a> {
    /// The tail's dependencies (tables, settings; its batch stores the rows).
    pub tail: &'a Tailer,
    /// The query client.
    pub logs: &'a dyn LogsQuery,
    /// The workspace.
    pub ws: &'a Workspace,
    /// The tick's time budget.
    pub now: OffsetDateTime,
    /// When storing must stop.
    pub time: &'a Budget,
}

/// Queries `w` (at most `take` rows plus one to learn whether more follow, `take` below
/// [`kql::ROW_CAP`]) and stores its new rows.
///
/// # Errors
/// [`PageError`]; rows stored before it stay stored (idempotent), the cursor does not move.
pub async fn run(
    r: &Reader<'_>,
    cursor: &CursorState,
    w: Slice,
    take: usize,
) -> Result<Paged, PageError> {
    let (logs, ws) = (r.logs, r.ws);
    let query = kql::page(w, take + 1, ws.bastion.as_deref());
    let wait = server_wait(r.time.left());
    let mut answer = match logs.query(&ws.id, &query, &kql::timespan(w), wait).await {
        Ok(a) => a,
        Err(AzureError::ServerTimeout { code }) => {
            return Ok(Paged::Partial(format!(
                "the server timed the query out ({code})"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let mut columns = None;
    let (mut chunk, mut seen_rows) = (Vec::with_capacity(CHUNK), 0usize);
    let mut unwritten = Unwritten::default();
    let mut result = PageResult {
        handled: Vec::new(),
        next: None,
    };
    let mut read = Read::default();
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
                if read.cut {
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
        if !read.cut {
            unwritten.fold(r, cursor, &mut chunk);
            // A partial answer stores nothing: the same slice is asked again, smaller.
            if unwritten.full() || matches!(end, Some(None)) {
                unwritten.store(r, &mut result, &mut read).await?;
            }
        }
        if let Some(partial) = end {
            if let Some(e) = partial {
                return Ok(Paged::Partial(e));
            }
            return Ok(Paged::Done(result, read));
        }
    }
}

/// Rows read but not yet written: their sessions folded, each row's identity and whether it is new.
#[derive(Default)]
struct Unwritten {
    batch: Batch<'static>,
    rows: Vec<(RowId, bool)>,
}

impl Unwritten {
    /// Folds one chunk's new rows in (and empties the chunk).
    fn fold(&mut self, r: &Reader<'_>, cursor: &CursorState, chunk: &mut Vec<WorkspaceRow>) {
        let rows = std::mem::take(chunk);
        let host = r.ws.bastion.as_deref().unwrap_or("");
        let window = r.tail.settings.failed_login_bucket;
        let records: Vec<_> = rows.iter().map(WorkspaceRow::record).collect();
        let mut b = Batch::for_chunk(rows.len() * 1024);
        for (row, rec) in rows.iter().zip(&records) {
            let id = (tick_of(row.ingested), row.digest);
            let new = !cursor.seen.contains(&id);
            if new {
                // The row's place among the unwritten rows: a cut flush reports where it stopped.
                let at = self.rows.len() as u64;
                b.add_at(at, rec, row.raw.as_bytes(), host, window);
            }
            self.rows.push((id, new));
        }
        self.batch.absorb(b);
    }

    fn full(&self) -> bool {
        self.batch.sessions() >= HELD_SESSIONS
            || self.rows.len() >= HELD_ROWS
            || self.batch.raw_bytes() >= HELD_RAW
    }

    /// Writes the unwritten rows, adds the rows stored, the sessions changed and whether the time
    /// budget cut it to `read`, and extends `result` with the rows handled (a prefix when cut,
    /// `next` then set to the first not).
    async fn store(
        &mut self,
        r: &Reader<'_>,
        result: &mut PageResult,
        read: &mut Read,
    ) -> Result<(), Error> {
        let batch = std::mem::take(&mut self.batch);
        let rows = std::mem::take(&mut self.rows);
        let (sessions, cut) = keep::rows(r.tail, batch, r.now, r.time).await?;
        let upto = cut.map_or(rows.len(), |c| usize::try_from(c).unwrap_or(rows.len()));
        read.stored += rows[..upto].iter().filter(|(_, new)| *new).count() as u64;
        read.sessions += sessions;
        read.cut = cut.is_some();
        result
            .handled
            .extend(rows[..upto].iter().map(|(id, _)| *id));
        if let Some(((next, _), _)) = rows.get(upto) {
            result.next = Some(*next);
        }
        Ok(())
    }
}
