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
