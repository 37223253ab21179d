//! The decision's rules, one case each, and its properties.

use std::collections::BTreeMap;

use proptest::prelude::*;
use regex::Regex;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use super::decide::{Entra, Reads, Session, Verdict, decide, person_of, upn_form};
use super::evidence::{Evidence, Kind, Source};
use super::members::Members;
use crate::graph::members::Member;

const SUB: &str = "11111111-2222-3333-4444-555555555555";

fn vm() -> String {
    format!(
        "/subscriptions/{SUB}/resourcegroups/rg-app/providers/microsoft.compute/virtualmachines/vm1"
    )
}

const T: OffsetDateTime = datetime!(2026-11-20 10:00 UTC);

/// `e`'s principal is the person of session `s`.
fn is_person(e: &Evidence, s: &Session) -> bool {
    person_of(e, s, &crate::catalogue::person::forms(&s.upn))
}

fn session(upn: &str) -> Session {
    Session {
        upn: upn.into(),
        object_id: String::new(),
        vm: vm(),
        start: Some(T),
        protocol: String::new(),
        host: "b1".into(),
        entra: Entra::No,
    }
}

/// A role definition as the specification's `GetRoleDefinitionById.json` (and the list of
/// `GetRoleDefinitionAtScope.json`, api-version 2022-04-01) gives it.
pub(super) fn definition(
    guid: &str,
    actions: &[&str],
    data: &[&str],
) -> crate::arm::RoleDefinition {
    serde_json::from_value(serde_json::json!({
        "properties": {"roleName": format!("role {guid}"), "type": "BuiltInRole",
            "description": "Role description", "assignableScopes": ["/"],
            "permissions": [{"actions": actions, "notActions": [], "dataActions": data, "notDataActions": []}]},
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"),
        "type": "Microsoft.Authorization/roleDefinitions", "name": guid}))
    .expect("a role definition")
}

/// What was read when everything was: `SUB`'s definitions listed, `acdd72a7` reading everything
/// (Reader's `*/read`).
fn all_read() -> Reads {
    let list = [
        definition("acdd72a7", &["*/read"], &[]),
        definition("network", &["Microsoft.Network/*"], &[]),
        definition(
            "login",
            &["Microsoft.Compute/virtualMachines/*/read"],
            &["Microsoft.Compute/virtualMachines/login/action"],
        ),
    ];
    let defs = super::roles::Definitions::of(&list, T - Duration::hours(1));
    // The VM's NICs read: its network lies in its own group.
    let mut networks = super::decide::Networks::default();
    let own = format!(
        "/subscriptions/{SUB}/resourcegroups/rg-app/providers/microsoft.network/virtualnetworks/vnet-app"
    );
    networks.of.insert(vm(), [own].into());
    Reads {
        roles: BTreeMap::from([(SUB.to_owned(), defs)]),
        networks,
        ..Reads::default()
    }
}

fn pim(id: &str, upn: &str, scope: &str, start: OffsetDateTime, hours: i64) -> Evidence {
    Evidence {
        id: id.into(),
        source: Some(Source::Instances),
        kind: Some(Kind::Pim),
        principal: format!("oid-{upn}"),
        names: vec![upn.into()],
        scope: scope.into(),
        seen_under: SUB.into(),
        role: "/providers/microsoft.authorization/roledefinitions/acdd72a7".into(),
        start: Some(start),
        end: Some(start + Duration::hours(hours)),
        ..Evidence::default()
    }
}

fn sub_scope() -> String {
    format!("/subscriptions/{SUB}")
}

#[test]
fn an_activation_at_a_parent_scope_covering_the_start_is_pim() {
    let ev = [pim(
        "a",
        "alice@contoso.com",
        &sub_scope(),
        T - Duration::minutes(30),
        8,
    )];
    let r = decide(&session("Alice@Contoso.com"), &ev, &all_read(), None);
    assert_eq!(r.verdict, Verdict::Pim);
    assert_eq!(r.evidence, ["a"]);
    assert_eq!(r.from, Some(T - Duration::minutes(30)));
}

#[test]
fn the_skew_is_five_minutes_either_way() {
    let s = session("alice@contoso.com");
    let after = |m| {
        [pim(
            "a",
            "alice@contoso.com",
            &sub_scope(),
            T + Duration::minutes(m),
            1,
        )]
    };
    assert_eq!(
        decide(&s, &after(4), &all_read(), None).verdict,
        Verdict::Pim
    );
    assert_eq!(
        decide(&s, &after(6), &all_read(), None).verdict,
        Verdict::None
    );
    let ended = |m| {
        let mut e = pim(
            "a",
            "alice@contoso.com",
            &sub_scope(),
            T - Duration::hours(2),
            1,
        );
        e.end = Some(T - Duration::minutes(m));
        [e]
    };
    assert_eq!(
        decide(&s, &ended(4), &all_read(), None).verdict,
        Verdict::Pim
    );
    assert_eq!(
        decide(&s, &ended(6), &all_read(), None).verdict,
        Verdict::None
    );
}

#[test]
fn another_vms_scope_or_another_person_covers_nothing() {
    let other = format!("/subscriptions/{SUB}/resourcegroups/rg-other");
    let s = session("alice@contoso.com");
    let ev = [
        pim("a", "alice@contoso.com", &other, T - Duration::hours(1), 8),
        pim(
            "b",
            "bob@contoso.com",
            &sub_scope(),
            T - Duration::hours(1),
            8,
        ),
    ];
    assert_eq!(decide(&s, &ev, &all_read(), None).verdict, Verdict::None);
}

#[test]
fn a_failed_read_of_the_vms_subscription_is_unknown_never_none() {
    let reads = Reads {
        failed: vec![(SUB.into(), "403: Reader at subscription scope".into())],
        groups_read: true,
        ..all_read()
    };
    let r = decide(&session("alice@contoso.com"), &[], &reads, None);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert_eq!(r.reasons, ["403: Reader at subscription scope"]);
    let elsewhere = Reads {
        failed: vec![("another".into(), "403".into())],
        groups_read: true,
        ..all_read()
    };
    let r = decide(&session("alice@contoso.com"), &[], &elsewhere, None);
    assert_eq!(r.verdict, Verdict::None);
}

#[test]
fn a_session_whose_day_before_lies_before_the_auditlogs_read_is_unknown_never_none() {
    let since = |from: OffsetDateTime| Reads {
        groups_read: true,
        changes_from: Some(from),
        ..all_read()
    };
    let alice = session("alice@contoso.com");
    // Read since 24 hours before the start or earlier: every activation covering it was seen.
    for from in [T - Duration::days(7), T - Duration::hours(24)] {
        let r = decide(&alice, &[], &since(from), None);
        assert_eq!(r.verdict, Verdict::None, "{from}: {r:?}");
        assert!(r.reasons.is_empty(), "{r:?}");
    }
    // Read since later (a workspace keeping AuditLogs less long): an activation that ended before
    // the lists were first read may be missed, and the reason names the reach.
    for from in [T - Duration::hours(23), T + Duration::days(2)] {
        let r = decide(&alice, &[], &since(from), None);
        assert_eq!(r.verdict, Verdict::Unknown, "{from}: {r:?}");
        let stamp = crate::dates::format_utc_millis(from);
        assert!(
            r.reasons
                .iter()
                .any(|w| w.contains("AuditLogs are read only since") && w.contains(&stamp)),
            "{r:?}"
        );
    }
    // A window that covers the start decides, whatever the reach.
    let ev = [pim(
        "a",
        "alice@contoso.com",
        &sub_scope(),
        T - Duration::hours(1),
        2,
    )];
    let r = decide(&alice, &ev, &since(T + Duration::days(2)), None);
    assert_eq!(r.verdict, Verdict::Pim, "{r:?}");
    // Not read whole this pass (`None`): the failed read decides, not the reach.
    let r = decide(
        &alice,
        &[],
        &Reads {
            groups_read: true,
            ..all_read()
        },
        None,
    );
    assert_eq!(r.verdict, Verdict::None, "{r:?}");
}

#[test]
fn a_jit_request_counts_only_when_it_opened_the_sessions_port() {
    let jit = |id: &str, ports: &[u16]| Evidence {
        id: id.into(),
        source: Some(Source::Jit),
        kind: Some(Kind::Jit),
        names: vec!["alice@contoso.com".into()],
        scope: vm(),
        start: Some(T - Duration::minutes(2)),
        end: Some(T + Duration::hours(3)),
        ports: ports.to_vec(),
        ..Evidence::default()
    };
    let on = |protocol: &str| Session {
        protocol: protocol.into(),
        ..session("alice@contoso.com")
    };
    let reads = Reads {
        groups_read: true,
        ..all_read()
    };
    // SSH is port 22, RDP 3389: a request opening another port of the VM does not cover the
    // session, but the audit record names no port (a custom one is possible): `unknown`, never
    // `none`, naming the ports it opened.
    for (protocol, ports, verdict) in [
        ("ssh", &[22, 3389][..], Verdict::Jit),
        ("SSH", &[3389][..], Verdict::Unknown),
        ("rdp", &[3389][..], Verdict::Jit),
        ("rdp", &[22, 5985][..], Verdict::Unknown),
    ] {
        let r = decide(&on(protocol), &[jit("j", ports)], &reads, None);
        assert_eq!(r.verdict, verdict, "{protocol} {ports:?}: {r:?}");
        let named = r.reasons.iter().any(|w| w.contains(&format!("{ports:?}")));
        assert_eq!(named, verdict == Verdict::Unknown, "{r:?}");
    }
    // Another person's request, or one for another port that ended before the start, is nothing.
    let bobs = Evidence {
        names: vec!["bob@contoso.com".into()],
        ..jit("bob", &[3389])
    };
    let ended = Evidence {
        end: Some(T - Duration::minutes(30)),
        start: Some(T - Duration::hours(2)),
        ..jit("ended", &[3389])
    };
    let r = decide(&on("ssh"), &[bobs, ended], &reads, None);
    assert_eq!(r.verdict, Verdict::None, "{r:?}");
    // Among two requests, the one opening the port is the evidence.
    let earlier = Evidence {
        start: Some(T - Duration::minutes(40)),
        ..jit("rdp-only", &[3389])
    };
    let both = [earlier, jit("ssh-too", &[22])];
    let r = decide(&on("ssh"), &both, &reads, None);
    assert_eq!(
        (r.verdict, r.evidence.as_slice()),
        (Verdict::Jit, &["ssh-too".to_owned()][..])
    );
    // The protocol not logged: any port counts, and the record says it was not compared.
    let r = decide(&on(""), &[jit("j", &[3389])], &reads, None);
    assert_eq!(r.verdict, Verdict::Jit, "{r:?}");
    assert!(
        r.reasons
            .iter()
            .any(|w| w.contains("ports were not compared")),
        "{r:?}"
    );
}

/// Group g1's standing role at the subscription, for a year from 30 days before `T`.
fn group_role() -> Evidence {
    Evidence {
        principal: "g1".into(),
        names: Vec::new(),
        group_principal: true,
        kind: Some(Kind::Standing),
        ..pim(
            "role-g1",
            "",
            &sub_scope(),
            T - Duration::days(30),
            24 * 365,
        )
    }
}

#[test]
fn a_groups_role_is_pim_group_with_an_activated_membership_and_unknown_when_its_members_were_not_read()
 {
    let role = group_role();
    let membership = |start: OffsetDateTime| Evidence {
        id: "g1_member_x".into(),
        source: Some(Source::GroupInstances),
        kind: Some(Kind::GroupActivation),
        principal: "oid-alice".into(),
        names: vec!["alice@contoso.com".into()],
        group: "g1".into(),
        seen_under: "g1".into(),
        scope: String::new(),
        start: Some(start),
        end: Some(start + Duration::hours(2)),
        ..Evidence::default()
    };
    // The group's members as read: bob only (alice's activation ended before the read).
    let read = Reads {
        groups_read: true,
        members: BTreeMap::from([(
            "g1".to_owned(),
            members(&[("oid-bob", Some("bob@contoso.com"))]),
        )]),
        ..all_read()
    };
    let alice = session("Alice@Contoso.com");
    // Activated 4 minutes after the start: within the skew.
    let ev = [role.clone(), membership(T + Duration::minutes(4))];
    let r = decide(&alice, &ev, &read, None);
    assert_eq!(r.verdict, Verdict::PimGroup);
    assert_eq!(r.evidence, ["g1_member_x", "role-g1"]);
    // Activated 6 minutes after: not covered; every group read: none.
    let late = [role.clone(), membership(T + Duration::minutes(6))];
    assert_eq!(decide(&alice, &late, &read, None).verdict, Verdict::None);
    // The group's list refused (403): unknown, naming the permission.
    let refused = Reads {
        groups_failed: vec![(
            "g1".into(),
            "403 PrivilegedAssignmentSchedule.Read.AzureADGroup".into(),
        )],
        ..read.clone()
    };
    let r = decide(&alice, &late, &refused, None);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(
        r.reasons[0].contains("group g1") && r.reasons[0].contains("AzureADGroup"),
        "{:?}",
        r.reasons
    );
    // Graph not asked at all: unknown as before.
    assert_eq!(
        decide(&alice, &late, &all_read(), None).verdict,
        Verdict::Unknown
    );
}

/// A group's members as read at `T`.
fn members(list: &[(&str, Option<&str>)]) -> Members {
    let list: Vec<Member> = (list.iter())
        .map(|(id, upn)| Member {
            id: (*id).to_owned(),
            user_principal_name: upn.map(str::to_owned),
        })
        .collect();
    Members::new(T, &list)
}

/// A plain member of a group holding a role here is `standing` through it (naming the group);
/// a person not among the members read is `none`; members not read (a 403 naming
/// `GroupMember.Read.All`, Graph not set up, a member without a UPN) leave it `unknown`.
#[test]
fn a_groups_members_as_read_decide_standing_or_none_and_unread_members_are_unknown() {
    let role = group_role();
    let ev = [role];
    let read = |m: Members| Reads {
        groups_read: true,
        members: BTreeMap::from([("g1".to_owned(), m)]),
        ..all_read()
    };
    let both = read(members(&[
        (
            "OID-Alice",
            Some("alice_fabrikam.com#EXT#@contoso.onmicrosoft.com"),
        ),
        ("oid-bob", Some("bob@contoso.com")),
    ]));
    // A guest member, her session in her own address's form.
    let r = decide(&session("Alice@Fabrikam.com"), &ev, &both, None);
    assert_eq!(r.verdict, Verdict::Standing, "{r:?}");
    assert_eq!(r.evidence, ["member:g1:oid-alice", "role-g1"]);
    assert_eq!(r.from, Some(T - Duration::days(30)));
    // Carol is not a member: none.
    let r = decide(&session("carol@contoso.com"), &ev, &both, None);
    assert_eq!((r.verdict, r.reasons.len()), (Verdict::None, 0), "{r:?}");
    // Members read an hour after the session's start: the verdicts stand, and say that the
    // membership at the start is not seen.
    let mut after = members(&[("oid-bob", Some("bob@contoso.com"))]);
    after.read_at = T + Duration::hours(1);
    let after = read(after);
    for (who, verdict) in [
        ("bob@contoso.com", Verdict::Standing),
        ("carol@contoso.com", Verdict::None),
    ] {
        let r = decide(&session(who), &ev, &after, None);
        assert_eq!(r.verdict, verdict, "{r:?}");
        assert_eq!(r.reasons.len(), 1, "{r:?}");
        assert!(
            r.reasons[0].contains("group g1's members as read at 2026-11-20T11:00:00.000Z")
                && r.reasons[0].contains("member at its start is not seen"),
            "{r:?}"
        );
    }
    // The members list refused: unknown, naming the permission; never none.
    let refused = Reads {
        members_failed: vec![(
            "g1".into(),
            "its members could not be read from Microsoft Graph: 403 GroupMember.Read.All".into(),
        )],
        ..Reads {
            groups_read: true,
            ..all_read()
        }
    };
    let r = decide(&session("carol@contoso.com"), &ev, &refused, None);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(
        r.reasons
            .iter()
            .any(|w| w.contains("group g1") && w.contains("GroupMember.Read.All")),
        "{r:?}"
    );
    // Graph not set up, or members read without their UPNs: unknown.
    let r = decide(&session("carol@contoso.com"), &ev, &all_read(), None);
    assert_eq!(r.verdict, Verdict::Unknown);
    let unnamed = read(members(&[("oid-x", None)]));
    let r = decide(&session("carol@contoso.com"), &ev, &unnamed, None);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(r.reasons[0].contains("userPrincipalName"), "{r:?}");
}

#[test]
fn the_ticket_comes_from_ticket_info_else_the_pattern() {
    let mut a = pim(
        "a",
        "alice@contoso.com",
        &sub_scope(),
        T - Duration::hours(1),
        8,
    );
    a.schedule = "s1".into();
    let mut req = a.clone();
    req.id = "req".into();
    req.source = Some(Source::Requests);
    req.justification = "patching per CHG0012345".into();
    let re = Regex::new(r"CHG\d{7}").ok();
    let r = decide(
        &session("alice@contoso.com"),
        &[a.clone(), req.clone()],
        &all_read(),
        re.as_ref(),
    );
    assert_eq!(r.ticket, "CHG0012345");
    assert_eq!(r.justification, "patching per CHG0012345");
    assert_eq!(r.evidence, ["a", "req"]);
    req.ticket = "ServiceNow:INC42".into();
    let r = decide(
        &session("alice@contoso.com"),
        &[a, req],
        &all_read(),
        re.as_ref(),
    );
    assert_eq!(r.ticket, "ServiceNow:INC42");
}

proptest! {
    /// Whatever the order of the evidence, the record is the same; and a record is `none` only
    /// when no read failed for its subscription.
    #[test]
    fn the_order_of_evidence_does_not_matter(
        offsets in proptest::collection::vec((-600i64..600, 1i64..10, 0usize..3), 0..8),
        failed in any::<bool>(),
    ) {
        let people = ["alice@contoso.com", "bob@contoso.com", "ALICE@contoso.com"];
        let ev: Vec<Evidence> = offsets
            .iter()
            .enumerate()
            .map(|(i, (m, h, p))| pim(&format!("e{i}"), people[*p], &sub_scope(), T + Duration::minutes(*m), *h))
            .collect();
        let reads = Reads {
            failed: if failed { vec![(SUB.into(), "throttled".into())] } else { Vec::new() },
            groups_read: true,
            ..all_read()
        };
        let s = session("alice@contoso.com");
        let a = decide(&s, &ev, &reads, None);
        let mut rev = ev.clone();
        rev.reverse();
        let b = decide(&s, &rev, &reads, None);
        prop_assert_eq!(&a, &b);
        if failed {
            prop_assert_ne!(a.verdict, Verdict::None);
        }
    }
}

/// An `AuditLogs` membership change of `group` for `who` at `at`.
fn change(id: &str, who: &str, added: bool, at: OffsetDateTime) -> Evidence {
    Evidence {
        id: id.into(),
        source: Some(Source::AuditLogs),
        kind: Some(if added {
            Kind::MemberAdded
        } else {
            Kind::MemberRemoved
        }),
        principal: format!("oid-{}", who.split('@').next().unwrap_or_default()),
        names: vec![who.into()],
        group: "g1".into(),
        start: Some(at),
        end: Some(at),
        ..Evidence::default()
    }
}

/// Membership at the session's start (`T`), told from the members read an hour after it and the
/// group's `AuditLogs` changes between: ground truth per person.
#[test]
fn membership_at_the_start_is_the_members_as_read_undone_by_the_changes_since() {
    let m = |after: Duration, list: &[(&str, Option<&str>)]| {
        let mut read = members(list);
        read.read_at = T + after;
        read
    };
    let now = m(
        Duration::hours(1),
        &[
            ("oid-alice", Some("alice@contoso.com")),
            ("oid-dave", Some("dave@contoso.com")),
            ("oid-erin", Some("erin@contoso.com")),
        ],
    );
    let min = Duration::minutes;
    let ev = [
        group_role(),
        // Alice added after the start: not a member at it.
        change("a1", "alice@contoso.com", true, T + min(30)),
        // Bob removed after the start (not among the members now): a member at it.
        change("b1", "bob@contoso.com", false, T + min(20)),
        // Carol added and removed after the start: not a member at it.
        change("c1", "carol@contoso.com", true, T + min(10)),
        change("c2", "carol@contoso.com", false, T + min(40)),
        // Dave removed and added back after the start: a member at it.
        change("d1", "dave@contoso.com", false, T + min(10)),
        change("d2", "dave@contoso.com", true, T + min(40)),
        // Erin: a change before the start and one after the read only (outside the window).
        change("e1", "erin@contoso.com", true, T - min(30)),
        change("e2", "erin@contoso.com", false, T + min(90)),
    ];
    let told = |members: Members, from: Option<OffsetDateTime>| Reads {
        groups_read: true,
        members: BTreeMap::from([("g1".to_owned(), members)]),
        changes_from: from,
        ..all_read()
    };
    let reads = told(now.clone(), Some(T - Duration::days(7)));
    let truth = [
        (
            "alice@contoso.com",
            Verdict::None,
            "added at 2026-11-20T10:30:00.000Z (a1), after",
        ),
        (
            "bob@contoso.com",
            Verdict::Standing,
            "removed at 2026-11-20T10:20:00.000Z (b1), after",
        ),
        (
            "carol@contoso.com",
            Verdict::None,
            "added at 2026-11-20T10:10:00.000Z (c1)",
        ),
        (
            "dave@contoso.com",
            Verdict::Standing,
            "removed at 2026-11-20T10:10:00.000Z (d1)",
        ),
        (
            "erin@contoso.com",
            Verdict::Standing,
            "no change of the person's membership",
        ),
        (
            "frank@contoso.com",
            Verdict::None,
            "no change of the person's membership",
        ),
    ];
    for (who, verdict, why) in truth {
        let r = decide(&session(who), &ev, &reads, None);
        assert_eq!(r.verdict, verdict, "{who}: {r:?}");
        assert!(r.reasons.iter().any(|w| w.contains(why)), "{who}: {r:?}");
    }
    let bob = decide(&session("bob@contoso.com"), &ev, &reads, None);
    assert_eq!(bob.evidence, ["member:g1:oid-bob", "role-g1"]);
    // No change in the window at all: the members as read hold, and the record says so.
    let quiet = decide(&session("alice@contoso.com"), &ev[..1], &reads, None);
    assert_eq!(quiet.verdict, Verdict::Standing, "{quiet:?}");
    // The changes not read back to the start (first read after it): as read, and not seen; a
    // person not a member as read is `unknown` (the activations before the read not seen either).
    let short = told(now, Some(T + min(5)));
    for (who, verdict, why) in [
        (
            "alice@contoso.com",
            Verdict::Standing,
            "member at its start is not seen",
        ),
        (
            "bob@contoso.com",
            Verdict::Unknown,
            "AuditLogs are read only since",
        ),
    ] {
        let r = decide(&session(who), &ev, &short, None);
        assert_eq!(r.verdict, verdict, "{who}: {r:?}");
        assert!(r.reasons.iter().any(|w| w.contains(why)), "{r:?}");
    }
    // Members read before the start: the last change between the read and the start decides.
    let early = m(
        -Duration::hours(1),
        &[("oid-alice", Some("alice@contoso.com"))],
    );
    let before = [
        group_role(),
        change("f1", "frank@contoso.com", true, T - min(10)),
        change("a0", "alice@contoso.com", false, T - min(20)),
    ];
    let reads = told(early, Some(T - Duration::days(7)));
    let frank = decide(&session("frank@contoso.com"), &before, &reads, None);
    assert_eq!(frank.verdict, Verdict::Standing, "{frank:?}");
    let alice = decide(&session("alice@contoso.com"), &before, &reads, None);
    assert_eq!(alice.verdict, Verdict::None, "{alice:?}");
}

/// A PIM activation counts only where its role allows the connection: a role without the VM's
/// read at the VM's scope is `none` (a login-only role too, unless the session signed in with
/// Entra ID); a role reading the Bastion host counts at that host, not at another.
#[test]
fn an_activation_counts_only_where_its_role_allows_the_connection() {
    let alice = session("alice@contoso.com");
    let with = |role: &str, scope: &str| {
        let mut e = pim(
            "a",
            "alice@contoso.com",
            scope,
            T - Duration::minutes(30),
            8,
        );
        e.role = format!(
            "/subscriptions/{SUB}/providers/microsoft.authorization/roledefinitions/{role}"
        );
        [e]
    };
    let verdict = |s: &Session, ev: &[Evidence]| decide(s, ev, &all_read(), None).verdict;
    assert_eq!(
        verdict(&alice, &with("acdd72a7", &sub_scope())),
        Verdict::Pim
    );
    assert_eq!(
        verdict(&alice, &with("network", &sub_scope())),
        Verdict::None
    );
    assert_eq!(verdict(&alice, &with("login", &vm())), Verdict::None);
    let entra = Session {
        entra: Entra::Yes,
        ..alice.clone()
    };
    assert_eq!(verdict(&entra, &with("login", &vm())), Verdict::Pim);
    let host = |name: &str| {
        format!(
            "/subscriptions/{SUB}/resourcegroups/rg-hub/providers/microsoft.network/bastionhosts/{name}"
        )
    };
    assert_eq!(
        verdict(&alice, &with("acdd72a7", &host("b1"))),
        Verdict::Pim
    );
    assert_eq!(verdict(&alice, &with("network", &host("b1"))), Verdict::Pim);
    assert_eq!(
        verdict(&alice, &with("acdd72a7", &host("b2"))),
        Verdict::None
    );
    assert_eq!(verdict(&entra, &with("login", &host("b1"))), Verdict::None);
    // A standing role granting nothing here does not count either.
    let mut standing = with("network", &sub_scope());
    standing[0].kind = Some(Kind::Standing);
    assert_eq!(verdict(&alice, &standing), Verdict::None);
}

/// A role whose definition was not read (refused) leaves the session `unknown`, naming the role
/// and the permission, never `none`; one whose subscription's definitions were never listed
/// waits (the pass leaves the session undecided); a covering role stands beside either.
#[test]
fn an_unread_definition_is_unknown_and_a_never_listed_one_waits() {
    let alice = session("alice@contoso.com");
    let ev = [pim(
        "a",
        "alice@contoso.com",
        &sub_scope(),
        T - Duration::minutes(30),
        8,
    )];
    let refused = super::roles::Definitions {
        failed: Some((T, "403 Microsoft.Authorization/roleDefinitions/read".into())),
        ..super::roles::Definitions::default()
    };
    let reads_refused = Reads {
        roles: BTreeMap::from([(SUB.to_owned(), refused)]),
        ..all_read()
    };
    let r = decide(&alice, &ev, &reads_refused, None);
    assert_eq!(r.verdict, Verdict::Unknown);
    assert!(
        r.reasons.iter().any(|w| w.contains("acdd72a7")
            && w.contains("Microsoft.Authorization/roleDefinitions/read")),
        "{r:?}"
    );
    assert!(!super::decide::awaits_definition(
        &alice,
        &ev,
        &reads_refused
    ));
    let never = Reads {
        roles: BTreeMap::new(),
        ..all_read()
    };
    assert!(super::decide::awaits_definition(&alice, &ev, &never));
    assert!(!super::decide::awaits_definition(&alice, &ev, &all_read()));
    // Another person's role, unread, does not make this session wait or unknown.
    assert!(!super::decide::awaits_definition(
        &session("bob@contoso.com"),
        &ev,
        &never
    ));
    assert_eq!(
        decide(&session("bob@contoso.com"), &ev, &reads_refused, None).verdict,
        Verdict::None
    );
}

/// A role granting at the VM only the login data action counts as the session's Entra VM
/// sign-in is told: present, `pim`; absent (or an account not in UPN form), `none`; not told,
/// `unknown` naming the VM list's read, never `none` nor `pim`. A session covered otherwise (a
/// role reading the VM) is decided as ever, whatever the sign-in; with nothing near, `none`.
#[test]
fn a_login_only_role_counts_as_the_vms_entra_sign_in_is_told() {
    let with = |role: &str| {
        let mut e = pim(
            "a",
            "alice@contoso.com",
            &vm(),
            T - Duration::minutes(30),
            8,
        );
        e.role = format!(
            "/subscriptions/{SUB}/providers/microsoft.authorization/roledefinitions/{role}"
        );
        vec![e]
    };
    let as_told = |entra: Entra| Session {
        entra,
        ..session("alice@contoso.com")
    };
    let untold = as_told(Entra::Untold("its VM's extensions are not read yet".into()));
    let decided = |s: &Session, ev: &[Evidence]| decide(s, ev, &all_read(), None);
    assert_eq!(
        decided(&as_told(Entra::Yes), &with("login")).verdict,
        Verdict::Pim
    );
    assert_eq!(
        decided(&as_told(Entra::No), &with("login")).verdict,
        Verdict::None
    );
    let r = decided(&untold, &with("login"));
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    assert!(
        r.reasons.iter().any(|w| w.contains("not read yet")
            && w.contains("Microsoft.Compute/virtualMachines/read")
            && w.contains("login")),
        "{r:?}"
    );
    // Not waiting on a definition: decided now, `unknown`.
    assert!(!super::decide::awaits_definition(
        &untold,
        &with("login"),
        &all_read()
    ));
    // A role reading the VM covers it whatever the sign-in; nothing near: `none`.
    for entra in [Entra::Yes, Entra::No, untold.entra.clone()] {
        let s = as_told(entra);
        assert_eq!(decided(&s, &with("acdd72a7")).verdict, Verdict::Pim);
        assert_eq!(decided(&s, &[]).verdict, Verdict::None);
        assert!(super::decide::role_near(&s, &with("login")));
        assert!(!super::decide::role_near(&s, &[]));
    }
    // Another person's login-only role leaves an untold session `none`.
    assert_eq!(
        decided(
            &Session {
                upn: "bob@contoso.com".into(),
                ..untold.clone()
            },
            &with("login")
        )
        .verdict,
        Verdict::None
    );
}

/// The UPN form: `name@domain`; a bare name, `DOMAIN\name`, an empty part or a space is not.
#[test]
fn an_account_is_in_upn_form_only_as_name_at_domain() {
    for yes in ["alice@contoso.com", "Alice@corp.example", " bob@x "] {
        assert!(upn_form(yes), "{yes}");
    }
    for no in [
        "azureuser",
        "CORP\\alice",
        "@contoso.com",
        "alice@",
        "a b@c.d",
        "a@b@c",
        "",
    ] {
        assert!(!upn_form(no), "{no}");
    }
}

/// A role held at the session VM's virtual network, or at that network's resource group, counts
/// when it grants the network's read; another network's, or one granting only a subnet's join,
/// does not. While the VM's networks were not read, a role at a virtual network of its
/// subscription that could cover the session leaves it `unknown` (naming what was not read),
/// never `none`; another person's, another subscription's, or one granting no network read
/// changes nothing. Definitions kept before the network's read was known make the session wait.
#[test]
fn a_role_at_the_vms_virtual_network_counts_where_it_grants_the_networks_read() {
    let alice = session("alice@contoso.com");
    let vnet = |sub: &str, rg: &str, name: &str| {
        format!(
            "/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.network/virtualnetworks/{name}"
        )
    };
    let mine = vnet(SUB, "rg-net", "vnet-spoke");
    let with = |role: &str, scope: &str, upn: &str| {
        let mut e = pim("a", upn, scope, T - Duration::minutes(30), 8);
        e.role = format!(
            "/subscriptions/{SUB}/providers/microsoft.authorization/roledefinitions/{role}"
        );
        [e]
    };
    let mut read = all_read();
    let joiner = definition(
        "joiner",
        &["Microsoft.Network/virtualNetworks/subnets/join/action"],
        &[],
    );
    let joins = super::roles::grants(&joiner.properties.permissions);
    (read.roles.get_mut(SUB).expect("listed").grants).insert("joiner".into(), joins);
    read.networks.of.insert(vm(), [mine.clone()].into());
    let verdict = |s: &Session, ev: &[Evidence], reads: &Reads| decide(s, ev, reads, None);
    // The VM's network and its group: Reader and Network Contributor read it.
    let r = verdict(&alice, &with("acdd72a7", &mine, "alice@contoso.com"), &read);
    assert_eq!(r.verdict, Verdict::Pim, "{r:?}");
    let group = format!("/subscriptions/{SUB}/resourcegroups/rg-net");
    let r = verdict(&alice, &with("network", &group, "alice@contoso.com"), &read);
    assert_eq!(r.verdict, Verdict::Pim, "{r:?}");
    // Another network, a subnet's join only, a login-only role: none.
    let other = vnet(SUB, "rg-net", "vnet-other");
    for (role, scope) in [("acdd72a7", &other), ("joiner", &mine), ("login", &mine)] {
        let r = verdict(&alice, &with(role, scope, "alice@contoso.com"), &read);
        assert_eq!(
            (r.verdict, r.reasons.len()),
            (Verdict::None, 0),
            "{role} {scope}: {r:?}"
        );
    }
    // The VM's networks not read: unknown, naming why; the explicit failure when there is one.
    let mut unread = read.clone();
    unread.networks = super::decide::Networks::default();
    let r = verdict(
        &alice,
        &with("acdd72a7", &other, "alice@contoso.com"),
        &unread,
    );
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    assert!(
        r.reasons
            .iter()
            .any(|w| w.contains(&other) && w.contains("virtual network was not read")),
        "{r:?}"
    );
    unread.networks.unread.insert(vm(), "403 on rg-app".into());
    let r = verdict(
        &alice,
        &with("acdd72a7", &mine, "alice@contoso.com"),
        &unread,
    );
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    assert!(
        r.reasons.iter().any(|w| w.ends_with("403 on rg-app")),
        "{r:?}"
    );
    // A role that could not cover it changes nothing: another person's, another subscription's
    // network, one granting no network read.
    let elsewhere = vnet(
        "99999999-2222-3333-4444-555555555555",
        "rg-net",
        "vnet-spoke",
    );
    for (role, scope, upn) in [
        ("acdd72a7", &mine, "bob@contoso.com"),
        ("acdd72a7", &elsewhere, "alice@contoso.com"),
        ("joiner", &mine, "alice@contoso.com"),
    ] {
        let r = verdict(&alice, &with(role, scope, upn), &unread);
        assert_eq!(
            (r.verdict, r.reasons.len()),
            (Verdict::None, 0),
            "{role} {scope}: {r:?}"
        );
    }
    // Reader at a resource group of its subscription: that group may hold the VM's network.
    let r = verdict(
        &alice,
        &with("acdd72a7", &group, "alice@contoso.com"),
        &unread,
    );
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    assert!(
        r.reasons
            .iter()
            .any(|w| w.contains(&group) && w.ends_with("403 on rg-app")),
        "{r:?}"
    );
    // A role covering it at the VM stands whatever the networks.
    let r = verdict(
        &alice,
        &with("acdd72a7", &vm(), "alice@contoso.com"),
        &unread,
    );
    assert_eq!(r.verdict, Verdict::Pim, "{r:?}");
    // Definitions kept before the network's read was known: the session waits (never none),
    // while the roles held at the VM are judged as kept.
    let mut old = read.clone();
    old.roles.get_mut(SUB).expect("listed").version = 1;
    let ev = with("acdd72a7", &mine, "alice@contoso.com");
    assert!(super::decide::awaits_definition(&alice, &ev, &old));
    assert!(!super::decide::awaits_definition(&alice, &ev, &read));
    let at_vm = with("acdd72a7", &vm(), "alice@contoso.com");
    assert_eq!(verdict(&alice, &at_vm, &old).verdict, Verdict::Pim);
    // Their list failing since: unknown, naming the failure.
    old.roles.get_mut(SUB).expect("listed").failed = Some((T, "throttled".into()));
    let r = verdict(&alice, &ev, &old);
    assert_eq!(r.verdict, Verdict::Unknown, "{r:?}");
    assert!(r.reasons.iter().any(|w| w.contains("throttled")), "{r:?}");
}

/// A session's person is matched by a name of the evidence in any of its forms, as the shared
/// rule compares them ([`crate::catalogue::person::forms`]: trimmed, in lower case, a guest's or
/// an outside account's address): the same answers whether a name is compared in place (plain
/// ASCII) or through its forms (a `#`, or not ASCII).
#[test]
fn a_person_is_matched_by_any_form_of_a_name() {
    use crate::catalogue::person::forms;
    let upns = [
        "alice@contoso.com",
        " Alice@Contoso.COM ",
        "alice@fabrikam.com",
        "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        "live.com#alice@outlook.com",
        "Åsa@contoso.com",
        "",
    ];
    let names = [
        "ALICE@contoso.com",
        "  alice@contoso.com",
        "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com",
        "ALICE@FABRIKAM.COM",
        "alice@outlook.com",
        "live.com#Alice@Outlook.com",
        "åsa@CONTOSO.com",
        "ÅSA@contoso.com",
        "bob@contoso.com",
        " ",
        "",
    ];
    for upn in upns {
        for name in names {
            let e = Evidence {
                names: vec!["someone@else.com".into(), name.into()],
                ..Evidence::default()
            };
            let mine = forms(upn);
            let want = !upn.trim().is_empty()
                && (e.names.iter().flat_map(|n| forms(n)))
                    .any(|n| !n.is_empty() && mine.contains(&n));
            let got = is_person(&e, &session(upn));
            assert_eq!(got, want, "{upn:?} and {name:?}");
        }
    }
    // The guest's and the outside account's forms meet their addresses.
    let guest = Evidence {
        names: vec!["alice@fabrikam.com".into()],
        ..Evidence::default()
    };
    let upn = "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com";
    assert!(is_person(&guest, &session(upn)));
    let outside = Evidence {
        names: vec!["live.com#alice@outlook.com".into()],
        ..Evidence::default()
    };
    assert!(is_person(&outside, &session("Alice@Outlook.com")));
}
