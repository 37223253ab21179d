//! One workspace read from its cursor up to `now − lag`, page after page within the time budget,
//! the cursor advanced `If-Match` after each. A partial or broken-off answer halves the page and
//! moves nothing; a throttled, refused or missing workspace is recorded in its status row.

use time::OffsetDateTime;
use tracing::warn;

use super::page::{self, PageError, Paged, Read, Reader};
use super::source::{Query, Workspace};
use super::store::{self, Status, StoredCursor};
use crate::azure::AzureError;
use crate::clock::Budget;
use crate::dates::format_utc;
use crate::loganalytics::slice::{PageResult, advance, next_slice, stalled, tick_of, ticks};

/// The largest page: with the row that tells whether more follow, the API's own row cap.
const MAX_TAKE: usize = super::kql::ROW_CAP - 1;

/// Which cursor a read moves, and over which `ingestion_time()` span.
#[derive(Debug, Clone, Copy)]
pub struct Span<'a> {
    /// The cursor's row key ([`store::CURSOR_ROW`] or [`store::BACKFILL_ROW`]).
    pub row: &'a str,
    /// Where a cursor not stored yet starts.
    pub start: OffsetDateTime,
    /// Exclusive end: `now − lag` for the timer, the `--to` bound for a backfill.
    pub until: OffsetDateTime,
}

/// Reads `ws` of `q` from its cursor `span.row` (absent: from `span.start`) up to `span.until`.
///
/// # Errors
/// [`PageError`]: the cursor stays where the last whole page left it.
pub async fn read(
    q: &Query,
    ws: &Workspace,
    span: Span<'_>,
    now: OffsetDateTime,
    time: &Budget,
) -> Result<Read, PageError> {
    let (tail, settings) = (&q.tail, &*q.settings);
    let tables = tail.ports.tables.as_ref();
    let row = span.row;
    let mut cur = store::load(tables, &ws.id, row, span.start)
        .await
        .map_err(|e| PageError::Store(e.into()))?;
    let (hi, overlap) = (tick_of(span.until), ticks(settings.overlap));
    let reader = Reader {
        tail,
        logs: q.logs.as_ref(),
        ws,
        now,
        time,
    };
    let (mut after, mut take, mut out): (Option<PageResult>, _, _) =
        (None, settings.page_rows.clamp(1, MAX_TAKE), Read::default());
    // The last broken answer not yet followed by a whole page: reported if the tick ends on it.
    let mut broken: Option<String> = None;
    loop {
        if time.passed() {
            if let Some(e) = broken {
                return Err(PageError::Broken(e));
            }
            out.cut = true;
            break;
        }
        let Some(w) = next_slice(&cur.state, hi, overlap, after.as_ref()) else {
            break;
        };
        out.queries += 1;
        let paged = match page::run(&reader, &cur.state, w, take).await {
            Err(PageError::Broken(e)) if take > 1 => {
                warn!(workspace = %ws.id, take, error = %e, "the answer broke off: asking for a smaller page");
                broken = Some(e);
                take /= 2;
                continue;
            }
            other => other?,
        };
        broken = None;
        let (result, cut) = match paged {
            Paged::Partial(e) if take > 1 => {
                warn!(workspace = %ws.id, take, error = %e, "a partial answer: asking for a smaller slice");
                take /= 2;
                continue;
            }
            Paged::Partial(e) => return Err(PageError::Broken(format!("partial result: {e}"))),
            Paged::Done(result, read) => {
                out.stored += read.stored;
                out.sessions += read.sessions;
                (result, read.cut)
            }
        };
        let next = StoredCursor {
            state: advance(&cur.state, w, &result, overlap),
            etag: cur.etag.clone(),
        };
        let Some(etag) = store::save(tables, &ws.id, row, &next)
            .await
            .map_err(|e| PageError::Store(e.into()))?
        else {
            break; // another instance moved the cursor: it carries on
        };
        cur = StoredCursor {
            etag: Some(etag),
            ..next
        };
        if stalled(w, next_slice(&cur.state, hi, overlap, Some(&result))) {
            take = take.saturating_mul(2).min(MAX_TAKE);
        }
        after = Some(result);
        if cut {
            out.cut = true;
            break;
        }
    }
    Ok(out)
}

/// The first own back-off after a 429 without `Retry-After`; doubled up to [`BACKOFF_MAX`].
pub const BACKOFF_FIRST: time::Duration = time::Duration::minutes(1);
/// The longest own back-off.
pub const BACKOFF_MAX: time::Duration = time::Duration::minutes(15);

/// The status a read leaves. A throttled workspace waits for the service's `Retry-After`, else a
/// back-off of its own that doubles with each throttled tick in a row.
pub fn status_of(
    ws: &Workspace,
    r: &Result<Read, PageError>,
    now: OffsetDateTime,
    previous: Option<&Status>,
) -> Status {
    let throttled = match r {
        Err(PageError::Rest(AzureError::Throttled { retry_after })) => Some(*retry_after),
        _ => None,
    };
    let count = throttled.map_or(0, |_| previous.map_or(0, |p| p.throttled).saturating_add(1));
    let retry_after = throttled.map(|asked| {
        let wait = asked
            .and_then(|d| time::Duration::try_from(d).ok())
            .unwrap_or_else(|| backoff(count));
        now + wait
    });
    Status {
        workspace: ws.id.clone(),
        error: r.as_ref().err().map(shown),
        at: format_utc(now),
        retry_after,
        throttled: count,
    }
}

/// The own back-off of the `n`th throttled tick in a row (1-based).
fn backoff(n: u32) -> time::Duration {
    let doublings = n.saturating_sub(1).min(10);
    (BACKOFF_FIRST * 2i32.pow(doublings)).min(BACKOFF_MAX)
}

/// What `/api/health` shows of a failure: its kind and the role to grant, never a service message.
pub(super) fn shown(e: &PageError) -> String {
    match e {
        PageError::Rest(AzureError::Forbidden { role }) => format!("403: missing role {role}"),
        PageError::Rest(AzureError::NotFound) => {
            "404: no such workspace (check AUDITLOGS_WORKSPACES)".to_owned()
        }
        PageError::Rest(AzureError::Throttled {
            retry_after: Some(_),
        }) => "429: throttled; asked again after the service's Retry-After".to_owned(),
        PageError::Rest(AzureError::Throttled { retry_after: None }) => {
            "429: throttled without a Retry-After; asked again after a back-off of this app's own"
                .to_owned()
        }
        PageError::Rest(AzureError::Rejected { status, code, .. }) => {
            format!("{status} {code}: the query was refused")
        }
        PageError::Rest(AzureError::ServerTimeout { .. }) => {
            "the service timed the query out even at one row a page".to_owned()
        }
        PageError::Rest(AzureError::Transient(_)) => {
            "the service did not answer (timeouts or 5xx after retries)".to_owned()
        }
        PageError::Rest(_) => {
            "the query was refused (an answer this app does not expect)".to_owned()
        }
        PageError::Broken(_) => "an unreadable or partial answer".to_owned(),
        PageError::Store(_) => "storing its rows failed (the app's storage)".to_owned(),
    }
}
