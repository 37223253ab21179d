//! The estate check records each host's recording identity and judges the writes waiting for it
//! again once per watched container, not once per host.

use serde_json::json;
use time::macros::datetime;

use super::Canned;
use crate::catalogue::identity;

const PRINCIPAL: &str = "0b5e0000-0000-4000-8000-000000000001";

#[tokio::test]
async fn three_hosts_on_one_container_cost_one_listing_query_per_check() {
    let f = crate::testkit::fakes();
    let ports = &f.state.ports;
    // Every host records into the watched container with its system-assigned identity.
    let arm = Canned {
        host: Some(json!({
            "identity": {"type": "SystemAssigned", "principalId": PRINCIPAL},
            "properties": {"enableSessionRecording": true, "sessionRecordingConfiguration": {
                "blobContainerUri": "https://acct.blob.core.windows.net/recordings",
                "identity": {"type": "SystemAssigned"}}}
        })),
        ..Canned::default()
    };
    let hosts: Vec<String> = (1..=3)
        .map(|i| {
            format!(
                "/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/bastionHosts/b{i}"
            )
        })
        .collect();
    let window = crate::estate::trail::Window {
        silence: time::Duration::hours(24),
        wait: time::Duration::minutes(120),
    };
    let sinks = crate::estate::check::sinks(ports, &[], None);
    let now = datetime!(2025-03-14 10:00 UTC);
    let settings = crate::estate::settings::EstateSettings::of_hosts(hosts.clone());
    let before = f.tables.queries(crate::catalogue::rejudge::TABLE);
    crate::estate::check::run(ports, &arm, &settings, &sinks, window, now).await;
    assert_eq!(
        f.tables.queries(crate::catalogue::rejudge::TABLE) - before,
        1,
        "one listing query for the container, not one per host"
    );
    let observed = identity::of(f.tables.as_ref(), "acct", "recordings")
        .await
        .expect("identities");
    let at = observed.at(Some(now));
    assert_eq!(at.principals, [PRINCIPAL]);
    assert!(!at.unknown, "{at:?}");
    // A host dropped from the configuration stops counting from the next check on.
    let later = now + time::Duration::minutes(15);
    let two = settings_of(&hosts[..2]);
    crate::estate::check::run(ports, &arm, &two, &sinks, window, later).await;
    let observed = identity::of(f.tables.as_ref(), "acct", "recordings")
        .await
        .expect("identities");
    let after = observed.at(Some(later + time::Duration::minutes(5)));
    assert_eq!(
        after.unknown_hosts.len(),
        2,
        "b3 no longer writes here: {after:?}"
    );
}

fn settings_of(hosts: &[String]) -> crate::estate::settings::EstateSettings {
    crate::estate::settings::EstateSettings::of_hosts(hosts.to_vec())
}
