//! Episodes: one notification when a finding opens, none while it stays, one when it clears, a
//! new id for the next episode; two racing writers announce once.

use std::sync::Arc;

use time::macros::datetime;

use super::*;
use crate::estate::findings::Evaluation;
use crate::spine::kinds::ESTATE_FINDING;
use crate::testkit::tables::memory::InMemoryTables;

const HOST: &str = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b1";

/// The findings of one run `minutes` after 12:00 that found `codes` failing.
async fn run(t: &InMemoryTables, codes: &[&str], minutes: i64) -> Vec<crate::spine::Finding> {
    let at = datetime!(2026-11-25 12:00 UTC) + time::Duration::minutes(minutes);
    apply_host(t, HOST, &eval(codes), None, at)
        .await
        .expect("apply")
}

fn eval(codes: &[&str]) -> Evaluation {
    Evaluation {
        findings: codes
            .iter()
            .map(|c| Finding {
                code: (*c).to_owned(),
                level: Level::High,
                evidence: format!("saw {c}"),
            })
            .collect(),
        assessed: ["recording-off", "native-client-on"]
            .map(str::to_owned)
            .into(),
    }
}

#[tokio::test]
async fn an_episode_opens_once_stays_quiet_and_clears_once() {
    let t = InMemoryTables::new();
    let first = run(&t, &["recording-off"], 0).await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].kind.name, ESTATE_FINDING.name);
    assert_eq!(first[0].evidence["bastionHost"], "b1");
    let again = run(&t, &["recording-off"], 15).await;
    assert!(again.is_empty());
    let stored = list(&t).await.expect("list");
    assert_eq!(
        stored.checked,
        vec![(HOST.to_owned(), "2026-11-25T12:15:00.000Z".to_owned())]
    );
    let rows = stored.rows;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].first_seen, "2026-11-25T12:00:00.000Z");
    assert_eq!(rows[0].last_seen, "2026-11-25T12:15:00.000Z");
    assert!(rows[0].is_open_high());
    let cleared = run(&t, &[], 30).await;
    assert_eq!(cleared.len(), 1);
    assert_eq!(cleared[0].kind.name, ESTATE_RESOLVED.name);
    assert_eq!(cleared[0].level, Severity::Info);
    assert!(run(&t, &[], 45).await.is_empty());
    let reopened = run(&t, &["recording-off"], 60).await;
    assert_eq!(reopened.len(), 1);
    assert_ne!(reopened[0].id(), first[0].id());
}

#[tokio::test]
async fn a_finding_not_assessed_this_time_stays_open() {
    let t = InMemoryTables::new();
    let t0 = datetime!(2026-11-25 12:00 UTC);
    run(&t, &["recording-off"], 0).await;
    let blind = Evaluation::default();
    assert!(
        apply_host(&t, HOST, &blind, None, t0 + time::Duration::minutes(15))
            .await
            .expect("blind")
            .is_empty()
    );
    assert_eq!(list(&t).await.expect("list").rows[0].status, "open");
}

#[tokio::test]
async fn two_instances_checking_at_once_announce_each_episode_once() {
    let t = Arc::new(InMemoryTables::new());
    let e = eval(&["recording-off", "native-client-on"]);
    let (a, b) = tokio::join!(
        apply_host(t.as_ref(), HOST, &e, None, datetime!(2026-11-25 12:00 UTC)),
        apply_host(t.as_ref(), HOST, &e, None, datetime!(2026-11-25 12:00 UTC)),
    );
    let total = a.expect("a").len() + b.expect("b").len();
    assert_eq!(total, 2);
}

fn at_level(code: &str, level: Level) -> Evaluation {
    Evaluation {
        findings: vec![Finding {
            code: code.to_owned(),
            level,
            evidence: format!("saw {code}"),
        }],
        assessed: [code.to_owned()].into(),
    }
}

#[tokio::test]
async fn an_info_episode_is_shown_never_announced_until_it_rises_to_medium() {
    let t = InMemoryTables::new();
    let t0 = datetime!(2026-11-25 12:00 UTC);
    let m = |n: i64| t0 + time::Duration::minutes(n);
    let code = "check-failed:entra-rdp";
    let cleared = Evaluation {
        findings: Vec::new(),
        assessed: [code.to_owned()].into(),
    };
    // Info: stored and listed, never announced, and cleared in silence.
    let quiet = apply_host(&t, HOST, &at_level(code, Level::Info), None, m(0)).await;
    assert!(quiet.expect("info").is_empty());
    let rows = list(&t).await.expect("list").rows;
    assert_eq!(
        (rows[0].status.as_str(), rows[0].severity.as_str()),
        ("open", "info")
    );
    assert!(
        apply_host(&t, HOST, &cleared, None, m(15))
            .await
            .expect("clear")
            .is_empty()
    );
    // Info, then medium in the same episode: announced once when it rises, then its resolution.
    assert!(
        apply_host(&t, HOST, &at_level(code, Level::Info), None, m(30))
            .await
            .expect("info")
            .is_empty()
    );
    let risen = apply_host(&t, HOST, &at_level(code, Level::Medium), None, m(45))
        .await
        .expect("medium");
    assert_eq!(risen.len(), 1);
    assert_eq!(
        (risen[0].kind.name, risen[0].level),
        (ESTATE_FINDING.name, Severity::Warning)
    );
    assert_eq!(risen[0].evidence["firstSeen"], "2026-11-25T12:30:00.000Z");
    let again = apply_host(&t, HOST, &at_level(code, Level::Info), None, m(60))
        .await
        .expect("again");
    assert!(again.is_empty(), "announced once: {again:?}");
    let resolved = apply_host(&t, HOST, &cleared, None, m(75))
        .await
        .expect("resolve");
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0].kind.name, ESTATE_RESOLVED.name);
}

#[tokio::test]
async fn only_a_bastion_hosts_open_findings_flag_it_for_the_review_queue() {
    let t = InMemoryTables::new();
    let at = datetime!(2026-11-25 12:00 UTC);
    apply_host(&t, HOST, &eval(&["recording-off"]), None, at)
        .await
        .expect("host");
    let vm = "/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/vm1";
    let door = Evaluation {
        findings: vec![Finding {
            code: "door:run-command".into(),
            level: Level::High,
            evidence: "used".into(),
        }],
        assessed: ["door:run-command".to_owned()].into(),
    };
    apply_host(&t, vm, &door, None, at).await.expect("vm");
    apply_host(&t, "/subscriptions/s", &door, None, at)
        .await
        .expect("subscription");
    let flagged = flagged_hosts(&t).await.expect("flagged");
    assert_eq!(flagged, ["b1".to_owned()].into());
}

/// A host's marker keeps the Bastion subnets its check read; only a check at or after the asked
/// time counts, and a check that could not read its host (none given) leaves none to take.
#[tokio::test]
async fn the_bastion_subnets_kept_are_only_those_read_since() {
    let t = InMemoryTables::new();
    let at = datetime!(2026-11-25 12:00 UTC);
    let ids: std::collections::BTreeSet<String> = ["/subscriptions/s/x/subnets/azurebastionsubnet"]
        .map(str::to_owned)
        .into();
    let b2 = HOST.replace("/b1", "/b2");
    apply_host(&t, HOST, &eval(&[]), Some(&ids), at)
        .await
        .expect("b1");
    apply_host(&t, &b2, &eval(&[]), Some(&ids), at)
        .await
        .expect("b2");
    let kept = subnets::since(&t, at).await.expect("read");
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept.get(&HOST.to_ascii_lowercase()), Some(&ids));
    let later = at + time::Duration::minutes(15);
    assert!(subnets::since(&t, later).await.expect("read").is_empty());
    // b2's next check could not read b2: its marker holds no subnets, b1's still does.
    apply_host(&t, &b2, &eval(&[]), None, later)
        .await
        .expect("b2 again");
    apply_host(&t, HOST, &eval(&[]), None, later)
        .await
        .expect("b1 again");
    assert!(subnets::since(&t, later).await.expect("read").is_empty());
    assert_eq!(subnets::since(&t, at).await.expect("read").len(), 0);
}
