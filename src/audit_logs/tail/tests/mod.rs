//! Component tests of the tail over the in-memory fakes: partial lines, corrupt and over-long lines,
//! racing ticks, legacy documents, retirement, detections.

use crate::testing::Domains;
use time::Duration;

mod cost;
mod durable;
mod lastline;
mod limits;
mod retire;

use super::*;
use crate::audit_logs::created::register;
use crate::audit_logs::join::get_session;
use crate::audit_logs::testkit::{ALICE, NOW, kit, line};

fn fixture() -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/auditlogs/PT1H.sample.jsonl",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

fn kinds(r: &TickReport) -> Vec<&str> {
    r.notifications.iter().map(|n| n.kind.as_str()).collect()
}

#[tokio::test]
async fn empty_blob_then_appends_with_a_partial_line() {
    let k = kit(None);
    k.create_log().await;
    let r = register(
        &k.state.tail(),
        k.state.ports.sources.default_audit_logs(),
        crate::audit_logs::testkit::PATH,
        NOW,
        NOW,
        true,
    )
    .await
    .expect("register")
    .expect("path");
    assert_eq!(
        (r.records, k.cursor().await.offset),
        (0, 0),
        "empty at creation"
    );
    let buf = fixture();
    k.append(&buf).await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!(r.records, 4);
    let c = k.cursor().await;
    assert_eq!(
        c.offset,
        crate::audit_logs::parse::complete_len(&buf) as u64,
        "the partial line waits"
    );
    assert!(c.lease_until.is_none(), "lease released");
    let alice = get_session(&k.state.ports.tables, ALICE)
        .await
        .expect("get")
        .expect("session");
    assert_eq!(alice.session_end.map(|t| t.hour()), Some(9));
    assert_eq!(
        tick(&k.state.tail(), NOW).await.expect("tick").records,
        0,
        "nothing new"
    );
    let rest = br#"EU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","properties":{"tunnelId":"d0d0d0d0-0000-4000-8000-000000000005","message":"Successfully Connected."}}"#;
    k.append(rest).await;
    k.append(b"\r\n").await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!((r.records, r.corrupt), (1, 0), "the completed line parses");
    assert_eq!(k.cursor().await.offset, (buf.len() + rest.len() + 2) as u64);
    assert!(
        get_session(
            &k.state.ports.tables,
            "d0d0d0d0-0000-4000-8000-000000000005"
        )
        .await
        .expect("get")
        .is_some()
    );
}

#[tokio::test]
async fn corrupt_lines_are_quarantined_once_and_skipped() {
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    let good = line(
        "a1",
        "2025-03-14T09:10:00Z",
        "Successfully Connected.",
        "VM1",
        "u",
        "",
    );
    k.append(format!("{{broken\n{good}[\"array\"]\n").as_bytes())
        .await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!((r.records, r.corrupt), (1, 2));
    let quarantined = k.blobs.names(&k.state.config.quarantine_container);
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    assert!(
        quarantined.iter().any(|n| n.ends_with("-offset-0.json")),
        "item = offset: {quarantined:?}"
    );
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!(
        (r.records, r.corrupt),
        (0, 0),
        "no loop over the same bad line"
    );
    assert_eq!(k.cursor().await.corrupt, 2);
}

#[tokio::test]
async fn over_long_lines_do_not_stall_the_blob() {
    let mut k = kit(None);
    let audit = std::sync::Arc::make_mut(&mut k.state.audit);
    audit.max_line_bytes = 600;
    audit.tail_chunk_bytes = 128;
    k.create_log().await;
    k.register().await;
    k.append(&vec![b'x'; 2000]).await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!(r.corrupt, 1, "quarantined once it exceeds the bound");
    assert!(k.cursor().await.skip_to_newline);
    k.append(&vec![b'y'; 500]).await;
    let good = line(
        "a2",
        "2025-03-14T09:10:00Z",
        "Successfully Connected.",
        "VM1",
        "u",
        "",
    );
    k.append(format!("tail-of-long-line\n{good}").as_bytes())
        .await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!(
        (r.records, r.corrupt),
        (1, 0),
        "skipped to the newline, then parsed the next line"
    );
    assert!(!k.cursor().await.skip_to_newline);
}

#[tokio::test]
async fn racing_ticks_process_each_record_once() {
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    let text: String = (0..50)
        .map(|i| {
            line(
                &format!("t{i}"),
                "2025-03-14T09:10:00Z",
                "Successfully Connected.",
                "VM1",
                "u",
                "",
            )
        })
        .collect();
    k.append(text.as_bytes()).await;
    let (one, two) = (k.state.tail(), k.state.tail());
    let (a, b) = tokio::join!(tick(&one, NOW), tick(&two, NOW));
    let (a, b) = (a.expect("a"), b.expect("b"));
    assert_eq!(
        a.records + b.records,
        50,
        "the claim lets exactly one instance read"
    );
    assert_eq!(k.cursor().await.records, 50);
}

#[tokio::test]
async fn legacy_documents_and_retirement() {
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    let legacy = std::fs::read(format!(
        "{}/tests/fixtures/auditlogs/PT1H.legacy-records.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture");
    k.append(&legacy).await;
    assert_eq!(tick(&k.state.tail(), NOW).await.expect("tick").records, 1);
    let c = k.cursor().await;
    assert!(c.legacy && c.done);
    assert!(
        get_session(
            &k.state.ports.tables,
            "712faceb-b556-449e-b7ab-101b326bfd4c"
        )
        .await
        .expect("get")
        .is_some()
    );
}

#[tokio::test]
async fn failed_login_bursts_give_one_digest() {
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    let text: String = (0..6)
        .map(|i| {
            line(
                &format!("f{i}"),
                "2025-03-14T09:31:00Z",
                "Login Failed",
                "VM9",
                "root",
                "",
            )
        })
        .collect();
    k.append(text.as_bytes()).await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert_eq!(
        kinds(&r)
            .iter()
            .filter(|k| **k == "login.failed.burst")
            .count(),
        2,
        "one per dimension (user, client IP)"
    );
    k.append(
        line(
            "f9",
            "2025-03-14T09:32:00Z",
            "Login Failed",
            "VM9",
            "root",
            "",
        )
        .as_bytes(),
    )
    .await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert!(!kinds(&r).contains(&"login.failed.burst"), "one per fact");
}

#[tokio::test]
async fn ended_sessions_without_recording_are_reported_after_the_grace() {
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    k.append(fixture().as_slice()).await;
    let r = tick(&k.state.tail(), NOW).await.expect("tick");
    assert!(!kinds(&r).contains(&"session.unrecorded"), "grace not over");
    let r = tick(&k.state.tail(), NOW + Duration::minutes(31))
        .await
        .expect("tick");
    assert_eq!(
        kinds(&r),
        ["session.unrecorded"],
        "only the ended, successful session"
    );
    assert_eq!(r.notifications[0].data["tunnelId"], ALICE);
    assert!(
        kinds(
            &tick(&k.state.tail(), NOW + Duration::minutes(40))
                .await
                .expect("tick")
        )
        .is_empty()
    );
}

#[tokio::test]
async fn registration_tags_the_hour_blob_with_the_audit_log_class() {
    use crate::retention::{TAG_CLASS, TAG_UNTIL};
    use crate::storage::BlobRef;
    let k = kit(None);
    k.create_log().await;
    k.register().await;
    let blob = BlobRef::new(
        k.state.ports.sources.default_audit_logs().container.clone(),
        crate::audit_logs::testkit::PATH,
    );
    let tags = k
        .state
        .ports
        .sources
        .default_audit_logs()
        .store
        .get_tags(&blob)
        .await
        .expect("tags");
    assert_eq!(tags.get(TAG_CLASS).map(String::as_str), Some("audit-1y"));
    let until = k.state.policy.until_for("audit-1y", NOW.date());
    assert_eq!(tags.get(TAG_UNTIL), Some(&until));
    // A vanished blob registers nothing.
    let gone = "resourceId=/SUBSCRIPTIONS/S/RESOURCEGROUPS/RG/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/B/y=2025/m=03/d=14/h=10/m=00/PT1H.json";
    assert!(
        register(
            &k.state.tail(),
            k.state.ports.sources.default_audit_logs(),
            gone,
            NOW,
            NOW,
            false
        )
        .await
        .expect("ok")
        .is_none()
    );
}
