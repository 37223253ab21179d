//! Many Bastion hosts, one catalogue, end to end on Azurite with two storage accounts: events of
//! both are catalogued into one table (the same blob name in both is two rows), a third account is
//! skipped, each recording joins its own host's session although both hosts ran a session on a VM
//! of the same name at the same time, the sweep deletes in both, and with one account stopped the
//! other's recordings are still catalogued and swept while health names the stopped host.

mod reconcile;
mod rig;

use bastion_recordings::storage::BlobStore as _;
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use self::rig::{HOSTS, STRANGER, Sources, accounts, prop};
use crate::harness::first_log;

const VM: &str = "vm-app-01";
const NAME: &str = "2025/session.mp4";

/// Both hosts' sessions on `vm-app-01`, overlapping; each account's recording of the same name.
async fn seeded(s: &Sources, handler: &crate::harness::HandlerProcess) {
    let now = OffsetDateTime::now_utc();
    let (start, end) = (now - Duration::minutes(20), now - Duration::minutes(2));
    let tunnels = [
        "11111111-aaaa-4aaa-8aaa-000000000001",
        "22222222-bbbb-4bbb-8bbb-000000000002",
    ];
    for ((_, account, host), tunnel) in HOSTS.iter().zip(tunnels) {
        let hour = s
            .audit_hour(account, host, (tunnel, "alice", VM, start, end))
            .await;
        let inv = s.created("AuditLogCreated", account, &s.logs, &hour);
        let (status, body) = handler.invoke("AuditLogCreated", &inv).await;
        assert_eq!(status, 200, "{body}");
        assert!(first_log(&body).starts_with("tailed 1 blobs"), "{body}");
    }
    for (_, account, _) in HOSTS {
        s.upload(account, NAME, VM).await;
        let inv = s.created("RecordingCreated", account, &s.rec, NAME);
        let (status, body) = handler.invoke("RecordingCreated", &inv).await;
        assert_eq!(status, 200, "{body}");
        assert!(first_log(&body).contains("catalogued recording"), "{body}");
    }
}

#[tokio::test]
async fn two_hosts_in_two_accounts_share_one_catalogue_join_and_sweep() {
    let Some(accounts) = accounts() else { return };
    let s = Sources::new(accounts);
    let handler = Sources::spawn(&s.vars).await;
    seeded(&s, &handler).await;

    // One catalogue, two rows for one name: each tied to its account and host, each matched to its
    // own host's session alone (the same VM, the same time: without the tie it would be
    // ambiguous). Matched by time alone, each vouches once the logs show the host wrote it (no
    // custody workspace here: `writer-unconfirmed`).
    let rows = s.rows().await;
    assert_eq!(rows.len(), 2, "{rows:?}");
    let mut seen: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            assert_eq!(prop(r, "BlobName"), NAME);
            (
                prop(r, "Account").to_owned(),
                prop(r, "SourceBastion").to_owned(),
                prop(r, "MatchCandidates").to_owned(),
                prop(r, "MatchReason").to_owned(),
            )
        })
        .collect();
    seen.sort();
    let unconfirmed = "writer-unconfirmed".to_owned();
    assert_eq!(
        seen,
        [
            (
                "devstoreaccount1".into(),
                "bas-hub-weu".into(),
                "11111111-aaaa-4aaa-8aaa-000000000001".into(),
                unconfirmed.clone()
            ),
            (
                "stweu".into(),
                "bas-hub-neu".into(),
                "22222222-bbbb-4bbb-8bbb-000000000002".into(),
                unconfirmed
            ),
        ],
        "{rows:?}"
    );
    assert_ne!(prop(&rows[0], "RecordingId"), prop(&rows[1], "RecordingId"));

    // An account no source names: skipped, nothing written.
    s.upload(STRANGER, NAME, VM).await;
    let inv = s.created("RecordingCreated", STRANGER, &s.rec, NAME);
    let (status, body) = handler.invoke("RecordingCreated", &inv).await;
    assert_eq!(status, 200, "{body}");
    assert!(first_log(&body).starts_with("skipped"), "{body}");
    assert_eq!(s.rows().await.len(), 2);

    // One catalogue filtered by host, and one health report naming both sources.
    let day = |d: i64| {
        (OffsetDateTime::now_utc() + Duration::days(d))
            .date()
            .to_string()
    };
    let query = format!(
        "/api/recordings?from={}&to={}&bastion=BAS-HUB-NEU",
        day(-1),
        day(1)
    );
    let (_, list) = handler.get_json(&query).await;
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{list}");
    assert_eq!(items[0]["account"], "stweu");
    let (_, health) = handler.get_json("/api/health").await;
    let reachable: Vec<bool> = health["sources"]
        .as_array()
        .map(|a| a.iter().map(|s| s["reachable"] == true).collect())
        .unwrap_or_default();
    assert_eq!(reachable, [true, true, true, true], "{health}");

    // A year later both recordings (and both hours of audit log) are due: one sweep, both accounts.
    let later = OffsetDateTime::now_utc() + Duration::days(800);
    let (status, body) = handler
        .invoke("RetentionSweep", &Sources::timer("RetentionSweep", later))
        .await;
    assert_eq!(status, 200, "{body}");
    for (_, account, _) in HOSTS {
        let left = s
            .blobs(account)
            .list(&s.rec, None, None)
            .await
            .expect("list");
        assert!(left.items.is_empty(), "{account}: {:?} {body}", left.items);
    }
    let statuses: Vec<String> = s
        .rows()
        .await
        .iter()
        .map(|r| prop(r, "Status").to_owned())
        .collect();
    assert_eq!(statuses, ["deleted", "deleted"]);
}

#[tokio::test]
async fn a_stopped_account_fails_only_its_part_and_health_names_it() {
    let Some(accounts) = accounts() else { return };
    let s = Sources::new(accounts);
    let (weu, neu) = (HOSTS[0], HOSTS[1]);
    let handler = Sources::spawn(&s.stopping(neu.0)).await;

    // The running account's recording is catalogued; the stopped one's event is retried (500).
    s.upload(weu.1, NAME, VM).await;
    let (status, body) = handler
        .invoke(
            "RecordingCreated",
            &s.created("RecordingCreated", weu.1, &s.rec, NAME),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = handler
        .invoke(
            "RecordingCreated",
            &s.created("RecordingCreated", neu.1, &s.rec, NAME),
        )
        .await;
    assert_eq!(
        status, 500,
        "the stopped account's event comes back: {body}"
    );
    assert_eq!(s.rows().await.len(), 1);

    // The sweep deletes what is due in the running account and fails naming the stopped one.
    let later = OffsetDateTime::now_utc() + Duration::days(800);
    let (status, body) = handler
        .invoke("RetentionSweep", &Sources::timer("RetentionSweep", later))
        .await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body.to_string().contains("stweu/"),
        "names the failed source: {body}"
    );
    let left = s.blobs(weu.1).list(&s.rec, None, None).await.expect("list");
    assert!(
        left.items.is_empty(),
        "the running account was swept: {:?}",
        left.items
    );

    // Health: degraded, naming the stopped host; the other source is reachable.
    let (_, health) = handler.get_json("/api/health").await;
    let reasons = health["reasons"].to_string();
    assert!(
        reasons.contains("source bas-hub-neu is unreachable"),
        "{health}"
    );
    assert!(!reasons.contains("bas-hub-weu"), "{health}");
    let states: Vec<(String, bool)> = health["sources"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    (
                        s["account"].as_str().unwrap_or_default().to_owned(),
                        s["reachable"] == true,
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert!(
        states.contains(&("devstoreaccount1".to_owned(), true)),
        "{health}"
    );
    assert!(states.contains(&("stweu".to_owned(), false)), "{health}");

    // `handler backfill` over both: the running account's new recording is catalogued, the
    // stopped account's walk fails, named, and the run exits 1 for the next run to resume it.
    s.upload(weu.1, "2025/late.mp4", VM).await;
    let day = |d: i64| {
        (OffsetDateTime::now_utc() + Duration::days(d))
            .date()
            .to_string()
    };
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args([
            "backfill",
            "--from",
            &day(-1),
            "--to",
            &day(1),
            "--recordings-only",
        ])
        .env_clear()
        .envs(s.stopping(neu.0))
        .output()
        .expect("run handler");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    let summary: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|l| l.get("summary").cloned())
        .expect("summary");
    assert_eq!(summary["catalogued"], 1, "{summary}");
    assert!(
        summary["failed"].to_string().contains("recordings.stweu."),
        "{summary}"
    );
    assert_eq!(s.rows().await.len(), 2);
}
