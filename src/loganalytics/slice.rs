//! A cursor on `ingestion_time()` (pure), as the audit-log query and the custody reads keep one per
//! workspace; a tick's KQL `datetime` literal ([`iso`]). Invariant: every row ingested before
//! `through` is stored, but late-visible rows within `overlap` of it; `seen` holds the identity of
//! every stored row not older than `through − overlap`, so a tick's first query starts `overlap`
//! early and skips them. Times are 100 ns ticks (KQL's `datetime` precision).

use std::collections::BTreeSet;

use time::{Duration, OffsetDateTime};

/// 100 ns ticks since the Unix epoch.
pub type Tick = i64;

/// The tick of `t` (rounded down).
pub fn tick_of(t: OffsetDateTime) -> Tick {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(100)).unwrap_or(i64::MAX)
}

/// The time of tick `t`.
pub fn time_of(t: Tick) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t) * 100)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// Ticks in `d`.
pub fn ticks(d: Duration) -> Tick {
    i64::try_from(d.whole_nanoseconds() / 100).unwrap_or(i64::MAX)
}

/// The ISO form of a tick, to the 100 ns (what KQL's `datetime` keeps).
pub fn iso(t: Tick) -> String {
    let at = time_of(t);
    let frac = t.rem_euclid(10_000_000);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{frac:07}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

/// A row's identity: its ingestion tick and digest.
pub type RowId = (Tick, u64);

/// Where a workspace's reading stands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CursorState {
    /// Every row ingested before this (save late-visible ones within the overlap) is stored.
    pub through: Tick,
    /// Stored rows not older than `through − overlap`.
    pub seen: BTreeSet<RowId>,
}

/// One query's `ingestion_time()` bounds: `[lo, hi)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slice {
    /// Inclusive lower bound.
    pub lo: Tick,
    /// Exclusive upper bound.
    pub hi: Tick,
}

/// The slice of the next query, up to `hi`: a tick's first starts `overlap` before the cursor, a
/// later one where the previous page stopped; `None` when there is nothing to ask.
pub fn next_slice(
    c: &CursorState,
    hi: Tick,
    overlap: Tick,
    after: Option<&PageResult>,
) -> Option<Slice> {
    let lo = match after {
        None => c.through.saturating_sub(overlap),
        Some(p) => p.next.map_or(c.through, |t| t.min(c.through)),
    };
    let resumed = after.is_some() && lo < c.through;
    (lo < hi && (c.through < hi || resumed)).then_some(Slice { lo, hi })
}

/// What one answer's rows came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageResult {
    /// The rows handled (stored now, or found in `seen`), in answer order: a prefix of the answer.
    pub handled: Vec<RowId>,
    /// The first row not handled (a cut by the time budget, or the row past the page limit); `None`
    /// when every row of the slice was handled.
    pub next: Option<Tick>,
}

/// The cursor after a whole page (never a partial one): `through` moves to the slice's end or the
/// first row not handled, never back; `seen` keeps the handled rows within the overlap.
pub fn advance(c: &CursorState, w: Slice, page: &PageResult, overlap: Tick) -> CursorState {
    let through = match page.next {
        None => w.hi.max(c.through),
        Some(t) => t.max(c.through),
    };
    let keep_from = through.saturating_sub(overlap);
    let seen = c
        .seen
        .iter()
        .chain(page.handled.iter())
        .filter(|(t, _)| *t >= keep_from)
        .copied()
        .collect();
    CursorState { through, seen }
}

/// True when the next query would be the one just made: the page must grow to move on.
pub fn stalled(asked: Slice, next: Option<Slice>) -> bool {
    next == Some(asked)
}

#[cfg(test)]
#[path = "slice_tests.rs"]
mod tests;
