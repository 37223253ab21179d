use serde_json::json;

use super::content::*;
use super::*;
use crate::spine::{Notification, Severity};

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

/// A notification whose outside values are markdown, Slack markup and URLs.
pub(super) fn hostile() -> Notification {
    let mut n = sample();
    n.title = "Bastion session to [vm](https://evil.example) ended".into();
    n.data["user"] = json!("**root** [reset your password](https://evil.example/login)");
    n.data["vm"] = json!("_vm_ <https://evil.example|click> www.evil.example");
    n.data["blobName"] = json!("rec/`code` ~~x~~ # h\n- item <!channel>");
    n
}

#[test]
fn facts_a_responder_needs_are_shown() {
    let n = Notification::new(
        "recording.tampered",
        "r",
        "2025-03-14T09:42:17Z".into(),
        Severity::Critical,
        "t".into(),
        json!({"recordingId": "r", "account": "stweu", "bastionHost": "bas-weu-01",
            "expectedSha256": "aa", "actualSha256": "bb", "dryRun": true,
            "counts": {"deleted": 3, "held": 0, "failed": 1}, "items": [{"blob": "c/a"}, {"blob": "c/b"}]}),
    );
    let c = Content::of(&n, &ContentOptions::default());
    let shown: Vec<(&str, &str)> = c
        .facts
        .iter()
        .map(|f| (f.label, f.value.as_str()))
        .collect();
    for want in [
        ("Storage account", "stweu"),
        ("Bastion host", "bas-weu-01"),
        ("Expected SHA-256", "aa"),
        ("Actual SHA-256", "bb"),
        ("Dry run", "yes"),
        ("Counts", "deleted 3, failed 1"),
        ("Items", "blob c/a; blob c/b"),
    ] {
        assert!(shown.contains(&want), "{want:?} in {shown:?}");
    }
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
    assert_eq!(c.severity.as_str(), "warning");
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
        c.links[1].url,
        format!("https://portal.azure.com/#@/resource{BASTION}/sessionRecordings")
    );
    // The page's own parameters: the session's span, its VM and user, the unrecorded kind.
    assert_eq!(
        c.links[0].url,
        "https://f.example.net/api/ui?from=2025-03-14T09%3A00%3A00Z&to=2025-03-14T10%3A00%3A00Z\
         &vm=vm-app-01&user=alice&session=unrecorded"
    );
    assert!(
        Content::of(&sample(), &ContentOptions::default())
            .links
            .len()
            == 1,
        "no page link without base"
    );
    assert!(
        c.links.iter().all(|l| !l.url.contains("/recordings/")),
        "no JSON endpoint"
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
fn page_links_follow_each_subject() {
    let opts = |include_pii| ContentOptions {
        catalogue_base_url: Some("https://f.example.net/api".into()),
        include_pii,
    };
    let page = |kind: &str, data: serde_json::Value, include_pii| {
        let n = Notification::new(
            kind,
            "f",
            "2025-03-14T12:00:00Z".into(),
            Severity::Warning,
            "t".into(),
            data,
        );
        let c = Content::of(&n, &opts(include_pii));
        c.links
            .into_iter()
            .find(|l| l.key == "timeline")
            .map(|l| l.url)
    };
    let burst = json!({"windowStart": "2025-03-14T09:30:00Z", "windowEnd": "2025-03-14T09:40:00Z",
        "targetVm": "vm 1", "clientIp": "203.0.113.7"});
    let want = "https://f.example.net/api/ui?from=2025-03-14T09%3A30%3A00Z&to=2025-03-14T09%3A40%3A00Z&vm=vm+1";
    assert_eq!(
        page("login.failed.burst", burst.clone(), false),
        Some(format!("{want}&session=failed-login"))
    );
    assert_eq!(
        page("login.failed.burst", burst, true),
        Some(format!("{want}&ip=203.0.113.7&session=failed-login")),
        "the IP only where the card may show it"
    );
    assert_eq!(
        page("recordings.stalled", json!({"noRecordingSince": "2025-03-14T06:00:00Z", "bastionHost": "bas"}), false),
        Some("https://f.example.net/api/ui?from=2025-03-14T06%3A00%3A00Z&to=2025-03-14T12%3A00%3A00Z&bastion=bas".into())
    );
    assert_eq!(
        page("retention.deleted", json!({}), false),
        Some("https://f.example.net/api/ui?from=2025-03-14T11%3A00%3A00Z&to=2025-03-14T13%3A00%3A00Z&status=deleted".into())
    );
    let no_time = Notification {
        time: "not a time".into(),
        data: json!({}),
        ..sample()
    };
    assert!(
        Content::of(&no_time, &opts(false)).links.is_empty(),
        "no range, no page link"
    );
}

#[test]
fn truncation_counts_characters() {
    assert_eq!(crate::telemetry::truncate("abc", 3, CUT), "abc");
    assert_eq!(
        crate::telemetry::truncate("abcdefghij", 9, CUT),
        "abc…(cut)"
    );
    assert_eq!(
        crate::telemetry::truncate("ééééééééé", 8, CUT)
            .chars()
            .count(),
        8
    );
    let mut n = sample();
    n.data["user"] = json!("x".repeat(10_000));
    // Content keeps the whole value: only human renderers cut it.
    assert_eq!(
        Content::of(&n, &ContentOptions::default()).facts[2]
            .value
            .chars()
            .count(),
        10_000
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

/// A right-to-left override in a value reaches neither Teams nor Slack as itself (it is shown as
/// its code point), and the producers isolate the values they put in titles.
#[test]
fn directional_controls_are_shown_never_acting_in_cards() {
    let mut n = sample();
    n.title = format!(
        "Bastion session to {} ended without a recording",
        crate::telemetry::text::isolate("vm\u{202E}10-ppa")
    );
    n.data["user"] = json!("alice\u{202E}nimda");
    let c = Content::of(&n, &ContentOptions::default());
    for (client, body) in [
        ("teams", teams::render(&c).to_string()),
        ("slack", slack::render(&c).to_string()),
    ] {
        assert!(!body.contains('\u{202E}'), "{client}: {body}");
        assert!(body.contains("202E"), "{client} shows the control: {body}");
        assert!(
            body.contains('\u{2068}') && body.contains('\u{2069}'),
            "{client}: the title's value stays isolated: {body}"
        );
    }
    // Machine receivers get the data as sent.
    let hook = webhook::render(&c);
    assert_eq!(hook["data"]["user"], "alice\u{202E}nimda");
}
