//! The previous month's pack in container `evidence` (`EvidencePack`): its files under
//! `<yyyy-mm>/<run>/`, then the commit `<yyyy-mm>/pack.json` naming that folder. Every blob is
//! write-once (`If-None-Match: *`): of two racing runs the first commit wins, and a failed run
//! leaves an uncommitted folder.

use bytes::Bytes;
use serde_json::json;
use time::OffsetDateTime;

use super::options::PackOptions;
use super::pack::{pack_dir, write_pack};
use crate::azure::AzureError;
use crate::dates::format_utc;
use crate::pack::key::PackKey;
use crate::ports::Ports;
use crate::storage::{BlobRef, BlobStore, Metadata, Upload};

/// The container of the packs in the app's account.
pub const CONTAINER: &str = "evidence";
/// The month's commit, beside its run folders: names the folder holding the month's pack.
pub const COMMIT: &str = "pack.json";

/// What became of a month's pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// This run's folder is the month's pack: its blobs and folder.
    Committed(usize, String),
    /// The month was committed before this run began.
    Exists,
    /// Another run committed the month first; this run's folder is an uncommitted copy.
    Lost(String),
}

/// The calendar month before the one `now` lies in: `[first day, first day of now's month)`.
pub fn previous_month(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let this = now.date().replace_day(1).unwrap_or(now.date());
    let prev = (this.previous_day()).map_or(this, |d| d.replace_day(1).unwrap_or(this));
    (prev.midnight().assume_utc(), this.midnight().assume_utc())
}

/// Publishes the month's pack under folder `run` and commits it, unless it is committed already.
///
/// # Errors
/// Storage and I/O failures (a folder without `manifest.sig` may be left behind).
pub async fn publish(
    ports: &Ports,
    blobs: &dyn BlobStore,
    key: &PackKey,
    opts: &PackOptions,
    run: &str,
) -> anyhow::Result<Published> {
    let month = format!("{:04}-{:02}", opts.from.year(), u8::from(opts.from.month()));
    let commit = BlobRef::new(CONTAINER, format!("{month}/{COMMIT}"));
    match blobs.properties(&commit).await {
        Ok(_) => return Ok(Published::Exists),
        Err(AzureError::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    let folder = format!("{month}/{run}/");
    let dir = pack_dir()?;
    let manifest = write_pack(dir.path(), ports, key, opts, super::pdf::Print::NotHere).await?;
    let mut files = 0;
    for name in manifest.names() {
        let body = Bytes::from(std::fs::read(dir.path().join(name))?);
        let blob = BlobRef::new(CONTAINER, format!("{folder}{name}"));
        blobs
            .upload(&blob, write_once(body, content_type(name)))
            .await?;
        files += 1;
    }
    drop(dir);
    let body = json!({"folder": folder, "generatedAt": format_utc(opts.now)}).to_string();
    match blobs
        .upload(&commit, write_once(body.into(), "application/json"))
        .await
    {
        Ok(_) => Ok(Published::Committed(files, folder)),
        Err(AzureError::Conflict) => Ok(Published::Lost(folder)),
        Err(e) => Err(e.into()),
    }
}

/// A write-once upload (`If-None-Match: *`) without metadata.
fn write_once(body: Bytes, content_type: &'static str) -> Upload<'static> {
    static NONE: Metadata = Metadata::new();
    Upload {
        body,
        content_type,
        metadata: &NONE,
        only_new: true,
    }
}

fn content_type(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("csv") => "text/csv; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("json") => "application/json",
        Some("pdf") => "application/pdf",
        _ => "application/octet-stream",
    }
}
