//! `EvidencePack` (timer, 04:00 UTC on the 1st of each month): the previous month's signed evidence
//! pack, published write-once into container `evidence` and committed
//! ([`crate::evidence::publish`]).

use time::OffsetDateTime;

use crate::evidence::options::PackOptions;
use crate::evidence::publish::{CONTAINER, Published, previous_month, publish};
use crate::invocation::{Failure, Stage};
use crate::invocation::{Invocation, Outcome};
use crate::state::AppState;

/// The function (folder, route) name.
pub const EVIDENCE_PACK: &str = "EvidencePack";

/// `EvidencePack`: "now" is `sys.UtcNow`, else the clock; the run's folder is named after it and
/// the invocation (two runs of one scheduled time stay apart).
///
/// # Errors
/// `Retryable` when storage fails.
pub async fn evidence_pack(state: AppState, inv: Invocation) -> Result<Outcome, Failure> {
    let Some(key) = state.config.evidence_key.clone() else {
        return Ok(Outcome::skipped("EVIDENCE_SIGNING_KEY is not set"));
    };
    let now = super::binding::now_of(&state, &inv);
    let (from, to) = previous_month(now);
    let (config, blobs) = (&state.config, state.app_blobs.as_ref());
    let opts = PackOptions::new((from, to), None, now, &config.reviews, &config.audit)
        .with_custody(config.custody.workspace.as_deref(), state.logs.as_ref())
        .with_paper(config.evidence_paper);
    let month = format!("{:04}-{:02}", from.year(), u8::from(from.month()));
    match publish(&state.ports, blobs, &key, &opts, &run(now, &inv.id)).await {
        Ok(Published::Committed(files, folder)) => Ok(Outcome::processed(format!(
            "evidence pack of {month}: {files} blobs under {CONTAINER}/{folder}"
        ))),
        Ok(Published::Exists) => Ok(Outcome::skipped(format!("the pack of {month} exists"))),
        Ok(Published::Lost(folder)) => Ok(Outcome::skipped(format!(
            "the pack of {month} was committed by another run first; this run's copy under {CONTAINER}/{folder} is not the month's pack"
        ))),
        Err(e) => Err(Failure::retryable(Stage::Processing, e)),
    }
}

/// The run's folder name: the generation time and the invocation.
fn run(now: OffsetDateTime, invocation: &str) -> String {
    let id: String = invocation
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(12)
        .collect();
    format!("{}-{id}", crate::dates::format_utc(now).replace(':', ""))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use time::macros::datetime;

    use super::evidence_pack;
    use crate::catalogue::policy::Policy;
    use crate::evidence::publish::{CONTAINER, previous_month};
    use crate::invocation::{Invocation, Outcome};
    use crate::storage::BlobStore;
    use crate::testkit::clock::FixedClock;
    use crate::testkit::retention::{Hook, Hooked};
    use crate::testkit::storage::memory::InMemoryBlobStore;
    use crate::testkit::tables::memory::InMemoryTables;

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
