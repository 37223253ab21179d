//! Writing a batch: each folded session through the catalogue's session writer (its day row
//! first, so a crash in between re-reads the chunk and never loses a pending join), then the
//! failed logins.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use super::{Batch, Folded};
use crate::audit_logs::detect::failed;
use crate::audit_logs::tail::Tailer;
use crate::catalogue::session::{self, SessionRecord};
use crate::clock::Budget;
use crate::ports::Failure;

/// Sessions written at once; the time budget is checked between such groups.
const SESSIONS_IN_FLIGHT: usize = 8;

/// What a flush did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Flushed {
    /// Session rows changed.
    pub sessions: usize,
    /// Failed-login partitions touched (for burst detection).
    pub failed_partitions: BTreeSet<String>,
    /// cut by the time budget: only the records before this blob offset were written.
    pub cut: Option<u64>,
}

/// Writes a batch. When `time` runs out it stops after the sessions in hand (at least one group, so
/// every call progresses) and reports where the records it wrote end.
pub async fn flush(
    tail: &Tailer,
    batch: Batch<'_>,
    now: OffsetDateTime,
    time: &Budget,
) -> Result<Flushed, Failure> {
    let mut out = Flushed::default();
    let mut rest = batch.folded.as_slice();
    let mut first = true;
    while let Some(next) = rest.first() {
        if !first && time.passed() {
            out.cut = Some(next.first_offset);
            break;
        }
        // A few distinct rows at a time; the first alone, as it creates the tables.
        let group = if first { 1 } else { SESSIONS_IN_FLIGHT };
        first = false;
        let (now_in, later) = rest.split_at(rest.len().min(group));
        let changed =
            futures::future::try_join_all(now_in.iter().map(|f| upsert(tail, f, now))).await?;
        out.sessions += changed.into_iter().filter(|c| *c).count();
        rest = later;
    }
    let end = out.cut.unwrap_or(u64::MAX);
    for (_, f) in batch.failed.iter().filter(|(at, _)| *at < end) {
        out.failed_partitions
            .extend(failed::record(&tail.ports.tables, f).await?);
    }
    // Before the chunk's offset is saved: a crash from here on re-reads the chunk.
    failed::mark_pending(&tail.ports.tables, &out.failed_partitions).await?;
    Ok(out)
}

/// Merges one folded session into its stored row; `false` when nothing changed.
async fn upsert(tail: &Tailer, folded: &Folded<'_>, now: OffsetDateTime) -> Result<bool, Failure> {
    let raw = folded
        .raw
        .as_ref()
        .map(|(_, l)| String::from_utf8_lossy(l).into_owned());
    let times = tail.join.times;
    let affected = move |b: Option<&SessionRecord>, a: &SessionRecord| times.affected(b, a);
    Ok(session::write::upsert(
        tail.ports.tables.as_ref(),
        &tail.ports.outbox,
        &folded.session,
        raw.as_deref(),
        now,
        &affected,
    )
    .await?)
}
