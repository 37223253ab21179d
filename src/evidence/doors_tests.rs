//! Which doors a pack lists: those open at some instant of its period, of its host's VMs, with
//! the actor read back from the evidence; and what was read of each subscription's Activity log.

use std::collections::BTreeSet;

use time::macros::datetime;

use super::doors::{OtherWays, cells, of_estate};
use crate::estate::store::{Estate, Row};

const SUB: &str = "/subscriptions/11111111-2222-3333-4444-555555555555";

fn vm(name: &str) -> String {
    format!("{SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{name}")
}

fn row(host: &str, finding: &str, severity: &str, opened: &str, resolved: Option<&str>) -> Row {
    Row {
        host: host.to_owned(),
        host_name: crate::arm::resource_name(host).to_owned(),
        finding: finding.to_owned(),
        severity: severity.to_owned(),
        status: if resolved.is_some() {
            "resolved"
        } else {
            "open"
        }
        .to_owned(),
        first_seen: opened.to_owned(),
        last_seen: opened.to_owned(),
        resolved_at: resolved.map(str::to_owned),
        earlier: Vec::new(),
        evidence: format!(
            "{finding}: 1 use(s) in the Activity log read; latest succeeded at {opened} by =1+2@evil.example from 203.0.113.7 (op, correlation c)"
        ),
    }
}

#[test]
fn a_pack_lists_the_doors_open_in_its_period_with_their_actor_and_what_was_read() {
    let estate = Estate {
        rows: vec![
            // Opened in the period, still open.
            row(
                &vm("vm1"),
                "door:run-command",
                "high",
                "2026-03-10T08:00:00.000Z",
                None,
            ),
            // Opened before, closed in it.
            row(
                &vm("vm2"),
                "door:public-ip",
                "medium",
                "2026-02-20T08:00:00.000Z",
                Some("2026-03-02T00:00:00.000Z"),
            ),
            // Closed before the period.
            row(
                &vm("vm3"),
                "door:serial-console",
                "high",
                "2026-02-01T08:00:00.000Z",
                Some("2026-02-02T00:00:00.000Z"),
            ),
            // Opened after it.
            row(
                &vm("vm4"),
                "door:run-command",
                "high",
                "2026-04-02T08:00:00.000Z",
                None,
            ),
            // A failed attempt is no door.
            row(
                &vm("vm5"),
                "attempt:run-command",
                "info",
                "2026-03-10T08:00:00.000Z",
                None,
            ),
            row(
                SUB,
                "activity-log-not-read",
                "high",
                "2026-03-01T00:00:00.000Z",
                None,
            ),
        ],
        checked: vec![
            (SUB.to_owned(), "2026-03-31T23:55:00.000Z".to_owned()),
            (vm("vm1"), "2026-03-31T23:55:00.000Z".to_owned()),
        ],
        ..Estate::default()
    };
    let (from, to) = (
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-04-01 00:00 UTC),
    );
    let all = of_estate(estate.clone(), from, to, None);
    let doors: Vec<(&str, &str)> = all
        .doors
        .iter()
        .map(|d| (d.vm.as_str(), d.door.as_str()))
        .collect();
    assert_eq!(
        doors,
        [("vm1", "door:run-command"), ("vm2", "door:public-ip")]
    );
    let d = &all.doors[0];
    assert_eq!(d.actor, "=1+2@evil.example");
    assert_eq!(d.caller_ip, "203.0.113.7");
    assert_eq!(
        (d.severity.as_str(), d.closed_at.as_deref()),
        ("high", None)
    );
    assert_eq!(
        all.doors[1].closed_at.as_deref(),
        Some("2026-03-02T00:00:00Z")
    );
    // The CSV cells say open or closed, and the writer keeps a formula from being one.
    let c = cells(d);
    assert_eq!((c[7].as_str(), c[8].as_str()), ("", "open"));
    assert_eq!(all.activity_log.len(), 1);
    assert_eq!(all.activity_log[0].state, "not-read");
    assert!(all.activity_log[0].why.contains("activity-log-not-read"));
    assert_eq!(all.vms_checked, 1);

    // A host's pack: its VMs' doors only, and their subscriptions' reads.
    let host: BTreeSet<String> = [vm("vm2")].into();
    let one = of_estate(estate.clone(), from, to, Some(&host));
    assert_eq!(one.doors.len(), 1);
    assert_eq!(one.doors[0].vm, "vm2");
    assert_eq!((one.activity_log.len(), one.vms_checked), (1, 0));
    let elsewhere: BTreeSet<String> = [
        "/subscriptions/other/resourcegroups/rg/providers/microsoft.compute/virtualmachines/x"
            .to_owned(),
    ]
    .into();
    let none = of_estate(estate, from, to, Some(&elsewhere));
    assert!(none.doors.is_empty() && none.activity_log.is_empty());
}

/// March 2026's section of an estate holding `rows` of subscription `SUB`, checked at its end.
fn march(rows: Vec<Row>) -> OtherWays {
    let estate = Estate {
        rows,
        checked: vec![(SUB.to_owned(), "2026-03-31T23:55:00.000Z".to_owned())],
        ..Estate::default()
    };
    of_estate(
        estate,
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-04-01 00:00 UTC),
        None,
    )
}

#[test]
fn an_unread_jit_policy_is_said_and_a_failed_read_says_more() {
    let open = |code: &str| row(SUB, code, "high", "2026-03-02T00:00:00.000Z", None);
    let w = march(vec![open("check-failed:jit-policy")]);
    assert_eq!(w.activity_log[0].state, "jit-policy-unread");
    let why = &w.activity_log[0].why;
    assert!(why.contains("check-failed:jit-policy"), "{why}");
    let both = march(vec![
        open("check-failed:jit-policy"),
        open("check-failed:activity-log"),
    ]);
    assert_eq!(both.activity_log[0].state, "read-failed");
}

#[test]
fn the_activity_log_reads_as_read_when_no_finding_says_otherwise() {
    let w = march(vec![row(
        SUB,
        "check-failed:activity-log",
        "medium",
        "2026-03-01T00:00:00.000Z",
        Some("2026-03-01T01:00:00.000Z"),
    )]);
    assert_eq!(w.activity_log[0].state, "read");
    assert!(w.doors.is_empty());
    assert!(
        of_estate(
            Estate::default(),
            datetime!(2026-03-01 00:00 UTC),
            datetime!(2026-04-01 00:00 UTC),
            None
        )
        .activity_log
        .is_empty()
    );
}

/// A door that opened, closed and opened again on one VM within the period is two episodes in
/// the pack, each with its own actor, times and state; an episode closed before the period is
/// not listed. Through the store: the rows `apply_host` writes, read back as the pack reads them.
#[tokio::test]
async fn every_episode_of_a_door_in_the_period_is_listed_not_only_the_latest() {
    use crate::estate::findings::{Evaluation, Finding, Level};
    use crate::estate::store::{apply_host, list};
    use crate::testkit::tables::memory::InMemoryTables;
    let t = InMemoryTables::new();
    let vm1 = vm("vm1");
    let door = |by: &str| Evaluation {
        findings: vec![Finding {
            code: "door:run-command".into(),
            level: Level::High,
            evidence: format!(
                "Run Command: 1 use(s) in the Activity log read; latest succeeded at t by {by} from 203.0.113.7 (op, correlation c)"
            ),
        }],
        assessed: ["door:run-command".to_owned()].into(),
    };
    let none = Evaluation {
        findings: vec![],
        assessed: ["door:run-command".to_owned()].into(),
    };
    let steps = [
        (datetime!(2026-02-10 08:00 UTC), door("old@contoso.com")),
        (datetime!(2026-02-11 08:00 UTC), none.clone()),
        (datetime!(2026-03-03 08:00 UTC), door("alice@contoso.com")),
        (datetime!(2026-03-04 08:00 UTC), none.clone()),
        (datetime!(2026-03-20 08:00 UTC), door("bob@contoso.com")),
    ];
    for (at, ev) in &steps {
        apply_host(&t, &vm1, ev, None, *at).await.expect("apply");
    }
    let estate = list(&t).await.expect("list");
    assert_eq!(estate.rows.len(), 1, "one row per VM and door");
    let w = of_estate(
        estate,
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-04-01 00:00 UTC),
        None,
    );
    let got: Vec<Vec<String>> = w.doors.iter().map(cells).collect();
    let brief: Vec<(&str, &str, &str, &str)> = got
        .iter()
        .map(|c| (c[4].as_str(), c[6].as_str(), c[7].as_str(), c[8].as_str()))
        .collect();
    assert_eq!(
        brief,
        [
            (
                "alice@contoso.com",
                "2026-03-03T08:00:00Z",
                "2026-03-04T08:00:00Z",
                "closed"
            ),
            ("bob@contoso.com", "2026-03-20T08:00:00Z", "", "open"),
        ],
        "{got:?}"
    );
    assert!(got.iter().all(|c| c[1] == "high"));
    // February's pack lists the first episode alone.
    let feb = of_estate(
        list(&t).await.expect("list"),
        datetime!(2026-02-01 00:00 UTC),
        datetime!(2026-03-01 00:00 UTC),
        None,
    );
    assert_eq!(feb.doors.len(), 1);
    assert_eq!(feb.doors[0].actor, "old@contoso.com");
}

/// A VM whose network could not be read is listed with why, while its finding is open; a
/// resolved one, or one outside the pack's VMs, is not.
#[test]
fn a_vm_whose_network_could_not_be_read_is_listed_while_it_cannot() {
    let vm = |n: &str| {
        format!(
            "/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.compute/virtualmachines/{n}"
        )
    };
    let (a, b) = (vm("vm-a"), vm("vm-b"));
    let failed = |host: &str, resolved: Option<&str>| {
        row(
            host,
            "check-failed:network",
            "high",
            "2026-03-02T00:00:00.000Z",
            resolved,
        )
    };
    let w = march(vec![
        failed(&a, None),
        failed(&b, Some("2026-03-03T00:00:00.000Z")),
    ]);
    assert_eq!(w.network_unread.len(), 1, "{w:?}");
    assert_eq!(w.network_unread[0].resource, a);
    assert!(w.network_unread[0].why.contains("check-failed:network"));
    let estate = Estate {
        rows: vec![failed(&a, None)],
        checked: Vec::new(),
        ..Estate::default()
    };
    let only_b: BTreeSet<String> = [b.clone()].into();
    let w = of_estate(
        estate,
        datetime!(2026-03-01 00:00 UTC),
        datetime!(2026-04-01 00:00 UTC),
        Some(&only_b),
    );
    assert!(w.network_unread.is_empty(), "{w:?}");
}
