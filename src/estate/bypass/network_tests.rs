//! Which scopes one kind is listed in: a subscription's groups one by one up to
//! `GROUPS_PER_SUBSCRIPTION`, the subscription above it (its groups kept to fall back to).

use std::collections::BTreeSet;

use super::{GROUPS_PER_SUBSCRIPTION, plan};

fn group(sub: &str, g: usize) -> String {
    format!("/subscriptions/{sub}/resourcegroups/rg-{g}")
}

#[test]
fn many_groups_of_one_subscription_are_listed_as_the_subscription() {
    let few: BTreeSet<String> = (0..GROUPS_PER_SUBSCRIPTION)
        .map(|g| group("s1", g))
        .collect();
    let p = plan(&few);
    assert_eq!(p.len(), GROUPS_PER_SUBSCRIPTION);
    assert!(
        p.iter()
            .all(|(s, fallback)| few.contains(s) && fallback.is_empty())
    );

    let mut many: BTreeSet<String> = (0..500).map(|g| group("s1", g)).collect();
    many.insert(group("s2", 0));
    let p = plan(&many);
    assert_eq!(p.len(), 2, "{p:?}");
    assert_eq!(p[0].0, "/subscriptions/s1");
    assert_eq!(
        p[0].1.len(),
        500,
        "its groups, should the subscription list be refused"
    );
    assert_eq!(p[1], (group("s2", 0), Vec::new()));

    // A subscription scope already listed covers its groups.
    let mut with_sub = many.clone();
    with_sub.insert("/subscriptions/s1".to_owned());
    let p = plan(&with_sub);
    assert_eq!(p[0], ("/subscriptions/s1".to_owned(), Vec::new()));
    assert_eq!(p.len(), 2);
}

/// A subscription list refused (403, the grant covers groups only) falls back to its groups one
/// by one: every group's items are read, none left unread, and the requests count both.
#[tokio::test]
async fn a_refused_subscription_list_falls_back_to_its_groups() {
    use crate::azure::AzureError;
    let scopes: BTreeSet<String> = (0..=GROUPS_PER_SUBSCRIPTION)
        .map(|g| group("s1", g))
        .collect();
    let asked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = asked.clone();
    let mut net = super::Network::default();
    let items = super::lists(&mut net, scopes.clone(), move |scope: String| {
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
    assert!(net.failed.is_empty(), "{:?}", net.failed);
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
    let items = super::lists(&mut net, scopes.clone(), |_scope: String| {
        Box::pin(async { Err(AzureError::NotFound) })
            as futures::future::BoxFuture<'static, Result<Vec<String>, AzureError>>
    })
    .await;
    assert!(items.is_empty());
    assert_eq!(net.unread, scopes);
    assert_eq!(net.failed.len(), 1, "{:?}", net.failed);
}
