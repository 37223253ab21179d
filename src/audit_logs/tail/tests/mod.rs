//! Component tests of the tail over the in-memory fakes: partial connects, failed_logins, corrupt and over-long connects,
//! racing ticks, retirement, detections, growth found by listing.

use crate::testkit::DefaultSources;
use crate::testkit::Domains;
use time::Duration;

mod cost;
mod durable;
mod growth;
mod lastline;
mod limits;
mod listing;
mod planned;
mod retire;
mod unchanged;

use super::*;
use crate::audit_logs::created::register;
use crate::audit_logs::sessions::SessionRecord;
use crate::catalogue::session::get as get_session;
use crate::testkit::audit::{ALICE, Kit, NOW, kit, line};
use crate::testkit::tail::{connected, connects, failed_logins, run, started, started_with};

/// The stored session of `tunnel`.
async fn session(k: &Kit, tunnel: &str) -> Option<SessionRecord> {
    get_session(&*k.state.ports.tables, tunnel)
        .await
        .expect("get")
}

use crate::testkit::files::sample_auditlog as fixture;

fn bursts(r: &TickReport) -> usize {
    kinds(r)
        .iter()
        .filter(|k| **k == "login.failed.burst")
        .count()
}

fn kinds(r: &TickReport) -> Vec<&str> {
    r.findings.iter().map(|n| n.kind.name).collect()
}

#[tokio::test]
async fn empty_blob_then_appends_with_a_partial_line() {
    let k = kit(None);
    k.create_log().await;
    let r = register(
        &k.state.tailer(),
        k.state.ports.sources.default_audit_logs(),
        crate::testkit::audit::PATH,
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
    assert_eq!(run(&k, NOW).await.records, 4);
    let c = k.cursor().await;
    assert_eq!(
        c.offset,
        crate::audit_logs::parse::complete_len(&buf) as u64,
        "the partial line waits"
    );
    assert!(c.lease_until.is_none(), "lease released");
    let alice = session(&k, ALICE).await.expect("session");
    assert_eq!(alice.session_end.map(|t| t.hour()), Some(9));
    assert_eq!(run(&k, NOW).await.records, 0, "nothing new");
    let rest = br#"EU/PROVIDERS/MICROSOFT.NETWORK/BASTIONHOSTS/BAS-HUB-WEU","properties":{"tunnelId":"d0d0d0d0-0000-4000-8000-000000000005","message":"Successfully Connected."}}"#;
    k.append(rest).await;
    k.append(b"\r\n").await;
    let r = run(&k, NOW).await;
    assert_eq!((r.records, r.corrupt), (1, 0), "the completed line parses");
    assert_eq!(k.cursor().await.offset, (buf.len() + rest.len() + 2) as u64);
    let completed = session(&k, "d0d0d0d0-0000-4000-8000-000000000005").await;
    assert!(completed.is_some());
}

#[tokio::test]
async fn corrupt_lines_are_quarantined_once_and_skipped() {
    let k = started().await;
    let good = connected("a1", "2025-03-14T09:10:00Z");
    k.append(format!("{{broken\n{good}[\"array\"]\n").as_bytes())
        .await;
    let r = run(&k, NOW).await;
    assert_eq!((r.records, r.corrupt), (1, 2));
    let quarantined = k.blobs.names(&k.state.config.quarantine_container);
    assert_eq!(quarantined.len(), 2, "{quarantined:?}");
    assert!(
        quarantined.iter().any(|n| n.ends_with("-offset-0.json")),
        "item = offset: {quarantined:?}"
    );
    let r = run(&k, NOW).await;
    assert_eq!(
        (r.records, r.corrupt),
        (0, 0),
        "no loop over the same bad line"
    );
    assert_eq!(k.cursor().await.corrupt, 2);
}

#[tokio::test]
async fn over_long_lines_do_not_stall_the_blob() {
    let k = started_with(|audit| {
        audit.max_line_bytes = 600;
        audit.tail_chunk_bytes = 128;
    })
    .await;
    k.append(&vec![b'x'; 2000]).await;
    let r = run(&k, NOW).await;
    assert_eq!(r.corrupt, 1, "quarantined once it exceeds the bound");
    assert!(k.cursor().await.skip_to_newline);
    k.append(&vec![b'y'; 500]).await;
    let good = connected("a2", "2025-03-14T09:10:00Z");
    k.append(format!("tail-of-long-line\n{good}").as_bytes())
        .await;
    let r = run(&k, NOW).await;
    assert_eq!(
        (r.records, r.corrupt),
        (1, 0),
        "skipped to the newline, then parsed the next line"
    );
    assert!(!k.cursor().await.skip_to_newline);
}

#[tokio::test]
async fn racing_ticks_process_each_record_once() {
    let k = started().await;
    let text = connects("t", 50);
    k.append(text.as_bytes()).await;
    let (a, b) = tokio::join!(run(&k, NOW), run(&k, NOW));
    assert_eq!(
        a.records + b.records,
        50,
        "the claim lets exactly one instance read"
    );
    assert_eq!(k.cursor().await.records, 50);
}

#[tokio::test]
async fn failed_login_bursts_give_one_digest() {
    let k = started().await;
    let text = failed_logins(6);
    k.append(text.as_bytes()).await;
    let r = run(&k, NOW).await;
    assert_eq!(bursts(&r), 2, "one per dimension (user, client IP)");
    let at = "2025-03-14T09:32:00Z";
    let one_more = line("f9", at, "Login Failed", "VM9", "root", "");
    k.append(one_more.as_bytes()).await;
    assert_eq!(bursts(&run(&k, NOW).await), 0, "one per fact");
}

#[tokio::test]
async fn ended_sessions_without_recording_are_reported_after_the_grace() {
    let k = started().await;
    k.append(fixture().as_slice()).await;
    let r = run(&k, NOW).await;
    assert!(!kinds(&r).contains(&"session.unrecorded"), "grace not over");
    let r = run(&k, NOW + Duration::minutes(31)).await;
    assert_eq!(
        kinds(&r),
        ["session.unrecorded"],
        "only the ended, successful session"
    );
    assert_eq!(r.findings[0].evidence["tunnelId"], ALICE);
    assert!(kinds(&run(&k, NOW + Duration::minutes(40)).await).is_empty());
}

#[tokio::test]
async fn registration_tags_the_hour_blob_with_the_audit_log_class() {
    use crate::retention::{TAG_CLASS, TAG_UNTIL};
    use crate::storage::BlobRef;
    let k = started().await;
    let blob = BlobRef::new(
        k.state.ports.sources.default_audit_logs().container.clone(),
        crate::testkit::audit::PATH,
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
            &k.state.tailer(),
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
