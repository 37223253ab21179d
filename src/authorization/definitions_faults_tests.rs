//! The role definitions list (`GET /subscriptions/{id}/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01`,
//! in the shape of the specification's `GetRoleDefinitionAtScope.json`, a `nextLink` to a second
//! page) through the real Resource Manager client, in whole passes, against the loopback server of
//! [`super::entra_faults_tests`] that loses, cuts off, freezes or times out its answers. Alice's
//! session only her activation of Reader could cover; bob's no role could. A list read whole
//! after the client's retry judges Reader (`pim`). A list not read whole by the pass's deadline
//! leaves alice's session `unknown`, naming why and the permission: never `none`, and never
//! judged from the first page (which lists Reader); bob's stays `none`. The list is asked again
//! only [`RETRY`] after the failure, then judged.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration as Wait, Instant};

use serde_json::json;
use time::{Duration, OffsetDateTime};

use super::budget_tests::{READER, T0, activation, rig, session, settings, sources, verdicts};
use super::decide::Verdict;
use super::entra_faults_tests::{Act, routed};
use super::read::Doors;
use super::roles::{READ_DEFINITIONS, RETRY};
use super::{Report, run};
use crate::arm::ResourceManager;
use crate::arm::client::ArmClient;
use crate::ports::Ports;
use crate::testkit::clock::FixedClock;

/// Virtual Machine User Login's GUID (on the second page).
const LOGIN_ROLE: &str = "fb879df8-f326-4884-b1cf-06f3ad86be52";

/// The two pages: Reader (allowing alice's connection), then through `nextLink` Virtual Machine
/// User Login.
fn pages() -> (String, String) {
    let item = |guid: &str, name: &str, actions: &[&str], data: &[&str]| {
        json!({"properties": {"roleName": name, "type": "BuiltInRole", "description": name,
            "assignableScopes": ["/"], "permissions": [{"actions": actions, "notActions": [],
                "dataActions": data, "notDataActions": []}]},
            "id": format!("/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
            "type": "Microsoft.Authorization/roleDefinitions", "name": guid})
    };
    let next = "{base}/subscriptions/s1/providers/Microsoft.Authorization/roleDefinitions?api-version=2022-04-01&$skiptoken=2";
    let first = json!({"value": [item(READER, "Reader", &["*/read"], &[])], "nextLink": next});
    let login = item(
        LOGIN_ROLE,
        "Virtual Machine User Login",
        &["Microsoft.Compute/virtualMachines/*/read"],
        &["Microsoft.Compute/virtualMachines/login/action"],
    );
    let second = json!({ "value": [login] });
    (first.to_string(), second.to_string())
}

/// One pass at `at` through a client bounded by `deadline`, the definitions answered by `acts`,
/// PIM's lists by alice's activation and the VM list empty: its report, its sessions' verdicts by tunnel, and the
/// definitions requests the server read.
async fn pass(
    (clock, ports): (&FixedClock, &Ports),
    at: OffsetDateTime,
    acts: Vec<Act>,
    deadline: Wait,
) -> (Report, Vec<(String, Verdict)>, Vec<String>) {
    let answer = |v: serde_json::Value| vec![Act::Answer(200, json!({ "value": v }).to_string())];
    let (base, seen) = routed(vec![
        ("roleDefinitions", acts),
        (
            "roleAssignmentScheduleInstances",
            answer(json!([activation()])),
        ),
        ("roleAssignmentScheduleRequests", answer(json!([]))),
        // The VM the two share `root` on (a shared account), listed without Entra's login.
        ("virtualMachines", answer(json!([]))),
    ])
    .await;
    let arm: Arc<dyn ResourceManager> = Arc::new(ArmClient::loopback(&base, Wait::from_secs(2)));
    let arm = crate::arm::bounded(&arm, Instant::now() + deadline);
    let doors = Doors::default();
    clock.set(at);
    let sources = sources(arm.as_ref(), &doors);
    let report = run(ports, &sources, &BTreeSet::new(), &settings(), at).await;
    let mut told: Vec<(String, Verdict)> = (verdicts(&report).into_iter())
        .map(|(t, v)| (t.to_owned(), v))
        .collect();
    told.sort();
    let asked = (seen.lock().expect("seen").iter())
        .filter(|l| l.contains("roleDefinitions"))
        .cloned()
        .collect();
    (report, told, asked)
}

/// Alice's and bob's sessions (25 minutes before `T0`), and a pass 15 minutes before `T0`
/// reading PIM's lists: alice's activation kept, her session waiting for the definitions
/// (listed only once a role is kept), bob's `none`.
async fn estate() -> (Arc<FixedClock>, Ports) {
    let (tables, clock, ports) = rig();
    for (tunnel, who) in [("t-alice", "alice"), ("t-bob", "bob")] {
        let email = format!("{who}@contoso.com");
        session(&tables, tunnel, &email, T0 - Duration::minutes(25)).await;
    }
    let before = T0 - Duration::minutes(15);
    let (r, told, asked) = pass((&clock, &ports), before, vec![], Wait::from_secs(20)).await;
    assert_eq!(
        told,
        [("t-bob".to_owned(), Verdict::None)],
        "{:?}",
        r.failed
    );
    assert_eq!((r.deferred, asked.len()), (1, 0), "{asked:?}");
    (clock, ports)
}

fn both(alice: Verdict) -> [(String, Verdict); 2] {
    [
        ("t-alice".to_owned(), alice),
        ("t-bob".to_owned(), Verdict::None),
    ]
}

#[tokio::test]
async fn a_definitions_list_not_read_whole_leaves_what_its_roles_could_cover_unknown_never_none() {
    let (first, second) = pages();
    let ok = |b: &str| Act::Answer(200, b.to_owned());
    let timeout = json!({"error": {"code": "GatewayTimeout", "message": "The gateway did not receive a response from 'Microsoft.Authorization' within the specified time period."}});
    let gateway = Act::Answer(504, timeout.to_string());
    let long = Wait::from_secs(20);
    // Retried within the pass: the whole list judges Reader.
    for (what, acts) in [
        ("an answer lost", vec![Act::Lost, ok(&first), ok(&second)]),
        ("a 504", vec![gateway.clone(), ok(&first), ok(&second)]),
        (
            "the next page's 504",
            vec![ok(&first), gateway.clone(), ok(&second)],
        ),
    ] {
        let (clock, ports) = estate().await;
        let (r, told, asked) = pass((&clock, &ports), T0, acts, long).await;
        assert_eq!(
            told,
            both(Verdict::Pim),
            "{what}: {asked:?} {:?}",
            r.decided
        );
        assert_eq!(asked.len(), 3, "{what}: retried once: {asked:?}");
    }
    // Not read whole by the pass's deadline (3 s): unknown, never none, never the first page's
    // Reader; not asked again before `RETRY`, then judged.
    let deadline = Wait::from_secs(3);
    for (what, acts, why, tries) in [
        (
            "504 on every try",
            vec![gateway.clone()],
            "GatewayTimeout",
            2,
        ),
        ("a frozen list", vec![Act::Freeze], "", 1),
        ("a frozen next page", vec![ok(&first), Act::Freeze], "", 2),
        (
            "the next page cut off",
            vec![ok(&first), Act::Cut(second.clone())],
            "",
            2,
        ),
        ("every answer lost", vec![Act::Lost], "", 2),
    ] {
        let (clock, ports) = estate().await;
        let started = Instant::now();
        let (r, told, asked) = pass((&clock, &ports), T0, acts, deadline).await;
        let took = started.elapsed();
        assert!(
            took < deadline + Wait::from_secs(2),
            "{what}: took {took:?}"
        );
        assert_eq!(told, both(Verdict::Unknown), "{what}: {asked:?}");
        assert!(asked.len() >= tries, "{what}: {asked:?}");
        let alice = &r.decided.iter().find(|(t, _)| t == "t-alice");
        let reasons = alice.map(|(_, d)| d.reasons.clone()).unwrap_or_default();
        let named = |w: &String| {
            w.contains(&format!("role {READER} at /subscriptions/s1"))
                && w.contains("role definitions of /subscriptions/s1 not read")
                && w.contains(why)
                && w.contains(READ_DEFINITIONS)
        };
        assert!(reasons.iter().any(named), "{what}: {reasons:?}");
        // Resting: a pass within `RETRY` does not ask, and says the same.
        let whole = || vec![ok(&first), ok(&second)];
        let at = T0 + Duration::minutes(15);
        let (_, told, asked) = pass((&clock, &ports), at, whole(), long).await;
        assert_eq!(told, both(Verdict::Unknown), "{what}");
        assert!(asked.is_empty(), "{what}: {asked:?}");
        // `RETRY` on: asked again, read whole, judged.
        let (r, told, asked) = pass((&clock, &ports), T0 + RETRY, whole(), long).await;
        assert_eq!(told, both(Verdict::Pim), "{what}: {:?}", r.decided);
        assert_eq!(asked.len(), 2, "{what}: {asked:?}");
    }
}
