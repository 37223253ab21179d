//! The groups' members read from Microsoft Graph under faults, end to end through the real
//! handler's `EstateCheck`: a members list that answers 429 with `Retry-After`, 429 without it,
//! 403 (the app without `GroupMember.Read.All`) or 504 every time is retried by the one client
//! (its deadline and back-off) and then given up; the session only that group's role could
//! cover is `unknown`, never `none`, its reason naming the group, and an `authorization.unknown`
//! finding (the check-failed kind of this domain) names each group unread. A person the read
//! groups show as no member stays `none`.

use axum::http::StatusCode;

use super::authorization::vm;
use super::authorization_sources::{decided_on_vms, graph_rig, group_role};
use super::fake_arm::SUB;
use crate::harness::azurite;
use crate::reviews::graph::{FakeGraph, Fault};

/// The groups, each holding a role at one VM, and how its members list fails.
const GROUPS: [(&str, &str, Fault); 4] = [
    (
        "1c4a9e1f-0000-4000-8000-0000000000d1",
        "vm-1",
        Fault(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", Some("1")),
    ),
    (
        "1c4a9e1f-0000-4000-8000-0000000000d2",
        "vm-2",
        Fault(StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", None),
    ),
    (
        "1c4a9e1f-0000-4000-8000-0000000000d3",
        "vm-3",
        Fault(StatusCode::FORBIDDEN, "Authorization_RequestDenied", None),
    ),
    (
        "1c4a9e1f-0000-4000-8000-0000000000d4",
        "vm-4",
        Fault(StatusCode::GATEWAY_TIMEOUT, "generalException", None),
    ),
];
/// A group whose members are read (nobody the sessions name).
const READ: &str = "1c4a9e1f-0000-4000-8000-0000000000d5";

#[tokio::test]
async fn a_members_list_throttled_refused_or_timed_out_leaves_unknown_never_none_and_is_told() {
    let Some(cs) = azurite() else { return };
    let (_logs, env) = super::doors::quiet_workspace().await;
    let graph = FakeGraph::start(&[], 0, &[]).await;
    for (g, _, fault) in GROUPS {
        graph.group(g, Vec::new(), false);
        graph.members_fail(g, fault);
    }
    graph.group(READ, Vec::new(), false);
    graph.members(READ, &[("oid-erin", "erin@contoso.com")], false);
    let mut rig = graph_rig(&cs, &env, &graph, &[]).await;
    rig.arm.with(|e| {
        let mut roles: Vec<_> = (GROUPS.iter())
            .map(|(g, at, _)| group_role(&format!("role-{at}"), g, &vm(SUB, at)))
            .collect();
        roles.push(group_role("role-vm-5", READ, &vm(SUB, "vm-5")));
        (e.schedules).insert(format!("/subscriptions/{SUB}"), (roles, Vec::new()));
    });
    let (said, page) = decided_on_vms(
        &mut rig,
        &cs,
        ("03", &["alice", "bob", "carol", "dave", "frank"]),
    )
    .await;
    let mut got: Vec<(String, String, String)> = (page["items"].as_array().into_iter().flatten())
        .map(|i| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
            let why = i["authorizationRecord"]["reasons"].to_string();
            (s(&i["userEmail"]), s(&i["authorization"]), why)
        })
        .collect();
    got.sort();
    let verdicts: Vec<&str> = got.iter().map(|g| g.1.as_str()).collect();
    assert_eq!(
        verdicts,
        ["unknown", "unknown", "unknown", "unknown", "none"],
        "{got:?}\n{}",
        rig.handler.log_text()
    );
    for ((_, _, why), (g, _, _)) in got.iter().zip(GROUPS) {
        assert!(why.contains(g), "{why} names {g}");
    }
    assert!(got[2].2.contains("GroupMember.Read.All"), "{}", got[2].2);
    // One finding a group unread, each naming it; none for the group read.
    let told: Vec<&(String, String, String)> = (said.iter())
        .filter(|s| s.0 == "authorization.unknown")
        .collect();
    assert_eq!(told.len(), GROUPS.len(), "{said:?}");
    assert_eq!(
        (said.iter())
            .filter(|s| s.0 == "session.unauthorized")
            .count(),
        1,
        "frank only: {said:?}"
    );
    // Each failing list was retried (more than one request), the refused one asked once a check
    // (two checks: the first reads the PIM lists, the next the roles' definitions and decides).
    let asked = |g: &str| {
        (graph.requests().iter())
            .filter(|(_, p)| p.contains(g) && p.contains("/transitiveMembers/"))
            .count()
    };
    let tries: Vec<usize> = GROUPS.iter().map(|(g, _, _)| asked(g)).collect();
    assert!(
        tries[0] > 1 && tries[1] > 1 && tries[2] == 2 && tries[3] > 1,
        "{tries:?}"
    );
}
