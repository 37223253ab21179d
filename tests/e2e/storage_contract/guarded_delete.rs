//! `delete_guarded`: Delete Blob with `If-Match` and `x-ms-if-tags`, on the fake and on Azurite.
//!
//! What Azurite 3.35 honours (checked in its `WriteConditionalHeadersValidator`): `x-ms-if-tags`
//! alone, `If-Match` alone, and 412 for a missing blob (the store probes and reports 404). With
//! both headers it evaluates `If-Match` and stops, so a failing tag condition does not block the
//! delete; Azure evaluates both, and so does the fake. The last test pins that difference.

use bastion_recordings::azure::AzureError;
use bastion_recordings::storage::{BlobRef, BlobStore};

use super::blob_stores;
use super::blobs::{put, tags};
use crate::harness::unique;

/// The sweep's guard on a blob tagged `retainUntil=2026-01-10`: true on the 11th, false on the 10th.
const EXPIRED: &str = "\"retainUntil\" < '2026-01-11'";
const NOT_YET: &str = "\"retainUntil\" < '2026-01-10'";

async fn tagged(s: &dyn BlobStore, name: &str) -> (BlobRef, String) {
    let b = BlobRef::new(unique("guard"), name);
    let etag = put(s, &b, b"rec").await;
    s.set_tags(
        &b,
        &tags(&[("retentionClass", "ops-30d"), ("retainUntil", "2026-01-10")]),
        None,
    )
    .await
    .expect("tags");
    (b, etag)
}

async fn gone(s: &dyn BlobStore, b: &BlobRef) -> bool {
    matches!(s.properties(b).await, Err(AzureError::NotFound))
}

#[tokio::test]
async fn the_tag_condition_alone_is_honoured() {
    for (name, s) in blob_stores() {
        let (b, _) = tagged(s.as_ref(), "t.rec").await;
        let r = s.delete_guarded(&b, None, Some(NOT_YET)).await;
        assert!(
            matches!(r, Err(AzureError::PreconditionFailed)),
            "{name}: {r:?}"
        );
        assert!(!gone(s.as_ref(), &b).await, "{name}: kept");
        s.delete_guarded(&b, None, Some(EXPIRED))
            .await
            .expect("condition holds");
        assert!(gone(s.as_ref(), &b).await, "{name}: deleted");
    }
}

#[tokio::test]
async fn a_changed_etag_is_412_and_a_missing_blob_is_404() {
    for (name, s) in blob_stores() {
        let (b, old) = tagged(s.as_ref(), "e.rec").await;
        // Changed after listing: an overwrite gives a new ETag.
        let new = put(s.as_ref(), &b, b"v2").await;
        assert_ne!(old, new, "{name}");
        let stale = s.delete_guarded(&b, Some(&old), Some(EXPIRED)).await;
        assert!(
            matches!(stale, Err(AzureError::PreconditionFailed)),
            "{name}: {stale:?}"
        );
        assert!(
            !gone(s.as_ref(), &b).await,
            "{name}: a changed blob is kept"
        );
        s.set_tags(&b, &tags(&[("retainUntil", "2026-01-10")]), None)
            .await
            .expect("retag");
        s.delete_guarded(&b, Some(&new), Some(EXPIRED))
            .await
            .expect("current etag and expired tags delete");
        assert!(gone(s.as_ref(), &b).await, "{name}");
        for (etag, cond) in [(Some(new.as_str()), Some(EXPIRED)), (None, Some(EXPIRED))] {
            let again = s.delete_guarded(&b, etag, cond).await;
            assert!(
                matches!(again, Err(AzureError::NotFound)),
                "{name}: already gone is 404, not 412: {again:?}"
            );
        }
        let never = BlobRef::new(unique("guard-none"), "x.rec");
        let missing = s.delete_guarded(&never, Some(&new), Some(EXPIRED)).await;
        assert!(
            matches!(missing, Err(AzureError::NotFound)),
            "{name}: {missing:?}"
        );
    }
}

#[tokio::test]
async fn both_conditions_block_on_the_fake_and_azure_but_azurite_checks_only_the_etag() {
    for (name, s) in blob_stores() {
        let (b, etag) = tagged(s.as_ref(), "both.rec").await;
        // A hold moved the date out of range after the caller's re-check; the ETag is unchanged.
        s.set_tags(&b, &tags(&[("retainUntil", "9999-12-31")]), None)
            .await
            .expect("hold");
        let r = s.delete_guarded(&b, Some(&etag), Some(EXPIRED)).await;
        if name == "azurite" {
            assert!(
                r.is_ok(),
                "Azurite now honours x-ms-if-tags with If-Match: update the docs of \
                 BlobStore::delete_guarded, docs/retention.md and this test ({r:?})"
            );
        } else {
            assert!(
                matches!(r, Err(AzureError::PreconditionFailed)),
                "{name}: {r:?}"
            );
            assert!(!gone(s.as_ref(), &b).await, "{name}: the hold wins");
        }
    }
}
