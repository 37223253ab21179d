//! Detections under lost answers: a marker whose insert was stored but not acknowledged still gets
//! its digest, once settled it is not emitted again.

use std::sync::Arc;

use time::Duration;
use time::macros::datetime;

use super::failed::{FailedLogin, check, record};
use crate::audit_logs::repo::FAILED_TABLE;
use crate::tables::memory::InMemoryTables;
use crate::tables::{TableError, TableStore};
use crate::testing::LostAnswer;

async fn burst(tables: &Arc<dyn TableStore>, n: usize) -> String {
    let mut parts = Vec::new();
    for i in 0..n {
        let f = FailedLogin {
            tunnel_id: format!("t{i}"),
            window: datetime!(2025-03-14 09:30 UTC),
            user: "root".into(),
            client_ip: String::new(),
            vm: "vm9".into(),
        };
        parts = record(tables, &f).await.expect("record");
    }
    parts.into_iter().next().expect("a partition")
}

#[tokio::test]
async fn a_lost_marker_answer_still_emits_the_digest_once_settled() {
    let window = Duration::minutes(15);
    for answer in [
        (|| TableError::Transient("reset".into())) as fn() -> TableError,
        || TableError::Conflict,
    ] {
        let memory: Arc<dyn TableStore> = Arc::new(InMemoryTables::new());
        let pk = burst(&memory, 5).await;
        let lossy: Arc<dyn TableStore> =
            Arc::new(LostAnswer::new(memory.clone(), FAILED_TABLE, answer));
        let first = check(&lossy, &pk, 5, window).await;
        let digest = match first {
            Ok(Some(n)) => n,
            // The dropped connection fails this check; the partition stays pending.
            Err(TableError::Transient(_)) => check(&lossy, &pk, 5, window)
                .await
                .expect("checked")
                .expect("the next check emits what the lost answer withheld"),
            other => panic!("{other:?}"),
        };
        assert_eq!(digest.kind, "login.failed.burst");
        assert!(
            check(&lossy, &pk, 5, window)
                .await
                .expect("checked")
                .is_none(),
            "settled: not emitted again"
        );
    }
}

#[tokio::test]
async fn a_lost_answer_to_the_unrecorded_mark_still_notifies() {
    use crate::audit_logs::repo::WINDOWS_TABLE;
    use crate::audit_logs::tail::tick;
    use crate::audit_logs::testkit::{NOW, PATH, kit};
    let fixture = || {
        std::fs::read(format!(
            "{}/tests/fixtures/auditlogs/PT1H.sample.jsonl",
            env!("CARGO_MANIFEST_DIR")
        ))
        .expect("fixture")
    };
    let k = kit(None);
    k.create_log().await;
    crate::audit_logs::created::register(&k.state, PATH, NOW, NOW, false)
        .await
        .expect("register");
    k.append(fixture().as_slice()).await;
    tick(&k.state, NOW).await.expect("tick");
    // The mark is stored, its answer lost; the update's retry then meets it (412).
    let lossy = LostAnswer::new(k.state.tables.clone(), WINDOWS_TABLE, || {
        TableError::PreconditionFailed
    })
    .on_replace();
    let mut state = k.state.clone();
    state.tables = Arc::new(lossy);
    let later = NOW + Duration::minutes(31);
    let r = tick(&state, later).await.expect("tick");
    let kinds: Vec<&str> = r.notifications.iter().map(|n| n.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["session.unrecorded"],
        "the mark's lost answer must not lose the notice"
    );
    let r = tick(&state, later + Duration::minutes(5))
        .await
        .expect("tick");
    assert!(r.notifications.is_empty(), "marked: not notified again");
}
