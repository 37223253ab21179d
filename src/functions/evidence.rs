//! `EvidencePack` (timer, 04:00 UTC on the 1st of each month): the previous month's signed evidence
//! pack into container `evidence` of the app's account, under `<yyyy-mm>/<run>/` (`run` = the
//! generation time), `manifest.json` and `manifest.sig` last.
//!
//! **Idempotent per month.** A month that already has a `manifest.sig` under `<yyyy-mm>/` is
//! Skipped, so redeliveries and re-runs never make a second complete pack. A run that fails midway
//! leaves a folder without `manifest.sig` (visibly unfinished, and under the container's
//! immutability policy never overwritten) and is Retryable; the retry writes a fresh folder.

use bytes::Bytes;
use time::{Date, Month, OffsetDateTime, Time};

use crate::api::evidence::{build, options};
use crate::evidence::manifest::{MANIFEST, SIGNATURE};
use crate::invocation::outcome::Stage;
use crate::invocation::{HandlerError, Invocation, Outcome};
use crate::state::AppState;
use crate::storage::{BlobRef, BlobStore, Metadata};

/// The function (folder, route) name.
pub const EVIDENCE_PACK: &str = "EvidencePack";
/// The container of the packs in the app's account.
pub const CONTAINER: &str = "evidence";

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

/// True when a complete pack (a `manifest.sig`) exists under `prefix`.
async fn done(blobs: &dyn BlobStore, prefix: &str) -> Result<bool, crate::storage::StorageError> {
    let mut marker = None;
    loop {
        let page = blobs.list(CONTAINER, Some(prefix), marker).await?;
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
    if done(blobs, &format!("{month}/"))
        .await
        .map_err(|e| retry(e.into()))?
    {
        return Ok(Outcome::skipped(format!("the pack of {month} exists")));
    }
    let opts = options(&state.config, from, to, None, now);
    let dir = std::env::temp_dir().join(format!("evidence-{}", inv.id));
    let _ = std::fs::remove_dir_all(&dir);
    let result = async {
        let manifest = build(&state.ports, &key, &opts, &dir, None).await?;
        let run = crate::dates::format_utc(now).replace(':', "");
        let names = manifest
            .files
            .iter()
            .map(|f| f.name.clone())
            .chain([MANIFEST.to_owned(), SIGNATURE.to_owned()]);
        for name in names {
            let body = Bytes::from(std::fs::read(dir.join(&name))?);
            let blob = BlobRef::new(CONTAINER, format!("{month}/{run}/{name}"));
            blobs
                .put(&blob, body, content_type(&name), &Metadata::new())
                .await?;
        }
        anyhow::Ok((manifest.files.len() + 2, run))
    }
    .await;
    let _ = std::fs::remove_dir_all(&dir);
    let (files, run) = result.map_err(retry)?;
    Ok(Outcome::processed(format!(
        "evidence pack of {month}: {files} blobs under {CONTAINER}/{month}/{run}/"
    )))
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
    use time::macros::datetime;

    use super::previous_month;

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
