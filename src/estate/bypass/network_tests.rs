//! Which scopes one kind is listed in: a group on its own, unless its subscription is granted
//! (a `BYPASS_SCOPES` entry) and more than `GROUPS_PER_SUBSCRIPTION` of its groups are asked;
//! a refused subscription list; and the requests of whole passes over a fake Resource Manager
//! (`crate::testkit::arm`) that grants the reads on resource groups only.

use std::collections::BTreeSet;

use super::{GROUPS_PER_SUBSCRIPTION, plan};
use crate::estate::bypass::doors::Watched;
use crate::testkit::arm::{Fake, HOST};

fn group(sub: &str, g: usize) -> String {
    format!("/subscriptions/{sub}/resourcegroups/rg-{g}")
}

#[test]
fn only_a_granted_subscription_is_listed_whole() {
    let none = BTreeSet::new();
    let granted: BTreeSet<String> = ["/subscriptions/s1".to_owned()].into();
    let few: BTreeSet<String> = (0..GROUPS_PER_SUBSCRIPTION)
        .map(|g| group("s1", g))
        .collect();
    let p = plan(&few, &granted);
    assert_eq!(p.len(), GROUPS_PER_SUBSCRIPTION);
    assert!(
        p.iter()
            .all(|(s, fallback)| few.contains(s) && fallback.is_empty())
    );

    let mut many: BTreeSet<String> = (0..500).map(|g| group("s1", g)).collect();
    many.insert(group("s2", 0));
    let p = plan(&many, &granted);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].0, "/subscriptions/s1");
    assert_eq!(
        p[0].1.len(),
        500,
        "its groups, should the subscription list be refused"
    );
    assert_eq!(p[1], (group("s2", 0), Vec::new()));

    // Not granted (Reader on the groups only, as the deployment grants): each group, never the
    // subscription, however many.
    let p = plan(&many, &none);
    assert_eq!(p.len(), 501, "{:?}", &p[..3]);
    assert!(
        p.iter()
            .all(|(s, f)| s.contains("/resourcegroups/") && f.is_empty())
    );

    // A subscription scope covers its groups, granted or not.
    let mut with_sub = many.clone();
    with_sub.insert("/subscriptions/s1".to_owned());
    for g in [&granted, &none] {
        let p = plan(&with_sub, g);
        assert_eq!(p[0].0, "/subscriptions/s1");
        assert_eq!(p[0].1.len(), 500);
        assert_eq!(p.len(), 2);
    }
}

/// A granted subscription's list refused (403: the deployment's grant is missing) is said, and
/// falls back to its groups one by one: every group's items are read, none left unread, and the
/// requests count both.
#[tokio::test]
async fn a_refused_subscription_list_falls_back_to_its_groups() {
    use crate::azure::AzureError;
    let scopes: BTreeSet<String> = (0..=GROUPS_PER_SUBSCRIPTION)
        .map(|g| group("s1", g))
        .collect();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    let mut net = super::Network::default();
    let granted: BTreeSet<String> = ["/subscriptions/s1".to_owned()].into();
    let items = super::lists(&mut net, scopes.clone(), &granted, move |scope: String| {
        seen.lock().expect("lock").push(scope.clone());
        Box::pin(async move {
            if scope == "/subscriptions/s1" {
                Err(AzureError::Forbidden {
                    role: String::new(),
                })
            } else {
                Ok(vec![scope])
            }
        }) as futures::future::BoxFuture<'static, Result<Vec<String>, AzureError>>
    })
    .await;
    let got: BTreeSet<String> = items.into_iter().collect();
    assert_eq!(got, scopes, "each group read after the refusal");
    assert!(net.unread.is_empty(), "{:?}", net.unread);
    assert_eq!(
        net.failed.len(),
        1,
        "the missing grant said: {:?}",
        net.failed
    );
    assert_eq!(net.requests, 1 + scopes.len());
    let asked = asked.lock().expect("lock").clone();
    assert_eq!(
        asked[0], "/subscriptions/s1",
        "the subscription first: {asked:?}"
    );
}

/// A subscription list that fails otherwise (not a 403) leaves each of its groups unread, so no
/// door on them is cleared by a list that was never read.
#[tokio::test]
async fn a_failed_subscription_list_leaves_its_groups_unread() {
    use crate::azure::AzureError;
    let scopes: BTreeSet<String> = (0..=GROUPS_PER_SUBSCRIPTION)
        .map(|g| group("s1", g))
        .collect();
    let mut net = super::Network::default();
    let granted: BTreeSet<String> = ["/subscriptions/s1".to_owned()].into();
    let items = super::lists(&mut net, scopes.clone(), &granted, |_scope: String| {
        Box::pin(async { Err(AzureError::NotFound) })
            as futures::future::BoxFuture<'static, Result<Vec<String>, AzureError>>
    })
    .await;
    assert!(items.is_empty());
    assert_eq!(net.unread, scopes);
    assert_eq!(net.failed.len(), 1, "{:?}", net.failed);
}

/// Five watched VMs in five groups of one subscription, Reader granted on the groups only (what
/// the deployment grants): every tick lists each group, never the subscription (whose list would
/// be refused before the groups are read, on every tick).
#[tokio::test]
async fn five_groups_granted_only_on_groups_are_listed_without_a_refused_request() {
    let fake = Fake::groups_only(5);
    let watched = watched(&fake, &[]);
    for tick in 0..2 {
        fake.asked.lock().expect("asked").clear();
        let net = read_fresh(&fake, &watched).await;
        let asked = fake.asked.lock().expect("asked").clone();
        assert!(
            asked.iter().all(|a| !a.contains("subscription-wide")),
            "tick {tick}: a subscription list asked: {asked:?}"
        );
        assert!(net.failed.is_empty(), "tick {tick}: {:?}", net.failed);
        let nic_lists = asked.iter().filter(|a| a.starts_with("nics ")).count();
        assert_eq!(nic_lists, 5, "tick {tick}: {asked:?}");
        // The host, 5 NIC lists, one virtual network and one NSG list.
        assert_eq!(asked.len(), 8, "tick {tick}: {asked:?}");
        assert_eq!(net.requests, 8);
        assert_eq!(net.nics.len(), 5);
        for vm in &watched.vms {
            let ev = super::super::netdoors::evaluate(
                vm,
                &net,
                &[],
                crate::estate::findings::Level::Medium,
            )
            .expect("decided");
            assert!(ev.assessed.contains("door:network-path"), "{vm}");
        }
    }
}

/// A watched VM whose NIC lies in a group no list reads: one VM GET and one NIC GET decide its
/// doors (its public IP found, its subnet's NSG read through the same lists as the others').
#[tokio::test]
async fn a_nic_in_an_unlisted_group_is_read_through_its_vm() {
    let fake = Fake::groups_only(2);
    let far = fake.nic_elsewhere(0, "rg-far", Some("pip-far"));
    let watched = watched(&fake, &[]);
    let net = read_fresh(&fake, &watched).await;
    let asked = fake.asked.lock().expect("asked").clone();
    assert!(net.failed.is_empty(), "{:?}", net.failed);
    assert!(net.nics.iter().any(|n| n.id == far), "{:?}", net.nics);
    let gets: Vec<&String> = asked.iter().filter(|a| a.starts_with("get ")).collect();
    assert_eq!(gets.len(), 2, "one VM GET and one NIC GET: {asked:?}");
    let vm = fake.vm(0);
    let ev =
        super::super::netdoors::evaluate(&vm, &net, &[], crate::estate::findings::Level::Medium)
            .expect("decided");
    assert!(ev.assessed.contains("door:network-path"));
    assert!(
        ev.findings.iter().any(|f| f.code == "door:public-ip"),
        "{ev:?}"
    );
    // The other VM's NIC was listed: no GET for it.
    assert!(!asked.iter().any(|a| a.contains(&fake.vm(1))), "{asked:?}");
}

/// A NIC GET that fails leaves its VM undecided (no NIC of it), named in the failures.
#[tokio::test]
async fn a_nic_get_that_fails_leaves_its_vm_undecided() {
    let fake = Fake::groups_only(1);
    let far = fake.nic_elsewhere(0, "rg-far", None);
    fake.failing
        .lock()
        .expect("failing")
        .push(far.to_ascii_lowercase());
    let net = read_fresh(&fake, &watched(&fake, &[])).await;
    assert!(net.nics.is_empty(), "{:?}", net.nics);
    assert_eq!(net.failed.len(), 1, "{:?}", net.failed);
    assert!(
        super::super::netdoors::evaluate(
            &fake.vm(0),
            &net,
            &[],
            crate::estate::findings::Level::Medium
        )
        .is_none()
    );
}

/// A failed read is a `check-failed:network` finding on each VM (and scope) whose doors it
/// leaves undecided, at the read's level (a refused list high, naming the role; a NIC GET that
/// failed transiently info, read again next check), and nowhere else: a VM decided in full has
/// it assessed and clear.
#[tokio::test]
async fn a_failed_read_is_said_on_what_it_leaves_undecided_and_nowhere_else() {
    use super::super::netdoors::{NETWORK_FAILED, evaluate, failed};
    use crate::estate::findings::Level;
    let now = time::macros::datetime!(2026-11-28 12:00 UTC);
    let fake = Fake::groups_only(3);
    fake.refused
        .lock()
        .expect("refused")
        .push("/subscriptions/s1/resourcegroups/rg-0".to_owned());
    let far = fake.nic_elsewhere(1, "rg-far", None);
    fake.failing
        .lock()
        .expect("failing")
        .push(far.to_ascii_lowercase());
    let scope = "/subscriptions/s1/resourcegroups/rg-0";
    let net = read_fresh(&fake, &watched(&fake, &[scope])).await;
    let finding = |id: &str| {
        let decided = evaluate(id, &net, &[], Level::Medium);
        let ev = failed(id, &net, decided.as_ref(), now);
        assert!(ev.assessed.contains(NETWORK_FAILED), "{id}: {ev:?}");
        assert!(ev.findings.len() <= 1, "{id}: {ev:?}");
        ev.findings.into_iter().next()
    };
    let refused = finding(&fake.vm(0)).expect("the refused list said on VM 0");
    assert_eq!(refused.level, Level::High);
    assert!(
        refused.evidence.contains("missing role Reader on")
            && refused.evidence.contains("rg-0")
            && refused.evidence.contains("public IP address"),
        "{}",
        refused.evidence
    );
    let transient = finding(&fake.vm(1)).expect("the failed NIC GET said on VM 1");
    assert_eq!(transient.level, Level::Info);
    assert!(
        transient.evidence.contains("the next check reads it again"),
        "{}",
        transient.evidence
    );
    assert_eq!(finding(&fake.vm(2)), None, "VM 2 was read in full");
    let on_scope = finding(scope).expect("said on the scope too");
    assert_eq!(on_scope.level, Level::High);
    assert_eq!(
        finding("/subscriptions/s1/resourcegroups/rg-9"),
        None,
        "a scope no failed read touches"
    );
}

/// The Bastion subnets not known (the host's read failed): door 4 of a VM whose NICs were read is
/// undecided, and the host's failure said on it; its public IP door is still decided.
#[tokio::test]
async fn a_host_not_read_is_said_on_the_path_doors_it_leaves_undecided() {
    use super::super::netdoors::{NETWORK_PATH, PUBLIC_IP, evaluate, failed};
    use crate::estate::findings::Level;
    let now = time::macros::datetime!(2026-11-28 12:00 UTC);
    let fake = Fake::groups_only(1);
    let mut net = read_fresh(&fake, &watched(&fake, &[])).await;
    let decided = evaluate(&fake.vm(0), &net, &[], Level::Medium).expect("decided");
    assert!(
        failed(&fake.vm(0), &net, Some(&decided), now)
            .findings
            .is_empty()
    );
    net.bastion = None;
    net.errors.push((
        HOST.to_owned(),
        crate::azure::AzureError::Forbidden {
            role: "Reader on the Bastion host".to_owned(),
        },
    ));
    let decided = evaluate(&fake.vm(0), &net, &[], Level::Medium).expect("decided");
    assert!(decided.assessed.contains(PUBLIC_IP));
    assert!(!decided.assessed.contains(NETWORK_PATH));
    let ev = failed(&fake.vm(0), &net, Some(&decided), now);
    assert_eq!(ev.findings.len(), 1, "{ev:?}");
    assert_eq!(ev.findings[0].level, Level::High);
    assert!(
        ev.findings[0].evidence.contains("bastionhosts/b1")
            && !ev.findings[0].evidence.contains("public IP address"),
        "{}",
        ev.findings[0].evidence
    );
}

/// One read of `fake`'s network for its host's `watched` VMs, nothing remembered.
async fn read_fresh(fake: &Fake, watched: &Watched) -> super::Network {
    let arm: std::sync::Arc<dyn crate::arm::ResourceManager> = std::sync::Arc::new(fake.clone());
    super::read(
        &arm,
        &[HOST.to_owned()],
        &Default::default(),
        watched,
        &Default::default(),
    )
    .await
}

/// One pass over `fake` with what `tables` remembers (and `rows` of the Activity log), at most
/// `cap` VMs read one by one; what it read remembered. The GETs it made, and the network.
async fn pass(
    fake: &Fake,
    tables: &crate::testkit::tables::memory::InMemoryTables,
    now: time::OffsetDateTime,
    rows: &[crate::activity::events::ActivityRow],
    cap: usize,
) -> (super::Network, Vec<String>) {
    use crate::estate::bypass::direct::{Memory, changed};
    use crate::estate::store;
    let arm: std::sync::Arc<dyn crate::arm::ResourceManager> = std::sync::Arc::new(fake.clone());
    let known = store::nics::remembered(tables).await.expect("remembered");
    let memory = Memory {
        changed: changed(rows, &known),
        known,
        cap,
        now,
    };
    fake.asked.lock().expect("asked").clear();
    let net = super::read(
        &arm,
        &[HOST.to_owned()],
        &Default::default(),
        &watched(fake, &[]),
        &memory,
    )
    .await;
    for r in &net.remember {
        store::put(tables, store::nics::entity(r))
            .await
            .expect("remembered");
    }
    let gets = fake
        .asked
        .lock()
        .expect("asked")
        .iter()
        .filter_map(|a| a.strip_prefix("get "))
        .map(str::to_owned)
        .collect();
    (net, gets)
}

fn decided(fake: &Fake, net: &super::Network, n: usize) -> Vec<usize> {
    (0..n)
        .filter(|i| {
            super::super::netdoors::evaluate(
                &fake.vm(*i),
                net,
                &[],
                crate::estate::findings::Level::Medium,
            )
            .is_some()
        })
        .collect()
}

fn has_public_ip(fake: &Fake, net: &super::Network, i: usize) -> bool {
    super::super::netdoors::evaluate(
        &fake.vm(i),
        net,
        &[],
        crate::estate::findings::Level::Medium,
    )
    .is_some_and(|ev| ev.findings.iter().any(|f| f.code == "door:public-ip"))
}

/// 16 VMs whose NICs lie in a group no list reads: the first pass reads each (a VM GET and a NIC
/// GET), later passes decide them from what table `estate` remembers and read only the
/// rotation's share (ceil(16 / 8) = 2 VMs); a NIC write in the Activity log has its VM read in
/// the next pass; a public IP attached with no Activity log row is seen within
/// `ROTATION_PASSES` passes.
#[tokio::test]
async fn remembered_nics_are_read_again_only_after_a_change_or_in_their_turn() {
    use crate::estate::bypass::direct::ROTATION_PASSES;
    const N: usize = 16;
    let fake = Fake::groups_only(N);
    let nic: Vec<String> = (0..N)
        .map(|i| fake.nic_elsewhere(i, "rg-far", None))
        .collect();
    let tables = crate::testkit::tables::memory::InMemoryTables::new();
    let tick =
        |t: i64| time::macros::datetime!(2026-11-25 12:00 UTC) + time::Duration::minutes(15 * t);

    let (net, gets) = pass(&fake, &tables, tick(0), &[], 200).await;
    assert_eq!(gets.len(), 2 * N, "a VM GET and a NIC GET each: {gets:?}");
    assert_eq!(decided(&fake, &net, N).len(), N);

    let (net, gets) = pass(&fake, &tables, tick(1), &[], 200).await;
    assert_eq!(gets.len(), 4, "the rotation's share only: {gets:?}");
    assert_eq!(net.remembered, N - 2);
    assert_eq!(decided(&fake, &net, N).len(), N, "{:?}", net.failed);

    // A public IP attached to VM 5's NIC, and its write in the Activity log: read next pass.
    fake.nic_elsewhere(5, "rg-far", Some("pip-new"));
    let write = crate::activity::events::ActivityRow {
        at: tick(2) - time::Duration::minutes(3),
        operation: "microsoft.network/networkinterfaces/write".into(),
        status: "Success".into(),
        caller: "mallory@contoso.com".into(),
        caller_ip: "203.0.113.9".into(),
        resource: nic[5].to_ascii_lowercase(),
        subscription: "s1".into(),
        correlation: "c1".into(),
        properties: serde_json::json!({}),
    };
    let (net, gets) = pass(&fake, &tables, tick(2), &[write], 200).await;
    assert!(gets.contains(&fake.vm(5)), "{gets:?}");
    assert!(has_public_ip(&fake, &net, 5));

    // A public IP attached to VM 9's NIC with no Activity log row: seen in its turn, and every
    // VM read again within ROTATION_PASSES passes.
    fake.nic_elsewhere(9, "rg-far", Some("pip-quiet"));
    let mut read_again = std::collections::BTreeSet::new();
    let mut seen_at = None;
    for t in 3..3 + i64::try_from(ROTATION_PASSES).unwrap_or(8) {
        let (net, gets) = pass(&fake, &tables, tick(t), &[], 200).await;
        read_again.extend((0..N).filter(|i| gets.contains(&fake.vm(*i))));
        assert!(
            gets.len() <= 2 * N.div_ceil(ROTATION_PASSES) * 2,
            "{gets:?}"
        );
        assert_eq!(decided(&fake, &net, N).len(), N);
        if seen_at.is_none() && has_public_ip(&fake, &net, 9) {
            seen_at = Some(t);
        }
    }
    assert!(
        seen_at.is_some(),
        "VM 9's public IP not seen within {ROTATION_PASSES} passes"
    );
    assert_eq!(read_again.len(), N, "each VM read again: {read_again:?}");
}

/// More VMs to read one by one than a pass's cap (8, cap 3, VM 0's NIC never readable): each
/// pass takes those never read, the one tried longest ago first, so the 7 readable VMs are all
/// decided within ceil(8 / 3) = 3 passes (in id order every pass, VMs 0–2 would be the only
/// ones ever tried).
#[tokio::test]
async fn beyond_the_cap_every_vm_is_decided_within_ceil_n_over_cap_passes() {
    const N: usize = 8;
    const CAP: usize = 3;
    let fake = Fake::groups_only(N);
    for i in 0..N {
        let id = fake.nic_elsewhere(i, "rg-far", None);
        if i == 0 {
            fake.failing
                .lock()
                .expect("failing")
                .push(id.to_ascii_lowercase());
        }
    }
    let tables = crate::testkit::tables::memory::InMemoryTables::new();
    let mut ever = std::collections::BTreeSet::new();
    for t in 0..N.div_ceil(CAP) {
        let now = time::macros::datetime!(2026-11-25 12:00 UTC)
            + time::Duration::minutes(15 * i64::try_from(t).unwrap_or(0));
        let (net, gets) = pass(&fake, &tables, now, &[], CAP).await;
        let vm_gets = gets
            .iter()
            .filter(|g| g.contains("virtualmachines"))
            .count();
        assert!(vm_gets <= CAP, "pass {t}: {gets:?}");
        let now_decided = decided(&fake, &net, N);
        assert!(
            ever.iter().all(|i| now_decided.contains(i)),
            "pass {t}: a VM decided before is undecided now: {now_decided:?} vs {ever:?}"
        );
        ever.extend(now_decided);
    }
    assert_eq!(
        ever,
        (1..N).collect(),
        "every readable VM decided within ceil({N}/{CAP}) passes"
    );
}

/// A just-in-time `initiate` row without a request body: its policy is read (`GET {policy}`, the
/// specification's GET example shape) and the request that started with the row names the VM
/// and the source; an older request of the policy is not the row's; a row with a body needs no
/// read.
#[tokio::test]
async fn a_jit_row_without_a_body_is_completed_from_its_policys_requests() {
    use crate::activity::events::{Event, JIT_INITIATE, Outcome};
    use crate::activity::jit;
    let fake = Fake::groups_only(2);
    let policy = "/subscriptions/s1/resourceGroups/rg-0/providers/Microsoft.Security/locations/westeurope/jitNetworkAccessPolicies/default";
    let port = |source: &str| {
        serde_json::json!({"number": 3389, "allowedSourceAddressPrefix": source,
            "endTimeUtc": "2026-11-25T13:00:00.0000000Z", "status": "Initiated",
            "statusReason": "UserRequested"})
    };
    fake.policies.lock().expect("policies").push(serde_json::json!({
        "kind": "Basic", "id": policy, "name": "default",
        "type": "Microsoft.Security/locations/jitNetworkAccessPolicies", "location": "westeurope",
        "properties": {"virtualMachines": [{"id": fake.vm(0), "ports": [{"number": 3389,
            "protocol": "*", "allowedSourceAddressPrefix": "*", "maxRequestAccessDuration": "PT3H"}]}],
            "requests": [
                {"virtualMachines": [{"id": fake.vm(0), "ports": [port("203.0.113.7")]}],
                    "startTimeUtc": "2026-11-25T12:01:10.5691611Z", "requestor": "grace@contoso.com",
                    "justification": "patching"},
                {"virtualMachines": [{"id": fake.vm(1), "ports": [port("198.51.100.1")]}],
                    "startTimeUtc": "2026-11-24T08:06:45.5691611Z", "requestor": "ops@contoso.com"}],
            "provisioningState": "Succeeded"}}));
    let event = |properties: serde_json::Value| Event {
        operation: JIT_INITIATE.to_owned(),
        resource: policy.to_ascii_lowercase(),
        correlation: "c".into(),
        outcome: Outcome::Succeeded,
        at: time::macros::datetime!(2026-11-25 12:01 UTC),
        caller: "grace@contoso.com".into(),
        caller_ip: "198.51.100.9".into(),
        properties,
        jit: None,
    };
    let arm: std::sync::Arc<dyn crate::arm::ResourceManager> = std::sync::Arc::new(fake.clone());
    let body = serde_json::json!({"virtualMachines": [{"id": fake.vm(1), "ports": [
        {"number": 22, "allowedSourceAddressPrefix": "10.0.0.4"}]}]});
    let mut events = vec![
        event(serde_json::json!({"statusCode": "Accepted"})),
        event(serde_json::json!({"requestBody": body.to_string()})),
    ];
    assert_eq!(jit::requests(&events[0]), None, "not tied before the read");
    let failed = jit::complete(&arm, &mut events).await;
    assert!(failed.is_empty(), "{failed:?}");
    let asked = fake.asked.lock().expect("asked").clone();
    assert_eq!(
        asked,
        [format!("get {}", policy.to_ascii_lowercase())],
        "one policy read"
    );
    let got = jit::requests(&events[0]).expect("completed");
    assert_eq!(got.len(), 1, "only the request of the row's time: {got:?}");
    assert_eq!(got[0].vm, fake.vm(0));
    assert_eq!(got[0].sources, ["203.0.113.7"]);
    // The row with a body (its key in another case) is read from the body, not the policy.
    let own = jit::requests(&events[1]).expect("body");
    assert_eq!(own[0].vm, fake.vm(1));
    assert_eq!(own[0].sources, ["10.0.0.4"]);
    assert_eq!(events[1].jit, None);
}

/// Every VM of `fake`, and `scopes`.
fn watched(fake: &Fake, scopes: &[&str]) -> Watched {
    Watched {
        vms: fake.vms().into_iter().collect(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
    }
}

/// A host whose own check read its Bastion subnets this period is not read again, and its
/// subnets decide the doors as the host's own answer would; a host with none kept is read.
#[tokio::test]
async fn a_host_whose_subnets_are_kept_is_not_read_again() {
    let fake = Fake::groups_only(2);
    let arm: std::sync::Arc<dyn crate::arm::ResourceManager> = std::sync::Arc::new(fake.clone());
    let w = watched(&fake, &[]);
    let hosts = [HOST.to_owned()];
    let read = super::read(&arm, &hosts, &Default::default(), &w, &Default::default()).await;
    let hosts_asked = |f: &Fake| {
        f.asked
            .lock()
            .expect("asked")
            .iter()
            .filter(|a| *a == "host")
            .count()
    };
    assert_eq!(hosts_asked(&fake), 1);
    assert!(read.bastion.is_some());
    let stored = [(HOST.to_owned(), read.bastion_subnets.clone())].into();
    fake.asked.lock().expect("asked").clear();
    let kept = super::read(&arm, &hosts, &stored, &w, &Default::default()).await;
    assert_eq!(hosts_asked(&fake), 0);
    assert_eq!(kept.requests, read.requests - 1);
    assert_eq!(kept.bastion, read.bastion);
    assert_eq!(decided(&fake, &kept, 2), decided(&fake, &read, 2));
}

/// What the read tells of each watched VM's virtual networks: those of its NICs' subnets when
/// its NICs were read, else why not (a refused list over it, its NIC's GET), never as having none.
#[tokio::test]
async fn each_vms_networks_are_its_nics_subnets_or_why_they_were_not_read() {
    let fake = Fake::groups_only(3);
    fake.refused
        .lock()
        .expect("refused")
        .push("/subscriptions/s1/resourcegroups/rg-0".to_owned());
    let far = fake.nic_elsewhere(1, "rg-far", None);
    fake.failing
        .lock()
        .expect("failing")
        .push(far.to_ascii_lowercase());
    let watched = watched(&fake, &[]);
    let net = read_fresh(&fake, &watched).await;
    let (of, unread) = net.vnets(&watched.vms);
    let vnet =
        "/subscriptions/s1/resourcegroups/rg-net/providers/microsoft.network/virtualnetworks/vnet";
    assert_eq!(of.keys().collect::<Vec<_>>(), [&fake.vm(2)], "{of:?}");
    assert_eq!(of[&fake.vm(2)], [vnet.to_owned()].into());
    assert_eq!(unread.len(), 2, "{unread:?}");
    assert!(unread[&fake.vm(0)].contains("rg-0"), "{unread:?}");
    // The NIC's GET failed: said on the VM that named it.
    assert!(
        unread[&fake.vm(1)].contains("refused by the test"),
        "{unread:?}"
    );
}
