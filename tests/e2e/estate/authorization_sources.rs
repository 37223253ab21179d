//! The optional authorization sources, end to end through the real handler's `EstateCheck`:
//! PIM for Groups and the groups' transitive members from the loopback Microsoft Graph
//! ([`crate::reviews::graph`], one item a page so every list is followed through
//! `@odata.nextLink`; one group's instances refused, 403, another's members) for the groups whose
//! roles the loopback Resource Manager lists at the VMs' scopes, and the VM sign-ins of
//! `SigninLogs` in the one `AuditLogs` query. The sessions list answers `pim-group` decided from
//! Graph, `standing` for a plain member, `none` for a person among no group's members,
//! `unknown` for a session only a refused group's role could cover (naming the Graph
//! permission), and each record's MFA.

use bastion_testkit::loganalytics::auditlogs;
use serde_json::{Value, json};

use super::Rig;
use super::authorization::{instance, sessions_arrive, vm};
use super::doors::{CUSTOMER, check_at};
use super::fake_arm::SUB;
use crate::harness::azurite;
use crate::reviews::graph::{FakeGraph, membership};

const G1: &str = "1c4a9e1f-0000-4000-8000-0000000000a1";
const G2: &str = "1c4a9e1f-0000-4000-8000-0000000000b2";
const G3: &str = "1c4a9e1f-0000-4000-8000-0000000000c3";

/// A rig on `cs` with the quiet workspace's `env` and `more` settings, reading PIM for Groups and
/// the groups' members from `graph`.
pub(super) async fn graph_rig(
    cs: &str,
    env: &[(&'static str, String)],
    graph: &FakeGraph,
    more: &[(&'static str, &'static str)],
) -> Rig {
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.extend([
        ("GRAPH_ENDPOINT", graph.base.as_str()),
        ("AUTHZ_PIM_GROUPS", "true"),
    ]);
    env.extend(more);
    Rig::new(cs, &env).await
}

/// One session of each of `people` (`{name}@contoso.com`) on `vm-1`, `vm-2`, … of [`SUB`]
/// (tunnel `{tunnels}{n}`), decided by a check at 09:00: what the check said, and the day's
/// sessions list.
pub(super) async fn decided_on_vms(
    rig: &mut Rig,
    cs: &str,
    (tunnels, people): (&str, &[&str]),
) -> (Vec<(String, String, String)>, Value) {
    let n = |i: usize| (format!("{tunnels}{}", i + 1), format!("vm-{}", i + 1));
    let owned: Vec<(String, String, String)> = (people.iter().enumerate())
        .map(|(i, p)| (n(i).0, format!("{p}@contoso.com"), vm(SUB, &n(i).1)))
        .collect();
    let sessions: Vec<(&str, &str, String)> = (owned.iter())
        .map(|(t, p, v)| (t.as_str(), p.as_str(), v.clone()))
        .collect();
    sessions_arrive(rig, cs, &sessions).await;
    // Decided once the roles' definitions are listed, at the check after the first.
    let at = ("2026-11-25T08:45:00Z", "2026-11-25T09:00:00Z");
    let (_, said) = super::authorization::check_and_list_roles(rig, at).await;
    let (status, page) = rig
        .handler
        .get_json("/api/sessions?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z")
        .await;
    assert_eq!(status, 200, "{page}");
    (said, page)
}

/// A role held by `group` at `scope`, as the schedule instances list shows a group principal.
pub(super) fn group_role(name: &str, group: &str, scope: &str) -> Value {
    let mut v = instance(
        name,
        (group, ""),
        scope,
        false,
        ("2025-01-01T00:00:00Z", None),
    );
    v["properties"]["principalType"] = json!("Group");
    v["properties"]["expandedProperties"]["principal"] =
        json!({"id": group, "displayName": "vm-admins", "type": "Group"});
    v
}

/// A VM sign-in row of `SigninLogs` (Learn's table reference columns).
fn signin(
    logs: &bastion_testkit::loganalytics::FakeLogs,
    id: &str,
    upn: &str,
    at: &str,
    mfa: bool,
) {
    let requirement = if mfa {
        "multiFactorAuthentication"
    } else {
        "singleFactorAuthentication"
    };
    let values = json!({"TenantId": "t", "Id": id, "TimeGenerated": at, "UserPrincipalName": upn,
        "UserId": format!("oid-{upn}"), "AppId": "ce6ff14a-7fdc-4685-bbe0-f6afdfcfa8e0",
        "AppDisplayName": "Azure Linux VM Sign-In", "ResultType": "0", "ResultDescription": "",
        "ConditionalAccessStatus": "success", "AuthenticationRequirement": requirement,
        "AuthenticationDetails": [{"authenticationStepDateTime": at, "authenticationMethod": "Password",
            "succeeded": true, "authenticationStepResultDetail": "Correct password"}]});
    let visible = time::OffsetDateTime::now_utc() - time::Duration::minutes(1);
    logs.ingest(
        CUSTOMER,
        auditlogs::signin_row(values.as_object().cloned().unwrap_or_default(), visible),
    );
}

/// Each session's `(e-mail, verdict, mfa, reasons)`.
async fn records(rig: &Rig) -> Vec<(String, String, String, String)> {
    let (status, page) = rig
        .handler
        .get_json("/api/sessions?from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z")
        .await;
    assert_eq!(status, 200, "{page}");
    let s = |v: &Value| v.as_str().unwrap_or("absent").to_owned();
    let mut out: Vec<_> = (page["items"].as_array().cloned().unwrap_or_default().iter())
        .map(|i| {
            let r = &i["authorizationRecord"];
            (
                s(&i["userEmail"]),
                s(&i["authorization"]),
                s(&r["mfa"]),
                format!("{} {}", r["reasons"], r["evidence"]),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn pim_for_groups_and_group_members_from_graph_decide_and_a_refused_group_is_unknown_and_mfa_is_recorded()
 {
    let Some(cs) = azurite() else { return };
    let (logs, env) = super::doors::quiet_workspace().await;
    // Graph's first answer is a 429 with Retry-After: waited out, then read.
    let graph = FakeGraph::start(&[], 1, &[]).await;
    graph.group(
        G1,
        vec![
            membership(
                G1,
                ("oid-erin", "erin@contoso.com"),
                false,
                ("2025-06-01T00:00:00Z", None),
            ),
            membership(
                G1,
                ("oid-alice", "Alice@Contoso.com"),
                true,
                ("2026-11-25T07:50:00Z", Some("2026-11-25T09:50:00Z")),
            ),
        ],
        false,
    );
    graph.group(G2, Vec::new(), true);
    graph.group(G3, Vec::new(), false);
    // G1's members (direct or nested): erin, alice (active now) and dave, a plain member PIM
    // for Groups does not list; bob is in no group. G3's members refused (403).
    let g1 = [
        ("oid-erin", "erin@contoso.com"),
        ("oid-alice", "alice@contoso.com"),
        ("oid-dave", "Dave@Contoso.com"),
    ];
    graph.members(G1, &g1, false);
    graph.members(G2, &[], false);
    graph.members(G3, &[("oid-frank", "frank@contoso.com")], true);
    let mut rig = graph_rig(&cs, &env, &graph, &[("AUTHZ_SIGNIN_MFA", "true")]).await;
    let rg = format!("/subscriptions/{SUB}/resourceGroups/rg-app");
    rig.arm.with(|e| {
        e.page_size = 1;
        let instances = vec![
            group_role("g1-rg", G1, &rg),
            group_role("g2-vmz", G2, &vm(SUB, "vm-z")),
            group_role("g3-vmy", G3, &vm(SUB, "vm-y")),
        ];
        e.schedules
            .insert(format!("/subscriptions/{SUB}"), (instances, Vec::new()));
    });
    signin(
        &logs,
        "signin-alice",
        "alice@contoso.com",
        "2026-11-25T07:59:00Z",
        true,
    );
    signin(
        &logs,
        "signin-bob",
        "bob@contoso.com",
        "2026-11-25T07:58:00Z",
        false,
    );
    let sessions = [
        ("00a", "alice@contoso.com", vm(SUB, "vm-a")),
        ("00b", "bob@contoso.com", vm(SUB, "vm-b")),
        ("00c", "carol@contoso.com", vm(SUB, "vm-z")),
        ("00d", "erin@contoso.com", vm(SUB, "vm-d")),
        ("00e", "dave@contoso.com", vm(SUB, "vm-e")),
        ("00f", "frank@contoso.com", vm(SUB, "vm-y")),
    ];
    // Each signed in as their UPN: a sign-in of `SigninLogs` is looked up for such a session
    // only (a local account's has none); its VM's extensions not told, it is looked up.
    let sessions: Vec<_> = (sessions.iter())
        .map(|(t, e, v)| (*t, *e, *e, v.clone()))
        .collect();
    super::authorization::accounts_arrive_in(&rig, &cs, &sessions, ("2026-11-25T08", None)).await;
    // The first check reads every source (PIM's lists, a role kept); the next lists the roles'
    // definitions and decides. What the first asked of Graph and the workspace is its own.
    check_at(&mut rig, "2026-11-25T08:45:00Z").await;
    let first = (graph.requests(), graph.queries(), logs.received());
    super::authorization::budget_passes(&rig).await;
    let said = check_at(&mut rig, "2026-11-25T09:00:00Z").await;
    let unknown: Vec<_> = said
        .iter()
        .filter(|s| s.0 == "authorization.unknown")
        .collect();
    assert_eq!(unknown.len(), 2, "the refused groups, told: {said:?}");
    let got = records(&rig).await;
    let verdicts: Vec<(&str, &str, &str)> = got
        .iter()
        .map(|(w, v, m, _)| (w.as_str(), v.as_str(), m.as_str()))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("alice@contoso.com", "pim-group", "satisfied"),
            ("bob@contoso.com", "none", "not-satisfied"),
            ("carol@contoso.com", "unknown", "absent"),
            ("dave@contoso.com", "standing", "absent"),
            ("erin@contoso.com", "standing", "absent"),
            ("frank@contoso.com", "unknown", "absent"),
        ],
        "{got:?}\n{}",
        rig.handler.log_text()
    );
    assert!(
        got[2].3.contains(G2)
            && got[2]
                .3
                .contains("PrivilegedAssignmentSchedule.Read.AzureADGroup"),
        "{}",
        got[2].3
    );
    // Dave through G1, naming it; frank's reasons name G3 and the permission its list needs.
    assert!(
        got[3].3.contains(&format!("member:{G1}:oid-dave")),
        "{}",
        got[3].3
    );
    assert!(
        got[5].3.contains(G3) && got[5].3.contains("GroupMember.Read.All"),
        "{}",
        got[5].3
    );
    // Dave's standing and bob's none rest on G1's members as read now, after the sessions
    // started, and on the workspace's AuditLogs showing no membership change of theirs since.
    for who in [1, 3] {
        let why = &got[who].3;
        assert!(
            why.contains(&format!("group {G1}'s members as read at"))
                && why.contains("no change of the person's membership in AuditLogs"),
            "{why}"
        );
    }
    let reads_of = |asked: &[(String, String)]| {
        (asked.iter())
            .filter(|(_, p)| p.contains("/transitiveMembers/"))
            .count()
    };
    let member_reads = || reads_of(&graph.requests());
    // Each group's members once a check (G1's three members on three pages; G3's refused once);
    // the next check reads again only the refused group.
    assert_eq!(reads_of(&first.0), 3 + 1 + 1, "{:?}", first.0);
    assert_eq!(member_reads(), 3 + 1 + 1 + 1, "{:?}", graph.requests());
    // One list a group a check (G1's two instances on two pages; its first page asked twice, the
    // 429 then its retry), and one query a workspace.
    let asked = first.1;
    let firsts = |g: &str| {
        asked
            .iter()
            .filter(|q| q.contains(g) && !q.contains("skiptoken"))
            .count()
    };
    assert_eq!((firsts(G1), firsts(G2)), (2, 1), "{asked:?}");
    let pages = |q: &&String| q.contains("skiptoken") && q.contains("filter");
    assert_eq!(asked.iter().filter(pages).count(), 1, "{asked:?}");
    let queries = (first.2.iter())
        .filter(|q| q.query.contains("AuditLogs"))
        .count();
    assert_eq!(queries, 1, "one AuditLogs/SigninLogs query");

    // Alice's membership leaves Graph's list (deactivated early): kept, closed when missed; her
    // session keeps pim-group from the window kept.
    graph.group(
        G1,
        vec![membership(
            G1,
            ("oid-erin", "erin@contoso.com"),
            false,
            ("2025-06-01T00:00:00Z", None),
        )],
        false,
    );
    check_at(&mut rig, "2026-11-25T09:15:00Z").await;
    let again = records(&rig).await;
    // The members read within the hour are kept: read again only for the refused group.
    assert_eq!(member_reads(), 3 + 1 + 1 + 1 + 1, "{:?}", graph.requests());
    assert_eq!(
        (again[0].1.as_str(), again[0].2.as_str()),
        ("pim-group", "satisfied"),
        "{again:?}"
    );
}
