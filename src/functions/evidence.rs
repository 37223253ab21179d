//! `EvidencePack` (timer, 04:00 UTC on the 1st of each month): the previous month's signed evidence
//! pack into container `evidence` of the app's account, under `<yyyy-mm>/<run>/` (`run` = the
//! generation time and the invocation), `manifest.json` and `manifest.sig` last, then the month's
//! commit `<yyyy-mm>/pack.json` naming that folder.
//!
//! **Write-once.** Every blob is uploaded with `If-None-Match: *` ([`Upload::only_new`]), so no
//! run ever replaces a stored blob (the container also has a time-based immutability policy in
//! Azure). A month whose commit exists (or, from before commits, any `manifest.sig`) is Skipped
//! before anything is built; of two runs racing past that check, the one whose commit is stored
//! first made the month's pack and the other is Skipped, its folder left as an uncommitted copy. A
//! run that fails midway leaves a folder without `manifest.sig` (visibly unfinished) and no commit,
//! and is Retryable; the retry writes a fresh folder.

use bytes::Bytes;
use serde_json::json;
use time::{Date, Month, OffsetDateTime, Time};

use crate::api::evidence::{build, options};
use crate::evidence::manifest::{MANIFEST, SIGNATURE};
use crate::invocation::outcome::Stage;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::state::AppState;
use crate::storage::{BlobRef, BlobStore, Metadata, StorageError, Upload};

/// The function (folder, route) name.
pub const EVIDENCE_PACK: &str = "EvidencePack";
/// The container of the packs in the app's account.
pub const CONTAINER: &str = "evidence";
/// The month's commit, beside its run folders: names the folder holding the month's pack.
pub const COMMIT: &str = "pack.json";

/// The calendar month before the one `now` lies in: `[first day, first day of now's month)`.
pub fn previous_month(now: OffsetDateTime) -> (OffsetDateTime, OffsetDateTime) {
    let this = Date::from_calendar_date(now.year(), now.month(), 1).unwrap_or(now.date());
    let prev_month = now.month().previous();
    let year = if now.month() == Month::January {
        now.year() - 1
    } else {
        now.year()
    };
    let prev = Date::from_calendar_date(year, prev_month, 1).unwrap_or(this);
    (
        prev.with_time(Time::MIDNIGHT).assume_utc(),
        this.with_time(Time::MIDNIGHT).assume_utc(),
    )
}

/// True when the month's pack is stored: its commit, or (packs from before commits) a
/// `manifest.sig` under `<month>/`.
async fn done(blobs: &dyn BlobStore, month: &str) -> Result<bool, StorageError> {
    match blobs
        .properties(&BlobRef::new(CONTAINER, format!("{month}/{COMMIT}")))
        .await
    {
        Ok(_) => return Ok(true),
        Err(StorageError::NotFound) => {}
        Err(e) => return Err(e),
    }
    let prefix = format!("{month}/");
    let mut marker = None;
    loop {
        let page = blobs.list(CONTAINER, Some(&prefix), marker).await?;
        if page
            .items
            .iter()
            .any(|b| b.name.ends_with(&format!("/{SIGNATURE}")))
        {
            return Ok(true);
        }
        match page.next {
            Some(m) => marker = Some(m),
            None => return Ok(false),
        }
    }
}

/// `EvidencePack`: "now" is `sys.UtcNow`, else the clock.
///
/// # Errors
/// `Retryable` when storage fails.
pub async fn evidence_pack(state: AppState, inv: Invocation) -> Result<Outcome, HandlerError> {
    let Some(key) = state.config.evidence_key.clone() else {
        return Ok(Outcome::skipped("EVIDENCE_SIGNING_KEY is not set"));
    };
    let now = inv
        .request
        .sys()
        .now()
        .unwrap_or_else(|| state.ports.clock.now());
    let (from, to) = previous_month(now);
    let month = format!("{:04}-{:02}", from.year(), u8::from(from.month()));
    let blobs = state.app_blobs.as_ref();
    let retry = |e: anyhow::Error| HandlerError::retryable(Stage::Processing, e);
    if done(blobs, &month).await.map_err(|e| retry(e.into()))? {
        return Ok(Outcome::skipped(format!("the pack of {month} exists")));
    }
    let opts = options(&state.config, from, to, None, now);
    // Removed when the guard drops: however the invocation ends.
    let dir = crate::api::evidence::pack_dir().map_err(|e| retry(e.into()))?;
    // The invocation in the folder name keeps two runs of one scheduled time apart.
    let run = format!(
        "{}-{}",
        crate::dates::format_utc(now).replace(':', ""),
        inv.id
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(12)
            .collect::<String>()
    );
    let result = async {
        let manifest = build(&state.ports, &key, &opts, dir.path(), None).await?;
        let names = manifest
            .files
            .iter()
            .map(|f| f.name.clone())
            .chain([MANIFEST.to_owned(), SIGNATURE.to_owned()]);
        for name in names {
            let body = Bytes::from(std::fs::read(dir.path().join(&name))?);
            let blob = BlobRef::new(CONTAINER, format!("{month}/{run}/{name}"));
            blobs
                .upload(&blob, write_once(body, content_type(&name)))
                .await?;
        }
        anyhow::Ok(manifest.files.len() + 2)
    }
    .await;
    drop(dir);
    let files = result.map_err(retry)?;
    let commit =
        json!({"folder": format!("{month}/{run}/"), "generatedAt": crate::dates::format_utc(now)});
    match blobs
        .upload(
            &BlobRef::new(CONTAINER, format!("{month}/{COMMIT}")),
            write_once(Bytes::from(commit.to_string()), "application/json"),
        )
        .await
    {
        Ok(_) => Ok(Outcome::processed(format!(
            "evidence pack of {month}: {files} blobs under {CONTAINER}/{month}/{run}/"
        ))),
        Err(StorageError::AlreadyExists) => Ok(Outcome::skipped(format!(
            "the pack of {month} was committed by another run first; this run's copy under {CONTAINER}/{month}/{run}/ is not the month's pack"
        ))),
        Err(e) => Err(retry(e.into())),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use time::macros::datetime;

    use super::{CONTAINER, evidence_pack, previous_month};
    use crate::clock::FixedClock;
    use crate::invocation::{Invocation, Outcome};
    use crate::retention::policy::Policy;
    use crate::storage::BlobStore;
    use crate::storage::memory::InMemoryBlobStore;
    use crate::tables::memory::InMemoryTables;
    use crate::testkit::retention::{Hook, Hooked};

    /// base64 of the seed [7; 32].
    const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

    fn tick(id: &str, now: &str) -> Invocation {
        crate::testkit::timer_invocation("EvidencePack", id, now)
    }

    /// A hookable in-memory blob store and the state over it (signing key set).
    fn rig() -> (Arc<Hooked>, crate::state::AppState) {
        let blobs = Arc::new(Hooked::with(
            InMemoryBlobStore::new("acct"),
            Default::default(),
        ));
        let state = crate::testkit::state(
            blobs.clone(),
            Arc::new(InMemoryTables::new()),
            Arc::new(FixedClock::new(datetime!(2025-04-01 4:00 UTC))),
            Policy::builtin(),
            &[("EVIDENCE_SIGNING_KEY", KEY)],
        );
        (blobs, state)
    }

    /// Every blob of the container with its ETag.
    async fn stored(blobs: &Hooked) -> Vec<(String, String)> {
        let page = blobs.list(CONTAINER, None, None).await.expect("list");
        let mut out = Vec::new();
        for b in page.items {
            let p = blobs
                .properties(&crate::storage::BlobRef::new(CONTAINER, b.name.clone()))
                .await
                .expect("props");
            out.push((b.name, p.etag));
        }
        out
    }

    #[tokio::test]
    async fn a_second_run_for_the_month_is_skipped_and_overwrites_nothing() {
        let (blobs, state) = rig();
        let first = evidence_pack(state.clone(), tick("run-1", "2025-04-01T04:00:00Z"))
            .await
            .expect("first");
        assert!(matches!(first, Outcome::Processed { .. }), "{first:?}");
        let before = stored(&blobs).await;
        assert!(before.iter().any(|(n, _)| n == "2025-03/pack.json"));
        assert!(before.iter().any(|(n, _)| n.ends_with("/manifest.sig")));
        // The same tick redelivered, and a later run: both Skipped, every blob as it was.
        for (id, now) in [
            ("run-1", "2025-04-01T04:00:00Z"),
            ("run-2", "2025-04-02T04:00:00Z"),
        ] {
            let again = evidence_pack(state.clone(), tick(id, now))
                .await
                .expect("again");
            assert!(matches!(again, Outcome::Skipped { .. }), "{again:?}");
        }
        assert_eq!(stored(&blobs).await, before);
    }

    #[tokio::test]
    async fn a_run_that_loses_the_race_to_commit_is_skipped_and_replaces_no_commit() {
        let (blobs, state) = rig();
        // Another run commits the month between this run's check and its commit.
        blobs.arm(Hook::PutFirst("2025-03/pack.json".into()));
        // Its own invocation id: the run's scratch directory is named after it, and the tests of
        // this module run at once.
        let out = evidence_pack(state, tick("race-1", "2025-04-01T04:00:00Z"))
            .await
            .expect("run");
        let Outcome::Skipped { reason } = &out else {
            panic!("{out:?}")
        };
        assert!(reason.contains("another run"), "{reason}");
        let commit = blobs
            .read_range(
                &crate::storage::BlobRef::new(CONTAINER, "2025-03/pack.json"),
                0,
                1 << 20,
            )
            .await
            .expect("commit");
        assert_eq!(commit, Bytes::from_static(b"the other writer's"));
        // Its copy stays (the container's immutability forbids deleting it): complete, signed,
        // named by no commit, so readers, who follow the commit, never open it.
        let copy: Vec<String> = stored(&blobs)
            .await
            .into_iter()
            .map(|(name, _)| name)
            .filter(|n| n.starts_with("2025-03/") && n.contains("race1"))
            .collect();
        assert!(
            copy.iter().any(|n| n.ends_with("/manifest.sig")),
            "{copy:?}"
        );
        let folder = copy[0].rsplit_once('/').map(|(f, _)| f).unwrap_or_default();
        assert!(!String::from_utf8_lossy(&commit).contains(folder));
    }

    #[test]
    fn the_previous_month_crosses_years() {
        assert_eq!(
            previous_month(datetime!(2026-01-01 04:00 UTC)),
            (
                datetime!(2025-12-01 0:00 UTC),
                datetime!(2026-01-01 0:00 UTC)
            )
        );
        assert_eq!(
            previous_month(datetime!(2026-03-31 23:59 UTC)),
            (
                datetime!(2026-02-01 0:00 UTC),
                datetime!(2026-03-01 0:00 UTC)
            )
        );
    }
}
