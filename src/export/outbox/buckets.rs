//! The outbox's buckets: a row is recorded into a table named after its custom table and the
//! quarter hour in which it was written (`sentineloutboxdetections202611271645`), so that the
//! listing of the outbox's tables tells which tables have rows waiting where, and, once no write
//! can land in a bucket any more, the drain retires it whole with one cursor move per call and
//! one Delete Table.
//!
//! A writer names the bucket from its clock just before its write; a write lasts at most the
//! storage timeout (`STORAGE_TIMEOUT_MS`, at most 600 s, retries included). A bucket is *closed*
//! [`SETTLE`] after its quarter hour ends, longer than any write, and only a closed bucket is read
//! by cursor and deleted whole; an open one is drained row by row, each sent row removed.

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use std::collections::BTreeMap;

use super::row::OUTBOX_TABLE;
use crate::azure::AzureError;
use crate::export::table::Table;
use crate::tables::TableStore;

/// Minutes of writes one bucket takes.
pub const BUCKET_MINUTES: u8 = 15;
/// How long after its end a bucket may still receive a write begun within it (longer than the
/// longest storage call, 600 s).
pub const SETTLE: Duration = Duration::minutes(15);
/// The cursor's row key once a bucket was sent to its end (sorts after every row key).
const DONE: &str = "~";

/// A bucket's start in its table's name (UTC).
const STAMP: &[BorrowedFormatItem<'_>] = format_description!("[year][month][day][hour][minute]");

/// The bucket table rows of `table` written at `at` go to.
pub fn bucket_table(table: Table, at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let start = at - Duration::minutes(i64::from(at.minute() % BUCKET_MINUTES));
    let stamp = start.format(STAMP).unwrap_or_default();
    format!("{OUTBOX_TABLE}{}{stamp}", table.key().to_ascii_lowercase())
}

/// The custom table and the start of the bucket `name`; `None` for a name that is not a bucket's.
pub fn bucket_of(name: &str) -> Option<(Table, OffsetDateTime)> {
    let rest = name.to_ascii_lowercase();
    let rest = rest.strip_prefix(OUTBOX_TABLE)?;
    let table = Table::ALL
        .into_iter()
        .find(|t| rest.starts_with(&t.key().to_ascii_lowercase()))?;
    let digits = &rest[table.key().len()..];
    if digits.len() != 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let start = PrimitiveDateTime::parse(digits, STAMP).ok()?;
    Some((table, start.assume_utc()))
}

/// True when no write begun within bucket `name` can still land in it at `now`.
pub fn closed(name: &str, now: OffsetDateTime) -> bool {
    bucket_of(name)
        .is_some_and(|(_, s)| s + Duration::minutes(i64::from(BUCKET_MINUTES)) + SETTLE <= now)
}

/// The cursor after the row `row_key` of bucket `bucket`.
pub fn cursor_at(bucket: &str, row_key: &str) -> String {
    format!("{bucket}/{row_key}")
}

/// The cursor past every row of bucket `bucket`.
pub fn cursor_done(bucket: &str) -> String {
    cursor_at(bucket, DONE)
}

/// Where a stream with cursor `cursor` resumes in closed bucket `bucket`: `None` when it has sent
/// it all, `Some(None)` from its start, `Some(Some(key))` after `key`.
pub fn resume<'a>(cursor: &'a str, bucket: &str) -> Option<Option<&'a str>> {
    let (at, key) = cursor.split_once('/').unwrap_or(("", ""));
    match at.cmp(bucket) {
        std::cmp::Ordering::Less => Some(None),
        std::cmp::Ordering::Equal if key == DONE => None,
        std::cmp::Ordering::Equal => Some(Some(key)),
        std::cmp::Ordering::Greater => None,
    }
}

/// One table's buckets at `now`, each list in name (time) order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buckets {
    /// Buckets no write can land in any more: read by cursor, deleted whole once sent.
    pub closed: Vec<String>,
    /// The rest: drained row by row.
    pub open: Vec<String>,
}

/// Every table's buckets.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing(BTreeMap<Table, Buckets>);

impl Listing {
    /// The buckets of `table` (none listed: none).
    pub fn of(&self, table: Table) -> &Buckets {
        static NONE: Buckets = Buckets {
            closed: Vec::new(),
            open: Vec::new(),
        };
        self.0.get(&table).unwrap_or(&NONE)
    }
}

/// The outbox's buckets as they stand at `now`, by table (one Query Tables call).
///
/// # Errors
/// Table errors.
pub async fn buckets(tables: &dyn TableStore, now: OffsetDateTime) -> Result<Listing, AzureError> {
    let mut listing = Listing::default();
    let mut names = tables.list_tables(OUTBOX_TABLE).await?;
    // Table names are case-insensitive: spelled as this code names them.
    names.iter_mut().for_each(|n| n.make_ascii_lowercase());
    names.sort();
    for name in names {
        let Some((table, _)) = bucket_of(&name) else {
            continue;
        };
        let b = listing.0.entry(table).or_default();
        if closed(&name, now) {
            b.closed.push(name);
        } else {
            b.open.push(name);
        }
    }
    Ok(listing)
}
