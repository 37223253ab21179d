//! Re-evaluation after a policy change, over in-memory fakes: baseline, lengthening (recordings
//! and audit logs), holds and overrides untouched, shortening refused then allowed (logged and
//! recorded), dry run, and a bounded run resumed by the next ones with cost following the work.

use crate::testkit::DefaultSources;
use crate::testkit::Domains;
use std::sync::Arc;

use serde_json::json;

use super::plan::{ClassDays, class_days, plan};
use super::progress::{self, PROGRESS_TABLE};
use crate::catalogue::policy::Policy;
use crate::retention::hold::HOLDS_TABLE;
use crate::retention::sweep::{Report, run};
use crate::retention::tags::hold_tags;
use crate::retention::{TAG_CLASS, TAG_UNTIL};
use crate::state::AppState;
use crate::storage::BlobStore;
use crate::testkit::retention::{Hook, Kit, kit_with};

fn policy(ops: u32, audit: u32) -> Policy {
    Policy::parse(&format!(
        "default = \"ops-30d\"\n[classes.ops-30d]\ndays = {ops}\n[classes.pci-1y]\ndays = 365\n\
         [classes.audit-1y]\ndays = {audit}\n[classes.legal-hold]\nhold = true"
    ))
    .expect("policy")
}

fn with_policy(k: &Kit, p: Policy) -> AppState {
    let mut s = k.state.clone();
    s.policy = Arc::new(p);
    s
}

async fn sweep(s: &AppState, k: &Kit, days: i64, dry: bool, max: usize) -> Report {
    let (r, e) = run(&s.sweeper(), &k.params(days, dry, max)).await;
    assert!(e.is_none(), "{e:?}");
    r
}

#[test]
fn the_plan_lengthens_and_shortens_only_when_allowed() {
    let days = |pairs: &[(&str, u32)]| -> ClassDays {
        pairs.iter().map(|(c, d)| ((*c).to_owned(), *d)).collect()
    };
    let old = days(&[("a", 30), ("b", 365), ("c", 10), ("gone", 5)]);
    let new = days(&[("a", 90), ("b", 100), ("c", 10), ("fresh", 1)]);
    let p = plan(&old, &new, false);
    assert_eq!(
        (p.lengthen, p.shorten, p.kept_longer),
        (vec!["a".to_owned()], vec![], vec!["b".to_owned()])
    );
    let p = plan(&old, &new, true);
    assert_eq!(
        (p.lengthen, p.shorten),
        (vec!["a".to_owned()], vec!["b".to_owned()])
    );
    assert_eq!(plan(&new, &new, true), Default::default());
    let d = class_days(&Policy::builtin());
    assert_eq!((d.get("ops-30d"), d.get("legal-hold")), (Some(&30), None));
}

#[tokio::test]
async fn a_longer_class_retags_not_yet_due_blobs_but_not_holds() {
    let k = kit_with(policy(30, 365), &[]);
    let (b, key) = k.ops_recording("a.rec", &[]).await;
    let (held, _) = k.ops_recording("held.rec", &[]).await;
    let ht = hold_tags(&k.tags(&held).await);
    k.blobs.set_tags(&held, &ht, None).await.expect("hold");
    let (pci, _) = k.recording("p.rec", "pci-1y", &k.day(365), &[]).await;
    let logs = k.state.ports.sources.default_audit_logs().container.clone();
    let audit = k
        .tagged(&logs, "h/PT1H.json", "audit-1y", &k.day(365))
        .await;
    let base = sweep(&k.state, &k, 1, false, 100).await;
    assert_eq!(
        base.reevaluated, 0,
        "the first run only records the baseline"
    );
    assert!(
        progress::read(k.tables.as_ref())
            .await
            .expect("read")
            .is_some()
    );

    let longer = with_policy(&k, policy(90, 400));
    let r = sweep(&longer, &k, 1, false, 100).await;
    assert_eq!(
        (r.reevaluated, r.retagged_longer, r.retagged_shorter),
        (2, 2, 0),
        "{r:?}"
    );
    assert_eq!(k.tags(&b).await[TAG_UNTIL], k.day(90));
    assert_eq!(k.row(&key).await["RetainUntil"], json!(k.day(90)));
    assert_eq!(k.tags(&audit).await[TAG_UNTIL], k.day(400));
    assert_eq!(k.tags(&held).await, ht, "a hold is never re-tagged");
    assert_eq!(
        k.tags(&pci).await[TAG_UNTIL],
        k.day(365),
        "unchanged class not visited"
    );
    let again = sweep(&longer, &k, 2, false, 100).await;
    assert_eq!(again.reevaluated, 0, "done once");
    assert_eq!(
        sweep(&longer, &k, 40, false, 100).await.deleted,
        0,
        "past the old date, before the lengthened one: nothing is due"
    );
}

#[tokio::test]
async fn a_shorter_class_is_kept_unless_shortening_is_allowed_and_then_recorded() {
    for allow in [false, true] {
        let env = [(
            "RETENTION_ALLOW_SHORTENING",
            if allow { "true" } else { "false" },
        )];
        let k = kit_with(policy(90, 365), &env);
        let (b, key) = k.recording("s.rec", "ops-30d", &k.day(90), &[]).await;
        sweep(&k.state, &k, 1, false, 100).await;
        let shorter = with_policy(&k, policy(30, 365));
        let r = sweep(&shorter, &k, 1, false, 100).await;
        let overrides = k.tables.dump(HOLDS_TABLE);
        if allow {
            assert_eq!(r.retagged_shorter, 1, "{r:?}");
            assert_eq!(k.tags(&b).await[TAG_UNTIL], k.day(30));
            let row = k.row(&key).await;
            assert_eq!(
                (row["RetainUntil"].clone(), row["ShortenedFrom"].clone()),
                (json!(k.day(30)), json!(k.day(90)))
            );
            assert!(
                overrides
                    .iter()
                    .any(|s| s.entity["RowKey"] == "policy~ops-30d~90~30"
                        && s.entity["Who"] == "RETENTION_ALLOW_SHORTENING")
            );
            assert_eq!(sweep(&shorter, &k, 40, false, 100).await.deleted, 1);
        } else {
            assert_eq!((r.reevaluated, r.retagged_shorter), (0, 0), "{r:?}");
            assert_eq!(
                k.tags(&b).await[TAG_UNTIL],
                k.day(90),
                "never shortened automatically"
            );
            assert!(overrides.is_empty());
            assert_eq!(sweep(&shorter, &k, 40, false, 100).await.deleted, 0);
        }
    }
}

#[tokio::test]
async fn a_bounded_run_resumes_and_a_dry_run_writes_nothing() {
    let k = kit_with(policy(30, 365), &[]);
    let mut blobs = Vec::new();
    for i in 0..40 {
        blobs.push(k.ops_recording(&format!("b{i:02}.rec"), &[]).await.0);
    }
    sweep(&k.state, &k, 1, false, 100).await;
    let longer = with_policy(&k, policy(60, 365));
    let dry = sweep(&longer, &k, 1, true, 100).await;
    assert_eq!(dry.retagged_longer, 40);
    assert_eq!(
        k.tags(&blobs[0]).await[TAG_UNTIL],
        k.day(30),
        "dry run writes nothing"
    );
    let (mut total, mut runs) = (0, 0);
    loop {
        let r = sweep(&longer, &k, 1, false, 7).await;
        assert!(r.reevaluated <= 7, "{r:?}");
        total += r.retagged_longer;
        runs += 1;
        if !r.reevaluation_cut && r.reevaluated < 7 {
            break;
        }
        assert!(runs < 20, "must finish");
    }
    assert_eq!((total, runs), (40, 6), "each blob once, 7 per run");
    for b in &blobs {
        assert_eq!(k.tags(b).await[TAG_UNTIL], k.day(60));
        assert_eq!(k.tags(b).await[TAG_CLASS], "ops-30d");
    }
    let st = progress::read(k.tables.as_ref())
        .await
        .expect("read")
        .expect("row");
    assert!(st.queue.is_empty() && st.applied == class_days(&longer.policy));
    let before = k.blobs.inner().calls();
    let idle = sweep(&longer, &k, 2, false, 7).await;
    assert_eq!(idle.reevaluated, 0);
    assert_eq!(
        k.blobs.inner().calls() - before,
        2,
        "idle: only the two expiry queries"
    );
    assert_eq!(k.tables.dump(PROGRESS_TABLE).len(), 1);
}

#[tokio::test]
async fn a_transient_failure_fails_the_run_and_the_blob_is_retried_next_run() {
    let k = kit_with(policy(30, 365), &[]);
    let (a, _) = k.ops_recording("a.rec", &[]).await;
    let (b, _) = k.ops_recording("b.rec", &[]).await;
    sweep(&k.state, &k, 1, false, 100).await;
    k.blobs.arm(Hook::FailProperties(b.name.clone()));
    let longer = with_policy(&k, policy(60, 365));
    let (r, e) = run(&longer.sweeper(), &k.params(1, false, 100)).await;
    assert!(e.is_some() && r.failed == 1, "{r:?}");
    assert_eq!(k.tags(&b).await[TAG_UNTIL], k.day(30));
    k.blobs.disarm_all();
    let next = sweep(&longer, &k, 1, false, 100).await;
    assert!(next.retagged_longer >= 1, "{next:?}");
    for x in [&a, &b] {
        assert_eq!(k.tags(x).await[TAG_UNTIL], k.day(60));
    }
}
