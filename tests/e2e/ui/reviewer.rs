//! The reviewer's whole path in headless Chromium, keyboard only (`tests/ui/reviewer.mjs`): find a
//! session by the person's e-mail, open it, see the recording's hash, last verification and custody
//! trail, sign off, see the confirmation, the review in the lists and in the histories; axe-core
//! finds no serious or critical violation in any state; at 1,400 and 800 px nothing is wider than
//! its box. The person's recording was overwritten after it was catalogued (a custody event),
//! hashed, and verified by `IntegrityVerify`; read links are on (`CATALOGUE_DOWNLOAD_LINKS`).

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bytes::Bytes;
use serde_json::json;

use super::seed::{NEU, PERSON, PERSON_ACCOUNT, SEEDS, event, invoke_ok};
use super::{browser_check, local, rank_queue, seeded};
use crate::harness::fixture;

/// A sequencer newer than the fixture event's: the overwrite comes after the first write.
const LATER: &str = "0000000000000000000000000001A2B30000000000e00000";

#[tokio::test]
async fn reviewers_path_by_keyboard_in_headless_chromium() {
    let Some(s) = seeded(&[("CATALOGUE_DOWNLOAD_LINKS", "true")]).await else {
        return;
    };
    let person = SEEDS
        .iter()
        .find(|x| x.8 == Some(PERSON))
        .expect("the person's session");
    // The person's recording is overwritten with other bytes: a replacement, then its hash.
    let name = format!("{}/{}.mp4", person.2.to_ascii_lowercase(), person.tunnel());
    let container = &s.containers[1];
    let blob = BlobRef::new(container.clone(), name.clone());
    s.blobs
        .put(
            &blob,
            Bytes::from_static(b"other bytes"),
            "video/mp4",
            &Metadata::new(),
        )
        .await
        .expect("overwrite");
    let mut inv = event(
        "invocations/recording-created.invocation.json",
        container,
        &name,
    );
    inv["Data"]["eventGridEvent"]["data"]["sequencer"] = json!(LATER);
    inv["Data"]["eventGridEvent"]["data"]["contentLength"] = json!(11);
    let (status, replaced) = s.handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "{replaced}");
    let req = replaced["Outputs"]["hashRequests"].clone();
    assert!(
        req.is_object(),
        "a hash request after the replacement: {replaced}"
    );
    let message = json!({"Data": {"message": serde_json::to_string(&req.to_string()).expect("json")},
        "Metadata": {"DequeueCount": 1, "sys": {"MethodName": "RecordingHash"}}});
    invoke_ok(&s.handler, "RecordingHash", &message).await;
    // The weekly integrity run verifies it.
    let mut tick = fixture("invocations/timer.invocation.json");
    tick["Metadata"]["sys"]["MethodName"] = json!("IntegrityVerify");
    let verified = time::OffsetDateTime::now_utc();
    tick["Metadata"]["sys"]["UtcNow"] = json!(super::seed::at(verified, 0));
    invoke_ok(&s.handler, "IntegrityVerify", &tick).await;
    rank_queue(&s.handler, s.now).await;

    let expect = json!({
        "key": "test-function-key",
        "from": local(s.now - time::Duration::hours(4)), "to": local(s.now + time::Duration::hours(1)),
        "person": PERSON, "account": PERSON_ACCOUNT, "vm": person.2.to_ascii_lowercase(), "host": NEU.name, "hostId": NEU.id,
        "session": person.tunnel(), "blob": name,
        "verification": "intact", "custody": "Replaced",
        "reviewer": "function-key caller", "comment": "checked the replaced recording: ticket raised",
        // An account key cannot sign a user-delegation SAS: the view says why there is no link.
        "noReadLink": "No read link: download links need an Entra identity",
    });
    browser_check(&s.handler, "reviewer", &expect, "reviewer: ok", 240).await;
    // Every detail read the view made is in the access audit, with the link's issuance.
    let reads = s.audited("recording.read").await;
    assert!(!reads.is_empty(), "the view's reads are audited: {reads:?}");
    for r in reads {
        assert_eq!(r["Who"], "function-key caller", "{r:?}");
        let link = r["Link"].as_str().unwrap_or_default();
        assert!(link.starts_with("unavailable: "), "{r:?}");
    }
}
