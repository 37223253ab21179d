//! The changes query (`storage_blob_changes.kql`, checked by `scripts/kql.sh`): the successful
//! delete, rename and write requests on the watched containers ingested in an `ingestion_time()`
//! slice, oldest first; each row read as a [`Logged`] change naming what it touched.

use time::OffsetDateTime;

use super::query::{self, Access, Found};
use crate::dates::timestamp;
use crate::loganalytics::LogsQuery;
use crate::loganalytics::slice::iso;
use crate::loganalytics::slice::{Slice, tick_of};

/// The query's body.
pub const BODY: &str = include_str!("storage_blob_changes.kql");

// Every name below is a `StorageBlobLogs.OperationName` as Azure logs it (the "Logged operation"
// column of azure-docs `articles/storage/blobs/map-rest-apis-transaction-categories.md`), never an
// Event Grid `data.api` value: a Data Lake flush is logged `FlushFile` (`FlushWithClose` is only
// its event's `api`), a directory rename `RenamePathDir`. docs/custody.md lists each with its
// meaning.

/// Requests that remove one name (a blob, a Data Lake file, or a rename's source).
pub const REMOVES: &[&str] = &["DeleteBlob", "DeleteFile", "RenamePathFile"];
/// Requests that remove every name under a path (a directory, a whole container or file system).
pub const REMOVES_ALL: &[&str] = &[
    "DeleteDirectory",
    "RenamePathDir",
    "DeleteContainer",
    "DeleteFilesystem",
];
/// Requests that remove a whole container (through the Blob or the Data Lake endpoint).
pub const REMOVES_CONTAINER: &[&str] = &["DeleteContainer", "DeleteFilesystem"];
/// Requests that write a name's whole content (an overwrite when the name is catalogued): the
/// Blob endpoint's uploads and copies, a Data Lake file created or truncated (`CreatePathFile`,
/// empty until flushed) and a Data Lake flush (`FlushFile`, which commits the appended data).
pub const OVERWRITES: &[&str] = &[
    "PutBlob",
    "PutBlockList",
    "CopyBlob",
    "PutBlobFromURL",
    "CopyBlobFromURL",
    "CreatePathFile",
    "FlushFile",
];

/// Requests that commit part of a name's content: an append (it logs the ETag of the content it
/// made). Read for who wrote the content only, not as a replacement (no `BlobCreated` announces
/// them, and whether Bastion appends to its recordings is not documented). A staged block
/// (`PutBlock`) or Data Lake append (`AppendFile`) is not among them: it changes no content until
/// a `PutBlockList` or `FlushFile` commits it (the commit is the write that decides, and logs its
/// ETag), so it cannot be tied to a content; data staged and never committed wrote nothing.
pub const PARTS: &[&str] = &["AppendBlock"];

/// Every operation the query asks for.
pub fn operations() -> Vec<&'static str> {
    [REMOVES, REMOVES_ALL, OVERWRITES, PARTS].concat()
}

/// True when operation `op` commits content ([`OVERWRITES`], [`PARTS`]): only such a write can
/// be the writer of a recording's content.
pub fn commits(op: &str) -> bool {
    OVERWRITES
        .iter()
        .chain(PARTS)
        .any(|o| o.eq_ignore_ascii_case(op))
}

/// The header the body runs under: the containers (`/<account>/<container>`), the operations,
/// the `ingestion_time()` slice and the most rows.
pub fn header(containers: &[String], w: Slice, limit: usize) -> String {
    let mut h = query::period_header(containers, limit);
    h.push_str(&format!(
        "let operations = {};\nlet ingested_from = datetime({});\nlet ingested_to = datetime({});\n",
        query::list(&operations()),
        iso(w.lo),
        iso(w.hi)
    ));
    h
}

/// What a logged change touched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Touched {
    /// One name (its spellings: as logged, and percent-decoded when that differs).
    Name(Vec<String>),
    /// Every name under a path (`""`: the whole container).
    Under(Vec<String>),
}

/// One logged request that may have deleted, renamed or overwritten recordings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    /// `ingestion_time()` (the cursor's axis).
    pub ingested: OffsetDateTime,
    /// The request as logged (its requester is the change's actor).
    pub access: Access,
    /// The storage account.
    pub account: String,
    /// The container.
    pub container: String,
    /// The names or paths it touched.
    pub touched: Touched,
    /// A write of content (an overwrite), not a removal.
    pub write: bool,
    /// A write of part of the content ([`PARTS`]).
    pub part: bool,
}

impl Logged {
    /// Reads a row; `None` when its `ObjectKey` or ingestion time is not readable.
    pub fn read(a: Access) -> Option<Self> {
        let ingested = timestamp(&a.ingested_at)?;
        let key = a.object_key.trim_matches('"');
        let mut parts = key.strip_prefix('/')?.splitn(3, '/');
        let (account, container) = (parts.next()?.to_owned(), parts.next()?.to_owned());
        let rest = parts.next().unwrap_or_default().trim_end_matches('/');
        let mut paths = spellings(rest);
        if let Some(from) = source_path(&a.source_uri, &container) {
            for p in spellings(&from) {
                if !paths.contains(&p) {
                    paths.push(p);
                }
            }
        }
        let op = a.operation.as_str();
        let touched = if REMOVES_CONTAINER.contains(&op) {
            Touched::Under(vec![String::new()])
        } else if REMOVES_ALL.contains(&op) {
            Touched::Under(paths.into_iter().filter(|p| !p.is_empty()).collect())
        } else {
            Touched::Name(paths.into_iter().filter(|p| !p.is_empty()).collect())
        };
        Some(Self {
            ingested,
            write: OVERWRITES.contains(&op),
            part: PARTS.contains(&op),
            account,
            container,
            touched,
            access: a,
        })
    }

    /// The cursor's identity of the row: its ingestion tick and a digest of its request.
    pub fn id(&self) -> (i64, u64) {
        let text = [
            self.access.correlation_id.as_str(),
            &self.access.operation,
            &self.access.object_key,
        ]
        .join("\n");
        let d = <sha2::Sha256 as sha2::Digest>::digest(text.as_bytes());
        let digest = u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]]);
        (tick_of(self.ingested), digest)
    }
}

/// `name` as logged and percent-decoded (the table reference does not say which is written).
fn spellings(name: &str) -> Vec<String> {
    let mut out = vec![name.to_owned()];
    if let Ok(d) = percent_encoding::percent_decode_str(name).decode_utf8()
        && d != name
    {
        out.push(d.into_owned());
    }
    out
}

/// The path after `container` in a `SourceUri` (a rename's or copy's source), if it names one.
fn source_path(uri: &str, container: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    let path = u.path().strip_prefix('/')?;
    let (c, rest) = path.split_once('/')?;
    (c == container && !rest.is_empty()).then(|| rest.trim_end_matches('/').to_owned())
}

/// Runs the query over slice `w` of `containers`, at most `limit` rows (one more asked).
///
/// # Errors
/// [`crate::azure::AzureError`] of the query; a broken answer is `Transient`.
pub async fn run(
    logs: &dyn LogsQuery,
    workspace: &str,
    containers: &[String],
    w: Slice,
    limit: usize,
) -> Result<Found, crate::azure::AzureError> {
    let q = [header(containers, w, limit + 1), BODY.to_owned()].concat();
    // `TimeGenerated` precedes ingestion: a day before the slice covers the documented latency.
    let lo = crate::loganalytics::slice::time_of(w.lo) - time::Duration::DAY;
    let hi = crate::loganalytics::slice::time_of(w.hi) + time::Duration::HOUR;
    query::run_text(logs, workspace, &q, (lo, hi), limit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn access(op: &str, key: &str, source: &str) -> Access {
        Access {
            operation: op.into(),
            object_key: key.into(),
            source_uri: source.into(),
            ingested_at: "2025-03-14T09:00:00.1234567Z".into(),
            ..Access::default()
        }
    }

    /// The header `tests/kql/custody-changes-header.kql` holds (the KQL check runs the body under it).
    #[test]
    fn the_checked_header_is_the_one_written() {
        let containers = ["/stweu/rec\"ordings".to_owned()];
        let w = Slice {
            lo: tick_of(timestamp("2025-03-14T09:00:00Z").expect("t")),
            hi: tick_of(timestamp("2025-03-14T09:10:00.5Z").expect("t")),
        };
        let checked = include_str!("../../tests/kql/custody-changes-header.kql");
        assert_eq!(header(&containers, w, 201), checked);
    }

    /// Every operation read is a name `StorageBlobLogs` logs (azure-docs
    /// `articles/storage/blobs/map-rest-apis-transaction-categories.md`, "Logged operation"):
    /// Event Grid's `FlushWithClose` and the unlogged `RenamePathDirectory` are never asked for,
    /// and every Data Lake request that removes or commits a recording is.
    #[test]
    fn the_operations_read_are_the_logged_names() {
        let logged = [
            "PutBlob",
            "PutBlockList",
            "CopyBlob",
            "CopyBlobFromURL",
            "PutBlobFromURL",
            "AppendBlock",
            "DeleteBlob",
            "DeleteContainer",
            "CreatePathFile",
            "FlushFile",
            "RenamePathFile",
            "RenamePathDir",
            "DeleteFile",
            "DeleteDirectory",
            "DeleteFilesystem",
        ];
        let ops = operations();
        for op in &ops {
            assert!(logged.contains(op), "{op} is not a logged operation name");
        }
        for needed in [
            "FlushFile",
            "CreatePathFile",
            "RenamePathDir",
            "DeleteFilesystem",
            "DeleteFile",
            "DeleteDirectory",
            "RenamePathFile",
        ] {
            assert!(ops.contains(&needed), "{needed} is not read");
        }
    }

    #[test]
    fn a_row_names_what_it_touched() {
        let l = Logged::read(access("DeleteFile", "/a/rec/dir/x%20y.mp4", "")).expect("read");
        assert_eq!((l.account.as_str(), l.container.as_str()), ("a", "rec"));
        assert_eq!(
            l.touched,
            Touched::Name(vec!["dir/x%20y.mp4".into(), "dir/x y.mp4".into()])
        );
        assert!(!l.write);
        let r = Logged::read(access(
            "RenamePathDir",
            "/a/rec/new",
            "https://a.dfs.core.windows.net/rec/old?x=1",
        ))
        .expect("read");
        assert_eq!(r.touched, Touched::Under(vec!["new".into(), "old".into()]));
        for whole in ["DeleteContainer", "DeleteFilesystem"] {
            let c = Logged::read(access(whole, "/a/rec", "")).expect("read");
            assert_eq!(c.touched, Touched::Under(vec![String::new()]), "{whole}");
        }
        let dir = Logged::read(access("DeleteDirectory", "/a/rec/d/", "")).expect("read");
        assert_eq!(dir.touched, Touched::Under(vec!["d".into()]));
        for commit in ["FlushFile", "CreatePathFile"] {
            let w = Logged::read(access(commit, "/a/rec/x", "")).expect("r");
            assert!(w.write && commits(commit), "{commit}");
        }
        assert!(
            !commits("AppendFile") && !commits("PutBlock"),
            "staged data commits nothing"
        );
        assert!(
            Logged::read(access("PutBlob", "/a/rec/x", ""))
                .expect("r")
                .write
        );
        let part = Logged::read(access("AppendBlock", "/a/rec/x", "")).expect("r");
        assert!(part.part && !part.write);
        assert!(Logged::read(access("PutBlob", "nokey", "")).is_none());
        assert_ne!(l.id(), r.id());
    }
}
