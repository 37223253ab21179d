use serde_json::json;

use super::*;

pub(super) const BASTION: &str = "/subscriptions/0000-1111/resourceGroups/rg-bastion/providers/Microsoft.Network/bastionHosts/bas-weu-01";

pub(super) fn sample() -> Notification {
    Notification::new(
        "session.unrecorded",
        "tunnel-1",
        "2025-03-14T09:42:17Z".into(),
        Severity::Warning,
        "Session without a recording".into(),
        json!({
            "recordingId": "2025-03-14~abc",
            "vm": "vm-app-01",
            "targetVm": "ignored-duplicate-label",
            "user": "alice",
            "userEmail": "alice@example.com",
            "clientIp": "203.0.113.7",
            "sessionStart": "2025-03-14T09:00:00Z",
            "contentLength": 1234,
            "nested": {"secretish": "x"},
            "unknownField": "dropped",
            "bastionResourceId": BASTION,
        }),
    )
}

#[test]
fn thin_by_default_pii_on_request() {
    let c = Content::of(&sample(), &ContentOptions::default());
    let keys: Vec<&str> = c.facts.iter().map(|f| f.key).collect();
    assert_eq!(
        keys,
        ["recordingId", "vm", "user", "sessionStart", "contentLength"]
    );
    assert_eq!(c.facts[4].value, "1234");
    let with = Content::of(
        &sample(),
        &ContentOptions {
            include_pii: true,
            ..Default::default()
        },
    );
    let values: Vec<&str> = with.facts.iter().map(|f| f.value.as_str()).collect();
    assert!(values.contains(&"alice@example.com") && values.contains(&"203.0.113.7"));
    assert_eq!(c.severity_word(), "warning");
}

#[test]
fn links_are_built_only_from_valid_inputs() {
    let opts = ContentOptions {
        catalogue_base_url: Some("https://f.example.net/api".into()),
        ..Default::default()
    };
    let c = Content::of(&sample(), &opts);
    assert_eq!(c.links.len(), 2);
    assert_eq!(
        c.links[0].url,
        format!("https://portal.azure.com/#@/resource{BASTION}/sessionRecordings")
    );
    assert_eq!(
        c.links[1].url,
        "https://f.example.net/api/recordings/2025-03-14%7Eabc"
    );
    assert!(
        Content::of(&sample(), &ContentOptions::default())
            .links
            .len()
            == 1,
        "no catalogue link without base"
    );
    for bad in [
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm",
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b/../../evil",
        "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Network/bastionHosts/b?x=https://evil",
        "https://evil.example.com",
    ] {
        let mut n = sample();
        n.data["bastionResourceId"] = json!(bad);
        assert!(
            Content::of(&n, &ContentOptions::default()).links.is_empty(),
            "{bad}"
        );
    }
}

#[test]
fn truncation_counts_characters() {
    assert_eq!(truncate("abc", 3), "abc");
    assert_eq!(truncate("abcd", 3), "ab…");
    assert_eq!(truncate("ééééé", 4).chars().count(), 4);
    let mut n = sample();
    n.data["user"] = json!("x".repeat(10_000));
    n.data = json!(n.data);
    assert_eq!(
        Content::of(&n, &ContentOptions::default()).facts[2]
            .value
            .chars()
            .count(),
        MAX_FACT_CHARS
    );
    let odd = Notification {
        data: json!(["not", "an", "object"]),
        ..sample()
    };
    assert!(
        Content::of(&odd, &ContentOptions::default())
            .facts
            .is_empty()
    );
}
