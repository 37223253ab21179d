//! Holds over in-memory fakes: set, nest, release, bulk, and the sweep's view of them.

use crate::testkit::Domains;
use serde_json::json;

use super::{Actor, HOLDS_TABLE, Target, hold, release};
use crate::catalogue::policy::Retention;
use crate::ports::RequestError;
use crate::retention::sweep::run;
use crate::retention::{HELD_UNTIL, LEGAL_HOLD, TAG_CLASS, TAG_HELD_FROM, TAG_UNTIL};
use crate::testkit::retention::{Kit, kit};

mod bulk;

fn actor(k: &Kit, why: &str) -> Actor {
    Actor {
        who: "auditor@example.com".into(),
        why: why.into(),
        at: k.t0,
    }
}

async fn deleted(k: &Kit, days: i64) -> usize {
    let (r, e) = run(&k.state.sweeper(), &k.params(days, false, 100)).await;
    assert!(e.is_none(), "{e:?}");
    r.deleted
}

#[tokio::test]
async fn a_hold_protects_and_its_release_restores_the_original_date() {
    let k = kit();
    let (b, key) = k.ops_recording("case.rec", &[]).await;
    hold(
        &k.state.ports,
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
        &k.state.ports,
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
    hold(&k.state.ports, "a", &t, &actor(&k, "a"))
        .await
        .expect("a");
    hold(&k.state.ports, "a", &t, &actor(&k, "a again"))
        .await
        .expect("a twice");
    hold(&k.state.ports, "b", &t, &actor(&k, "b"))
        .await
        .expect("b");
    assert_eq!(
        k.tags(&b).await[TAG_HELD_FROM],
        format!("pci-1y/{}", k.day(365)),
        "original kept under nesting"
    );
    let r = release(&k.state.ports, "a", &t, &actor(&k, "done"))
        .await
        .expect("release a");
    assert_eq!((r.still_held_by, r.restored), (vec!["b".to_owned()], None));
    assert_eq!(k.tags(&b).await[TAG_UNTIL], HELD_UNTIL);
    let r = release(&k.state.ports, "b", &t, &actor(&k, "done"))
        .await
        .expect("release b");
    assert_eq!(r.restored.map(|r| r.until), Some(k.day(365)));
    assert_eq!(k.row(&key).await["RetentionClass"], "pci-1y");
    assert!(matches!(
        release(&k.state.ports, "zzz", &t, &actor(&k, "x")).await,
        Err(RequestError::NotFound(_))
    ));
}

#[tokio::test]
async fn holds_need_who_why_a_valid_id_and_a_known_recording() {
    let k = kit();
    let (_, key) = k.ops_recording("v.rec", &[]).await;
    let t = Target::Key(key);
    let nobody = Actor {
        who: " ".into(),
        why: "x".into(),
        at: k.t0,
    };
    let missing = Target::Url("https://acct.blob.core.windows.net/recordings/none.rec".into());
    let bad_url = Target::Url("not a url".into());
    let x = actor(&k, "x");
    for (id, target, who, invalid) in [
        ("h", &t, &nobody, true),
        ("bad,id", &t, &x, true),
        ("h", &bad_url, &x, true),
        ("h", &missing, &x, false),
    ] {
        match hold(&k.state.ports, id, target, who).await {
            Err(RequestError::Invalid(_)) if invalid => {}
            Err(RequestError::NotFound(_)) if !invalid => {}
            other => panic!("{id} {target:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_hold_by_blob_url_finds_the_catalogue_row() {
    let k = kit();
    let (b, key) = k.ops_recording("dir/u v.rec", &[]).await;
    let url = "https://acct.blob.core.windows.net/recordings/dir/u%20v.rec".to_owned();
    assert_eq!(
        hold(&k.state.ports, "u", &Target::Url(url), &actor(&k, "x"))
            .await
            .expect("hold"),
        key
    );
    assert_eq!(k.tags(&b).await[TAG_CLASS], LEGAL_HOLD);
}
