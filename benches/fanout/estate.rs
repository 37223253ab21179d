//! The bench's estate: `n` Bastion hosts spread over `--subscriptions` subscriptions (1; host `i`
//! in subscription `i % s`, the first being the fake's own), each recording into the one Azurite
//! account and sending its audit logs there, each with `--sessions` live sessions; the fake
//! Resource Manager's settings (`--latency-ms`, `--retry-after`, `--bucket`/`--refill`: one token
//! bucket per subscription), and the handler's settings.

use std::time::Duration;

use serde_json::json;

use crate::common::num;
use crate::fake_arm::{self, Bucket, Estate, SUB, account_id, host_id};

/// The Azurite account: it holds the recordings and the audit logs of every host.
pub(crate) const ACCOUNT: &str = "devstoreaccount1";

/// The container of the audit logs (`AUDITLOGS_SOURCES`).
pub(crate) const AUDIT_LOGS: &str = "auditlogs";

/// Subscription `k` of the estate (the fake's own for 0).
pub(crate) fn subscription(k: usize) -> String {
    if k == 0 {
        SUB.to_owned()
    } else {
        SUB.replacen("11111111", &format!("{k:08}"), 1)
    }
}

/// The subscriptions the hosts are spread over.
pub(crate) fn subscriptions() -> usize {
    num("--subscriptions", 1_usize).max(1)
}

/// Host `i`'s name.
pub(crate) fn name(i: usize) -> String {
    format!("bas-{i:04}")
}

/// Host `i`'s resource id, in its subscription.
pub(crate) fn host(i: usize) -> String {
    host_id(&name(i)).replace(SUB, &subscription(i % subscriptions()))
}

/// The subscription a unit names (`/subscriptions/{id}/…`, any case), or `""`.
pub(crate) fn subscription_of(unit: &str) -> String {
    let lower = unit.to_ascii_lowercase();
    lower
        .split_once("/subscriptions/")
        .and_then(|(_, rest)| rest.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

/// `n` healthy hosts, each with `--sessions` live sessions (1).
pub(crate) fn estate(n: usize) -> Estate {
    let mut e = Estate {
        latency: Duration::from_millis(num("--latency-ms", 100)),
        lro: fake_arm::lro::Lro::Network,
        lro_polls: 1,
        retry_after: num("--retry-after", 1),
        ..Estate::default()
    };
    let bucket: u32 = num("--bucket", 0);
    if bucket > 0 {
        e.bucket = Some(Bucket::new(bucket, num("--refill", 25)));
    }
    for i in 0..n {
        let (name, id) = (name(i), host(i));
        e.add_healthy(&name, ACCOUNT, "recordings", ACCOUNT);
        // Moved into its subscription, with its diagnostic settings.
        let at = host_id(&name).to_ascii_lowercase();
        let mut h = e.hosts.remove(&at).expect("host");
        h["id"] = json!(id);
        e.hosts.insert(id.to_ascii_lowercase(), h);
        let mut d = e.diagnostics.remove(&at).unwrap_or_default();
        for s in &mut d {
            s["id"] = json!(format!(
                "{id}/providers/microsoft.insights/diagnosticSettings/to-archive"
            ));
        }
        e.diagnostics.insert(id.to_ascii_lowercase(), d);
        let live = (0..num("--sessions", 1)).map(|k: usize| {
            json!({"sessionId": format!("s-{i}-{k}"),
            "startTime": "2026-11-25T12:00:00.0000Z", "resourceType": "VM",
            "targetHostName": "vm-app-01", "userName": "azureuser", "protocol": "SSH",
            "targetIpAddress": "10.10.1.4", "sessionDurationInMins": 1.0})
        });
        e.sessions.insert(id.to_ascii_lowercase(), live.collect());
    }
    e
}

/// The handler's settings: Azurite `cs` (through the proxy), `n` hosts, the fake at `arm`.
pub(crate) fn settings(cs: &str, n: usize, arm: &str) -> Vec<(String, String)> {
    let hosts: Vec<String> = (0..n).map(host).collect();
    [
        ("AzureWebJobsStorage", cs.to_owned()),
        (
            "RECORDINGS_SOURCES",
            "AzureWebJobsStorage:recordings".into(),
        ),
        (
            "AUDITLOGS_SOURCES",
            format!("AzureWebJobsStorage:{AUDIT_LOGS}"),
        ),
        ("RECORDINGS_ACCOUNT_IDS", account_id(ACCOUNT)),
        ("BASTION_HOSTS", hosts.join(",")),
        ("ARM_ENDPOINT", arm.to_owned()),
        ("CATALOGUE_AUTH", "none".into()),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".into()),
        ("TABLE_PREFIX", format!("f{n}")),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .to_vec()
}
