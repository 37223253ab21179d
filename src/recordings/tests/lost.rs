//! Lost answers: the catalogue insert is stored but the handler never hears so.

use super::{SEQ1, SEQ2, deliver, notifications, put};
use crate::azure::AzureError;
use crate::functions::recordings::recording_created as handle;
use crate::invocation::Failure;
use crate::invocation::Outcome;
use crate::testkit::{blob_created, event_invocation, fakes};

/// The catalogue insert is stored but its answer lost: the redelivery (or the same invocation,
/// when the client's retry met the stored row) still announces the recording and asks for its hash,
/// with the same notification id a clean run gives.
#[tokio::test]
async fn a_lost_answer_to_the_row_insert_still_announces_the_recording() {
    let clean = fakes();
    put(&clean, "a.mp4", &[]).await;
    let expected = deliver(&clean, "a.mp4", SEQ1).await;
    let id_of = |o: &Outcome| match o {
        Outcome::Processed { outputs, .. } => outputs
            .value("notifications")
            .and_then(|n| n["notificationId"].as_str().map(str::to_owned)),
        Outcome::Skipped { .. } => None,
    };
    let want = id_of(&expected).expect("a clean run announces");

    // The connection dropped after the insert: this delivery fails, Event Grid redelivers.
    let f = crate::testkit::fakes_losing("recordings", || AzureError::Transient("reset".into()));
    put(&f, "a.mp4", &[]).await;
    let first = handle(
        f.state.clone(),
        event_invocation(
            "RecordingCreated",
            blob_created("recordings", "a.mp4", SEQ1),
        ),
    )
    .await;
    assert!(matches!(first, Err(Failure::Retryable { .. })), "{first:?}");
    let again = deliver(&f, "a.mp4", SEQ1).await;
    assert_eq!(id_of(&again).as_deref(), Some(want.as_str()), "{again:?}");
    assert!(
        matches!(&again, Outcome::Processed { outputs, .. } if outputs.value("hashRequests").is_some()),
        "{again:?}"
    );

    // The client's own retry met the stored row (409): the same invocation finishes the job.
    let f = crate::testkit::fakes_losing("recordings", || AzureError::Conflict);
    put(&f, "a.mp4", &[]).await;
    let once = deliver(&f, "a.mp4", SEQ1).await;
    assert_eq!(id_of(&once).as_deref(), Some(want.as_str()), "{once:?}");

    // An older event than the stored one is still skipped, announcing nothing.
    let newer = deliver(&f, "a.mp4", SEQ2).await;
    assert_eq!(notifications(&newer), 0, "an update is not a new recording");
    assert_eq!(notifications(&deliver(&f, "a.mp4", SEQ1).await), 0);
}
