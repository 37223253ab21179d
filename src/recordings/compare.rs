//! A watched container compared with the catalogue: catalogued rows whose blob is gone, names
//! whose ETag changed. Each difference goes through the event path as a synthesized
//! `BlobDeleted` / `BlobCreated` (the same rows, alerts and ids), by the daily listing
//! (`Reconcile`) or for a logged directory or container removal (the changes pass).

use std::collections::HashMap;

use time::OffsetDateTime;

use super::created::Recordings;
use crate::azure::{AzureError, found};
use crate::catalogue::recording::{Recording, STATUS_CATALOGUED};
use crate::catalogue::repo;
use crate::events::event_grid::{BLOB_CREATED, BLOB_DELETED, BlobEvent, BlobEventData};
use crate::sources::Source;
use crate::spine::Finding;
use crate::storage::{BlobProps, BlobStore, normalize_etag};
use crate::tables::filter::Op;
use crate::tables::keys::{MAX_KEY_BYTES, Spelling, key};
use crate::tables::ops::{get, write_creating_table};
use crate::tables::{Filter, TableStore, WriteMode, entity, get_str};

/// Most catalogued rows one container's comparison reads.
pub const MAX_ROWS: usize = 1_000_000;
/// Most blobs one container's comparison lists.
pub const MAX_LISTED: usize = 1_000_000;

/// What a comparison found for one catalogued row.
#[derive(Debug, Clone, PartialEq)]
pub enum Diff {
    /// Its blob is gone.
    Gone(Recording),
    /// Its blob has another ETag (these properties, from the listing).
    Changed(Recording, BlobProps),
}

/// The request behind a difference, when a log row named it (else the listing found it).
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    /// `TimeGenerated` of the request.
    pub at: OffsetDateTime,
    /// Its storage request id (`CorrelationId`).
    pub request_id: &'a str,
    /// Its operation.
    pub operation: &'a str,
}

/// The catalogued rows of `account`/`container` (status `catalogued`), a filtered scan.
///
/// # Errors
/// Table errors.
pub async fn catalogued(
    tables: &dyn TableStore,
    account: &str,
    container: &str,
) -> Result<Vec<Recording>, AzureError> {
    let filter = Filter::And(vec![
        Filter::str("Status", Op::Eq, STATUS_CATALOGUED),
        Filter::str("Account", Op::Eq, account),
        Filter::str("Container", Op::Eq, container),
    ]);
    repo::recordings(tables, &filter, MAX_ROWS).await
}

/// Every blob of `container` under `prefix` by name; `None` when the container is gone.
///
/// # Errors
/// Storage errors.
pub async fn listed(
    store: &dyn BlobStore,
    container: &str,
    prefix: &str,
) -> Result<Option<HashMap<String, BlobProps>>, AzureError> {
    let (mut out, mut marker) = (HashMap::new(), None);
    let prefix = (!prefix.is_empty()).then_some(prefix);
    loop {
        let Some(page) = found(store.list(container, prefix, marker).await)? else {
            return Ok(None);
        };
        out.extend(page.items.into_iter().map(|i| (i.name, i.props)));
        if page.next.is_none() || out.len() >= MAX_LISTED {
            return Ok(Some(out));
        }
        marker = page.next;
    }
}

/// True when `name` lies under `path` (`""`: everything; else the name itself or below it).
pub fn under(name: &str, path: &str) -> bool {
    path.is_empty()
        || name == path
        || name
            .strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The differences of `rows` under `path` with the listing (`None`: the container is gone).
pub fn compare(
    rows: Vec<Recording>,
    listing: Option<&HashMap<String, BlobProps>>,
    path: &str,
) -> Vec<Diff> {
    rows.into_iter()
        .filter(|r| under(&r.blob_name, path))
        .filter_map(|r| match listing.and_then(|l| l.get(&r.blob_name)) {
            None => Some(Diff::Gone(r)),
            Some(p) if normalize_etag(&p.etag) != normalize_etag(&r.etag) => {
                Some(Diff::Changed(r, p.clone()))
            }
            Some(_) => None,
        })
        .collect()
}

impl Recordings {
    /// Compares `source`'s catalogued rows under `path` with a listing of it and runs each
    /// difference through the event path; the findings it raised.
    ///
    /// # Errors
    /// The port's error on a storage fault (what was recorded stays: a rerun alerts with the same ids).
    pub async fn compare(
        &self,
        source: &Source,
        path: &str,
        cause: Option<Cause<'_>>,
        now: OffsetDateTime,
    ) -> Result<Vec<Finding>, AzureError> {
        let tables = self.ports.tables.as_ref();
        let rows = catalogued(tables, source.account(), &source.container).await?;
        if !rows.iter().any(|r| under(&r.blob_name, path)) {
            return Ok(Vec::new());
        }
        let listing = listed(source.store.as_ref(), &source.container, path).await?;
        let mut out = Vec::new();
        for diff in compare(rows, listing.as_ref(), path) {
            let handled = match &diff {
                Diff::Gone(r) => {
                    let event = synthesized(source, (&r.blob_name, Some(r)), None, cause, now);
                    self.on_deleted(&event).await?
                }
                Diff::Changed(r, p) => {
                    let event = synthesized(source, (&r.blob_name, Some(r)), Some(p), cause, now);
                    self.on_created(&event).await?.handled
                }
            };
            out.extend(handled.findings);
        }
        Ok(out)
    }
}

/// The event a difference of blob `name` stands for: a `BlobCreated` of the listed state
/// (`props`), else a `BlobDeleted`; at the logged request's time with its request id, or
/// (listing) now. `row`: its catalogue row (`None`: a name a logged request removed before the
/// catalogue read it).
pub fn synthesized(
    source: &Source,
    (name, row): (&str, Option<&Recording>),
    props: Option<&BlobProps>,
    cause: Option<Cause<'_>>,
    now: OffsetDateTime,
) -> BlobEvent {
    let etag = props.map(|p| normalize_etag(&p.etag).to_owned());
    let known = row.map(|r| normalize_etag(&r.etag)).unwrap_or_default();
    let (id, time, api, request_id) = match cause {
        Some(c) => (
            ["log:", c.request_id].concat(),
            c.at,
            c.operation.to_owned(),
            Some(c.request_id.to_owned()),
        ),
        None => (
            format!("listing:{}", etag.as_deref().unwrap_or(known)),
            props.and_then(|p| p.last_modified).unwrap_or(now),
            "Listing".to_owned(),
            None,
        ),
    };
    BlobEvent {
        id,
        event_type: if props.is_some() {
            BLOB_CREATED
        } else {
            BLOB_DELETED
        }
        .to_owned(),
        time,
        account: source.account().to_owned(),
        container: source.container.clone(),
        blob: name.to_owned(),
        data: BlobEventData {
            api,
            e_tag: etag,
            content_type: props.and_then(|p| p.content_type.clone()),
            content_length: props.map(|p| p.content_length),
            blob_type: props.and_then(|p| p.kind).map(|k| k.as_str().to_owned()),
            url: row.map_or_else(
                || source.store.url(&source.blob(name)).unwrap_or_default(),
                |r| r.blob_url.clone(),
            ),
            sequencer: None,
            request_id,
        },
    }
}

/// Table of the daily listing's marks: per source (PK: its label through the key encoder) the
/// day its last comparison finished (`Day`).
pub const CHECKS_TABLE: &str = "listingchecks";
const CHECK_ROW: &str = "listing";

/// The mark's ETag when `source`'s comparison of `day` is still due (`Some(None)`: never done).
///
/// # Errors
/// Table errors.
pub async fn due(
    tables: &dyn TableStore,
    source: &Source,
    day: &str,
) -> Result<Option<Option<String>>, AzureError> {
    let pk = key(&source.label(), Spelling::Encoded, MAX_KEY_BYTES);
    match get(tables, CHECKS_TABLE, &pk, CHECK_ROW).await? {
        None => Ok(Some(None)),
        Some(s) if get_str(&s.entity, "Day").is_some_and(|d| d >= day) => Ok(None),
        Some(s) => Ok(Some(Some(s.etag))),
    }
}

/// Marks `source`'s comparison of `day` done (insert, else `If-Match` the mark as read: a lost
/// race means another instance did it).
///
/// # Errors
/// Table errors other than a lost race.
pub async fn mark(
    tables: &dyn TableStore,
    source: &Source,
    day: &str,
    etag: Option<String>,
) -> Result<(), AzureError> {
    let pk = key(&source.label(), Spelling::Encoded, MAX_KEY_BYTES);
    let e = entity(serde_json::json!({"PartitionKey": pk, "RowKey": CHECK_ROW, "Day": day}));
    let mode = etag.map_or(WriteMode::Insert, WriteMode::IfMatch);
    match write_creating_table(tables, CHECKS_TABLE, &e, mode).await {
        Ok(_) | Err(AzureError::Conflict | AzureError::PreconditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::catalogue::RECORDINGS_TABLE;

    fn row(name: &str, etag: &str) -> Recording {
        Recording {
            etag: etag.into(),
            ..crate::testkit::audit::recording_row(name, datetime!(2025-03-14 09:00 UTC))
        }
    }

    fn props(etag: &str) -> BlobProps {
        BlobProps {
            content_length: 1,
            content_type: None,
            etag: etag.into(),
            last_modified: None,
            created: None,
            kind: None,
            metadata: crate::storage::Metadata::new(),
            tag_count: None,
        }
    }

    #[test]
    fn gone_and_changed_rows_under_the_path() {
        let rows = vec![
            row("a/x", "1"),
            row("a/y", "2"),
            row("ab/z", "3"),
            row("b", "4"),
        ];
        let listing: HashMap<String, BlobProps> = [
            ("a/x".to_owned(), props("\"1\"")),
            ("a/y".to_owned(), props("9")),
            ("b".to_owned(), props("4")),
        ]
        .into_iter()
        .collect();
        let names = |d: &[Diff]| -> Vec<String> {
            d.iter()
                .map(|d| match d {
                    Diff::Gone(r) => format!("gone {}", r.blob_name),
                    Diff::Changed(r, p) => format!("changed {} {}", r.blob_name, p.etag),
                })
                .collect()
        };
        assert_eq!(
            names(&compare(rows.clone(), Some(&listing), "")),
            ["changed a/y 9", "gone ab/z"]
        );
        assert_eq!(
            names(&compare(rows.clone(), Some(&listing), "a")),
            ["changed a/y 9"]
        );
        assert_eq!(names(&compare(rows, None, "")).len(), 4, "container gone");
        assert!(under("a/b", "a") && !under("ab", "a") && under("a", "a") && under("x", ""));
    }

    /// The daily comparison's cost, counted on the fakes: 10,000 catalogued recordings of one
    /// container spread over 30 days, one of them gone. The fakes page as the services do (1,000
    /// entities a query page, 5,000 blobs a listing page); the table service may also end a
    /// cross-partition page early at a partition boundary (docs/cost.md says so).
    #[tokio::test]
    async fn comparing_ten_thousand_recordings_costs_two_listings_and_ten_query_pages() {
        use crate::storage::BlobRef;
        use crate::tables::WriteMode;
        let f = crate::testkit::fakes();
        let tables = f.tables.as_ref();
        tables.ensure_table(RECORDINGS_TABLE).await.expect("table");
        for i in 0..10_000u32 {
            let name = format!("r/{i:05}.rec");
            let at = datetime!(2025-02-12 09:00 UTC) + time::Duration::hours(i64::from(i % 720));
            let blob = BlobRef::new("recordings", &name);
            crate::testkit::blobs::put(&*f.blobs, &blob, &b"data"[..], &[]).await;
            let etag = f.blobs.properties(&blob).await.expect("props").etag;
            let row = Recording {
                etag,
                status: STATUS_CATALOGUED.into(),
                ..crate::testkit::audit::recording_row(&name, at)
            };
            tables
                .write(RECORDINGS_TABLE, &row.to_entity(), WriteMode::Upsert)
                .await
                .expect("row");
        }
        let source = f
            .state
            .ports
            .sources
            .recording("acct", "recordings")
            .expect("source")
            .clone();
        let counted = || (f.blobs.calls(), f.tables.calls());
        let (blobs, rows) = counted();
        let day = "2025-03-14";
        let etag = due(tables, &source, day)
            .await
            .expect("due")
            .expect("due today");
        let rec = crate::state::recordings(&f.state);
        let now = datetime!(2025-03-14 10:00 UTC);
        let alerts = rec.compare(&source, "", None, now).await.expect("compare");
        mark(tables, &source, day, etag).await.expect("mark");
        let (blob_calls, table_calls) = (f.blobs.calls() - blobs, f.tables.calls() - rows);
        assert!(alerts.is_empty(), "{alerts:?}");
        // 2 listing pages (5,000 blobs each); 10 or 11 query pages (1,000 rows each; a full page
        // can be followed by an empty one), the day's mark read and written (its table created
        // on first use): 14 table calls at most.
        assert_eq!(blob_calls, 2);
        assert!((12..=14).contains(&table_calls), "{table_calls}");
        // A difference costs the event path's calls on top (here: a blob deleted).
        let gone = BlobRef::new("recordings", "r/00042.rec");
        f.blobs
            .delete_guarded(&gone, None, None)
            .await
            .expect("delete");
        let (blobs, rows) = counted();
        let alerts = rec.compare(&source, "", None, now).await.expect("compare");
        assert_eq!(alerts.len(), 1, "the one gone: {alerts:?}");
        let (blob_more, table_more) = (f.blobs.calls() - blobs, f.tables.calls() - rows);
        assert_eq!(blob_more, 2, "the listing's pages only");
        assert!(
            table_more <= 11 + 12,
            "the event path of one deletion: {table_more}"
        );
        assert!(
            due(tables, &source, day).await.expect("due").is_none(),
            "once a day"
        );
    }
}
