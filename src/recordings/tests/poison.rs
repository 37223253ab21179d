//! Input the table service refuses is poison: the same event would fail every delivery for 24 hours.

use super::put;
use crate::functions::recordings::recording_created as handle;
use crate::invocation::Failure;
use crate::testkit::{blob_created, event_invocation, fakes};

#[tokio::test]
async fn an_event_field_too_large_for_a_table_property_is_poison() {
    let f = fakes();
    put(&f, "big.mp4", &[]).await;
    let huge = ["0".repeat(69_999), "1".to_owned()].concat();
    let err = handle(
        f.state.clone(),
        event_invocation(
            "RecordingCreated",
            blob_created("recordings", "big.mp4", &huge),
        ),
    )
    .await
    .expect_err("refused");
    assert!(
        matches!(&err, Failure::Poison { reason, .. } if reason.contains("PropertyValueTooLarge")),
        "{err:?}"
    );
}
