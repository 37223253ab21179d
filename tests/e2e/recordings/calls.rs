//! Storage calls per recording event on Azurite, counted through the library's counting decorators.

use bastion_recordings::state::Stores;
use bastion_testkit::DefaultSources;
use std::sync::Arc;

use bastion_recordings::catalogue::policy::Policy;
use bastion_recordings::catalogue::row_source::BlobKey;
use bastion_recordings::clock::SystemClock;
use bastion_recordings::recordings::Recordings;
use bastion_recordings::state::AppState;
use bastion_recordings::storage::{BlobRef, BlobStore};
use bastion_recordings::tables::TableStore;
use bastion_testkit::storage::counting::CountingBlobStore;
use bastion_testkit::tables::intercept::CountingTables;

use super::{Rig, SEQ1};
use crate::harness::azurite;

#[tokio::test]
async fn six_storage_calls_per_new_recording_with_its_join_on_azurite_and_three_per_duplicate() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs).await;
    rig.upload("counted", &[]).await;
    let blobs = Arc::new(CountingBlobStore::new(rig.blobs()));
    let tables = Arc::new(CountingTables::new(rig.tables()));
    tables.ensure_table("recordings").await.expect("table");
    let state = AppState::assemble(
        rig.config.clone(),
        Policy::builtin(),
        Stores {
            recordings: blobs.clone(),
            audit_logs: blobs.clone(),
            app_blobs: blobs.clone(),
            tables: tables.clone(),
        },
        Arc::new(SystemClock),
    );
    for t in [
        "recordingkeys",
        "recordingpaths",
        "sessions",
        "sessionwindows",
    ] {
        tables.ensure_table(t).await.expect("table");
    }
    let raw =
        bytes::Bytes::from(serde_json::to_vec(&rig.invocation("counted", SEQ1)).expect("json"));
    let inv = bastion_recordings::invocation::Invocation {
        function: "RecordingCreated",
        id: "count".into(),
        host_version: None,
        request: bastion_recordings::invocation::InvokeRequest::parse(&raw).expect("envelope"),
        raw,
    };
    // The cataloguing path alone (the budget of four calls): properties + catalogue().
    let event = bastion_recordings::functions::decode_event(&inv)
        .expect("event")
        .expect("a blob-created event");
    let blob = BlobRef::new(rig.container(), "counted");
    let (b0, t0) = (blobs.total(), tables.total());
    let props = blobs.properties(&blob).await.expect("props");
    let source = state.ports.sources.default_recordings();
    let join = bastion_recordings::state::join(&state);
    let recordings = Recordings {
        ports: state.ports.clone(),
        policy: state.policy.clone(),
        join,
        custody: false,
    };
    let existing = recordings
        .stored(&source.key(props.created.unwrap_or(event.time), &event.blob))
        .await
        .expect("row read");
    recordings
        .catalogue(source, &event, &props, existing)
        .await
        .expect("catalogued");
    let calls = blobs.total() - b0 + tables.total() - t0;
    eprintln!(
        "storage calls to catalogue a new recording on Azurite: {calls} (blob {:?}, table {:?})",
        blobs.by_table(),
        tables.by_table()
    );
    // Properties, the name's path index query (no index row: no catalogue row to read), tag
    // write, one `sessionwindows` query over its start days (its name names no GUID: the sessions
    // of its time), the path index row, row insert: the row written once, joined.
    assert!(calls <= 6, "{calls}");
    // The whole event for a second recording, join included (reported, bounded).
    rig.upload("counted2", &[]).await;
    let raw2 =
        bytes::Bytes::from(serde_json::to_vec(&rig.invocation("counted2", SEQ1)).expect("json"));
    let inv2 = bastion_recordings::invocation::Invocation {
        request: bastion_recordings::invocation::InvokeRequest::parse(&raw2).expect("envelope"),
        raw: raw2,
        ..inv.clone()
    };
    let (b1, t1) = (blobs.total(), tables.total());
    let rows_before = tables.count(Some("recordings"), Some("write"));
    let out =
        bastion_recordings::functions::recordings::recording_created(state.clone(), inv2.clone())
            .await
            .expect("processed");
    assert!(matches!(
        out,
        bastion_recordings::invocation::Outcome::Processed { .. }
    ));
    let whole = blobs.total() - b1 + tables.total() - t1;
    eprintln!("storage calls for a whole new-recording event (join included): {whole}");
    // properties, the name's path index query (its rows under any creation day: an overwrite can
    // give the blob a new creation time; none, so no catalogue row is read), tag write, path index
    // row, row insert, one `sessionwindows` query over two start days (no read-back of the row
    // just written, no GUIDs in the name so no `recordingkeys` rows).
    assert!(whole <= 6, "{whole}");
    let rows = tables.count(Some("recordings"), Some("write")) - rows_before;
    assert_eq!(rows, 1, "the catalogue row is written once, joined");
    let (b2, t2) = (blobs.total(), tables.total());
    bastion_recordings::functions::recordings::recording_created(state, inv2)
        .await
        .expect("duplicate");
    let dup = blobs.total() - b2 + tables.total() - t2;
    // properties, the path index query, the row read.
    assert!(dup <= 3, "duplicate costs {dup}");
}
