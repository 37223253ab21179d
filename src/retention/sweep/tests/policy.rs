//! The sweep and the policy: lengthening by a longer class or rule, never shortening, audit-log
//! blobs in their own class, and uncatalogued recordings never deleted blind.

use super::*;
use crate::testkit::DefaultSources;

#[tokio::test]
async fn a_longer_policy_lengthens_tags_and_row_instead_of_deleting() {
    let policy = Policy::parse(
        "default = \"ops-30d\"\n[classes.ops-30d]\ndays = 500\n[classes.legal-hold]\nhold = true",
    )
    .expect("policy");
    let k = kit_with(policy, &[]);
    let (b, key) = k.ops_recording("long.rec", &[]).await;
    let r = sweep(&k, 400, false, 10).await;
    assert_eq!((r.lengthened, r.deleted), (1, 0));
    assert_eq!(k.tags(&b).await[TAG_UNTIL], k.day(500));
    assert_eq!(k.row(&key).await["RetainUntil"], json!(k.day(500)));
    assert_eq!(
        sweep(&k, 400, false, 10).await.candidates,
        0,
        "out of range now"
    );
    assert_eq!(sweep(&k, 501, false, 10).await.deleted, 1);
}

#[tokio::test]
async fn a_longer_row_or_rule_beats_stale_tags_but_a_shorter_policy_never_shortens() {
    let policy = Policy::parse("default = \"ops-30d\"\n[classes.ops-30d]\ndays = 1\n[classes.pci-1y]\ndays = 365\n[[rules]]\nclass = \"pci-1y\"\nvm = \"vm-pay-*\"").expect("policy");
    let k = kit_with(policy, &[]);
    let (joined, _) = k
        .ops_recording(
            "joined.rec",
            &[
                ("MatchConfidence", json!("exact")),
                ("MatchCandidates", json!("t-1")),
                ("TunnelId", json!("t-1")),
                ("TargetVm", json!("vm-pay-01")),
            ],
        )
        .await;
    let (plain, _) = k.ops_recording("plain.rec", &[]).await;
    let r = sweep(&k, 20, false, 10).await;
    assert_eq!(
        r.candidates, 0,
        "days = 1 now, but the tags' 30 days still hold"
    );
    assert!(k.exists(&plain).await);
    let r = sweep(&k, 40, false, 10).await;
    assert_eq!((r.lengthened, r.deleted), (1, 1));
    assert_eq!(k.tags(&joined).await[TAG_CLASS], "pci-1y");
}

#[tokio::test]
async fn uncatalogued_recordings_are_never_deleted_blind() {
    let k = kit();
    let b = k
        .tagged("recordings", "orphan.rec", "ops-30d", &k.day(30))
        .await;
    let r = sweep(&k, 400, false, 10).await;
    assert_eq!((r.uncatalogued, r.deleted), (1, 0));
    assert!(k.exists(&b).await);
}

#[tokio::test]
async fn audit_logs_are_swept_in_their_own_class() {
    let k = kit();
    let c = k.state.ports.sources.default_audit_logs().container.clone();
    let log = k
        .tagged(
            &c,
            "resourceId=/X/y=2025/PT1H.json",
            "audit-1y",
            &k.day(365),
        )
        .await;
    let keep = k
        .tagged(
            &c,
            "resourceId=/X/y=2026/PT1H.json",
            "audit-1y",
            &k.day(800),
        )
        .await;
    let r = sweep(&k, 400, false, 10).await;
    assert_eq!(r.deleted, 1);
    assert!(!k.exists(&log).await && k.exists(&keep).await);
    let t = &tombstones(&k)[0].entity;
    assert_eq!(
        (t["RetentionClass"].clone(), t["CatalogueKey"].clone()),
        (json!("audit-1y"), json!(""))
    );
    assert!(
        t["BlobUrl"]
            .as_str()
            .is_some_and(|u| u.ends_with("/PT1H.json"))
    );
}
