//! Which scopes one kind is listed in: a group on its own, unless its subscription is granted
//! (a `BYPASS_SCOPES` entry) and more than `GROUPS_PER_SUBSCRIPTION` of its groups are asked;
//! a refused subscription list; and the requests of whole passes over a fake Resource Manager
//! (`network_fake.rs`) that grants the reads on resource groups only.

use std::collections::BTreeSet;

use super::{GROUPS_PER_SUBSCRIPTION, plan};

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
    let fake = super::fake::Fake::groups_only(5);
    let arm: std::sync::Arc<dyn crate::arm::ResourceManager> = std::sync::Arc::new(fake.clone());
    let watched = fake.watched(&[]);
    for tick in 0..2 {
        fake.asked.lock().expect("asked").clear();
        let net = super::read(&arm, &[super::fake::HOST.to_owned()], &watched).await;
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
            let ev = super::super::netdoors::evaluate(vm, &net, &[]).expect("decided");
            assert!(ev.assessed.contains("door:network-path"), "{vm}");
        }
    }
}

/// A watched VM whose NIC lies in a group no list reads: one VM GET and one NIC GET decide its
/// doors (its public IP found, its subnet's NSG read through the same lists as the others').
#[tokio::test]
async fn a_nic_in_an_unlisted_group_is_read_through_its_vm() {
    let fake = super::fake::Fake::groups_only(2);
    let far = fake.nic_elsewhere(0, "rg-far", Some("pip-far"));
    let arm: std::sync::Arc<dyn crate::arm::ResourceManager> = std::sync::Arc::new(fake.clone());
    let watched = fake.watched(&[]);
    let net = super::read(&arm, &[super::fake::HOST.to_owned()], &watched).await;
    let asked = fake.asked.lock().expect("asked").clone();
    assert!(net.failed.is_empty(), "{:?}", net.failed);
    assert!(net.nics.iter().any(|n| n.id == far), "{:?}", net.nics);
    let gets: Vec<&String> = asked.iter().filter(|a| a.starts_with("get ")).collect();
    assert_eq!(gets.len(), 2, "one VM GET and one NIC GET: {asked:?}");
    let vm = fake.vm(0);
    let ev = super::super::netdoors::evaluate(&vm, &net, &[]).expect("decided");
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
    let fake = super::fake::Fake::groups_only(1);
    let far = fake.nic_elsewhere(0, "rg-far", None);
    fake.failing
        .lock()
        .expect("failing")
        .push(far.to_ascii_lowercase());
    let arm: std::sync::Arc<dyn crate::arm::ResourceManager> = std::sync::Arc::new(fake.clone());
    let net = super::read(&arm, &[super::fake::HOST.to_owned()], &fake.watched(&[])).await;
    assert!(net.nics.is_empty(), "{:?}", net.nics);
    assert_eq!(net.failed.len(), 1, "{:?}", net.failed);
    assert!(super::super::netdoors::evaluate(&fake.vm(0), &net, &[]).is_none());
}
