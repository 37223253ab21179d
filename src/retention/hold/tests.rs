//! Holds over in-memory fakes: set, nest, release, bulk, overrides, and the sweep's view of them.

use serde_json::json;

use super::bulk::{Selector, hold_bulk, override_retention, release_hold};
use super::rows::split_url;
use super::{Actor, HOLDS_TABLE, HoldError, Target, hold, release};
use crate::retention::policy::Retention;
use crate::retention::sweep::run;
use crate::retention::testkit::{Kit, kit};
use crate::retention::{HELD_UNTIL, LEGAL_HOLD, TAG_CLASS, TAG_HELD_FROM, TAG_UNTIL};

fn actor(k: &Kit, why: &str) -> Actor {
    Actor {
        who: "auditor@example.com".into(),
        why: why.into(),
        at: k.t0,
    }
}

async fn deleted(k: &Kit, days: i64) -> usize {
    let (r, e) = run(&k.state, &k.params(days, false, 100)).await;
    assert!(e.is_none(), "{e:?}");
    r.deleted
}

#[tokio::test]
async fn a_hold_protects_and_its_release_restores_the_original_date() {
    let k = kit();
    let (b, key) = k.recording("case.rec", "ops-30d", &k.day(30), &[]).await;
    hold(
        &k.state,
        "case-42",
        &Target::Key(key.clone()),
        &actor(&k, "litigation 42"),
    )
    .await
    .expect("hold");
    let tags = k.tags(&b).await;
    assert_eq!(
        (tags[TAG_CLASS].as_str(), tags[TAG_UNTIL].as_str()),
        (LEGAL_HOLD, HELD_UNTIL)
    );
    assert_eq!(tags[TAG_HELD_FROM], format!("ops-30d/{}", k.day(30)));
    assert!(
        tags.values().all(|v| !v.contains("litigation")),
        "reasons never go into tags"
    );
    let row = k.row(&key).await;
    assert_eq!(
        (
            row["LegalHold"].clone(),
            row["HoldIds"].clone(),
            row["RetainUntil"].clone()
        ),
        (json!(true), json!("case-42"), json!(HELD_UNTIL))
    );
    let holds = k.tables.dump(HOLDS_TABLE);
    assert!(holds.iter().any(|s| s.entity["RowKey"] == "case-42"
        && s.entity["SetBy"] == "auditor@example.com"
        && s.entity["Reason"] == "litigation 42"));
    assert!(
        holds.iter().any(|s| s.entity["RowKey"] == json!(key.id())
            && s.entity["OriginalUntil"] == json!(k.day(30)))
    );
    assert_eq!(deleted(&k, 400).await, 0);
    let r = release(
        &k.state,
        "case-42",
        &Target::Key(key.clone()),
        &actor(&k, "case closed"),
    )
    .await
    .expect("release");
    assert_eq!(
        r.restored,
        Some(Retention {
            class: "ops-30d".into(),
            until: k.day(30)
        })
    );
    assert!(!k.tags(&b).await.contains_key(TAG_HELD_FROM));
    assert_eq!(k.row(&key).await["LegalHold"], false);
    assert_eq!(deleted(&k, 400).await, 1, "due again at the original date");
}

#[tokio::test]
async fn nested_holds_release_only_with_the_last_one_and_are_idempotent() {
    let k = kit();
    let (b, key) = k.recording("n.rec", "pci-1y", &k.day(365), &[]).await;
    let t = Target::Key(key.clone());
    hold(&k.state, "a", &t, &actor(&k, "a")).await.expect("a");
    hold(&k.state, "a", &t, &actor(&k, "a again"))
        .await
        .expect("a twice");
    hold(&k.state, "b", &t, &actor(&k, "b")).await.expect("b");
    assert_eq!(
        k.tags(&b).await[TAG_HELD_FROM],
        format!("pci-1y/{}", k.day(365)),
        "original kept under nesting"
    );
    let r = release(&k.state, "a", &t, &actor(&k, "done"))
        .await
        .expect("release a");
    assert_eq!((r.still_held_by, r.restored), (vec!["b".to_owned()], None));
    assert_eq!(k.tags(&b).await[TAG_UNTIL], HELD_UNTIL);
    let r = release(&k.state, "b", &t, &actor(&k, "done"))
        .await
        .expect("release b");
    assert_eq!(r.restored.map(|r| r.until), Some(k.day(365)));
    assert_eq!(k.row(&key).await["RetentionClass"], "pci-1y");
    assert!(matches!(
        release(&k.state, "zzz", &t, &actor(&k, "x")).await,
        Err(HoldError::NotFound(_))
    ));
}

#[tokio::test]
async fn holds_need_who_why_a_valid_id_and_a_known_recording() {
    let k = kit();
    let (_, key) = k.recording("v.rec", "ops-30d", &k.day(30), &[]).await;
    let t = Target::Key(key);
    let nobody = Actor {
        who: " ".into(),
        why: "x".into(),
        at: k.t0,
    };
    assert!(matches!(
        hold(&k.state, "h", &t, &nobody).await,
        Err(HoldError::Invalid(_))
    ));
    assert!(matches!(
        hold(&k.state, "bad,id", &t, &actor(&k, "x")).await,
        Err(HoldError::Invalid(_))
    ));
    assert!(matches!(
        hold(
            &k.state,
            "h",
            &Target::Url("not a url".into()),
            &actor(&k, "x")
        )
        .await,
        Err(HoldError::Invalid(_))
    ));
    let missing = Target::Url("https://acct.blob.core.windows.net/recordings/none.rec".into());
    assert!(matches!(
        hold(&k.state, "h", &missing, &actor(&k, "x")).await,
        Err(HoldError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_hold_by_blob_url_finds_the_catalogue_row() {
    let k = kit();
    let (b, key) = k.recording("dir/u v.rec", "ops-30d", &k.day(30), &[]).await;
    let url = "https://acct.blob.core.windows.net/recordings/dir/u%20v.rec".to_owned();
    assert_eq!(
        hold(&k.state, "u", &Target::Url(url), &actor(&k, "x"))
            .await
            .expect("hold"),
        key
    );
    assert_eq!(k.tags(&b).await[TAG_CLASS], LEGAL_HOLD);
}

#[tokio::test]
async fn bulk_hold_by_vm_and_days_then_bulk_release() {
    let k = kit();
    let (a, _) = k
        .recording(
            "a.rec",
            "ops-30d",
            &k.day(30),
            &[("TargetVm", json!("vm-a"))],
        )
        .await;
    let (b, _) = k
        .recording(
            "b.rec",
            "ops-30d",
            &k.day(30),
            &[("TargetVm", json!("vm-a")), ("UserName", json!("alice"))],
        )
        .await;
    let (c, _) = k
        .recording(
            "c.rec",
            "ops-30d",
            &k.day(30),
            &[("TargetVm", json!("vm-b"))],
        )
        .await;
    let sel = Selector {
        from_day: k.day(-1),
        to_day: k.day(1),
        vm: Some("vm-a".into()),
        ..Selector::default()
    };
    assert_eq!(
        hold_bulk(&k.state, "inc-7", &sel, &actor(&k, "incident 7"))
            .await
            .expect("bulk"),
        2
    );
    let by_user = Selector {
        from_day: k.day(0),
        to_day: k.day(0),
        user: Some("alice".into()),
        ..Selector::default()
    };
    assert_eq!(
        hold_bulk(&k.state, "inc-8", &by_user, &actor(&k, "x"))
            .await
            .expect("bulk"),
        1
    );
    let other_days = Selector {
        from_day: k.day(5),
        to_day: k.day(9),
        ..Selector::default()
    };
    assert_eq!(
        hold_bulk(&k.state, "inc-9", &other_days, &actor(&k, "x"))
            .await
            .expect("bulk"),
        0
    );
    let backwards = Selector {
        from_day: k.day(1),
        to_day: k.day(0),
        ..Selector::default()
    };
    assert!(matches!(
        hold_bulk(&k.state, "x", &backwards, &actor(&k, "x")).await,
        Err(HoldError::Invalid(_))
    ));
    assert_eq!(deleted(&k, 400).await, 1, "only the vm-b recording goes");
    assert!(k.exists(&a).await && k.exists(&b).await && !k.exists(&c).await);
    assert_eq!(
        release_hold(&k.state, "inc-7", &actor(&k, "closed"))
            .await
            .expect("release"),
        2
    );
    assert_eq!(deleted(&k, 400).await, 1, "b is still held by inc-8");
    let header = k
        .tables
        .dump(HOLDS_TABLE)
        .into_iter()
        .find(|s| s.entity["RowKey"] == "inc-7")
        .expect("header");
    assert_eq!(
        (
            header.entity["Status"].clone(),
            header.entity["ReleasedBy"].clone()
        ),
        (json!("released"), json!("auditor@example.com"))
    );
}

#[tokio::test]
async fn shortening_needs_an_explicit_logged_override_and_no_hold() {
    let k = kit();
    let (b, key) = k.recording("o.rec", "pci-1y", &k.day(365), &[]).await;
    let t = Target::Key(key.clone());
    let short = Retention {
        class: "ops-30d".into(),
        until: k.day(10),
    };
    assert_eq!(deleted(&k, 20).await, 0);
    hold(&k.state, "h", &t, &actor(&k, "x"))
        .await
        .expect("hold");
    assert!(matches!(
        override_retention(&k.state, &t, &short, &actor(&k, "gdpr")).await,
        Err(HoldError::Invalid(_))
    ));
    release(&k.state, "h", &t, &actor(&k, "x"))
        .await
        .expect("release");
    override_retention(&k.state, &t, &short, &actor(&k, "gdpr erasure request 9"))
        .await
        .expect("override");
    let log = k
        .tables
        .dump(HOLDS_TABLE)
        .into_iter()
        .find(|s| s.entity["PartitionKey"] == "override")
        .expect("logged");
    assert_eq!(
        (
            log.entity["FromUntil"].clone(),
            log.entity["ToUntil"].clone()
        ),
        (json!(k.day(365)), json!(k.day(10)))
    );
    assert_eq!(log.entity["Reason"], "gdpr erasure request 9");
    assert_eq!(k.tags(&b).await[TAG_UNTIL], k.day(10));
    assert_eq!(deleted(&k, 20).await, 1);
}

#[test]
fn blob_urls_split_for_azure_and_azurite() {
    assert_eq!(
        split_url("https://a.blob.core.windows.net/rec/x/y%3Dz.rec"),
        Some(("rec".into(), "x/y=z.rec".into()))
    );
    assert_eq!(
        split_url("http://127.0.0.1:10000/devstoreaccount1/rec/x"),
        Some(("rec".into(), "x".into()))
    );
    assert_eq!(split_url("https://a.blob.core.windows.net/rec"), None);
    assert_eq!(split_url("nope"), None);
}
