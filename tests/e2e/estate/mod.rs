//! The Bastion estate end to end: the real `handler` on Azurite, Resource Manager played by the
//! loopback fake ([`fake_arm`]). Each finding flipped on the fake opens with exactly one
//! `estate.finding` and clears with exactly one `estate.resolved` (an `info` one with none: shown,
//! not announced); a missing role is a finding
//! naming it; throttling is ridden out; two instances announce each episode once; the API and
//! `/api/health` show it.

mod authorization;
mod authorization_entra;
mod authorization_faults;
mod authorization_late;
mod authorization_membership;
mod authorization_retention;
mod authorization_sources;
mod authorized_pack;
mod busy;
pub(crate) mod doors;
mod enforce;
pub(crate) mod fake_arm;
mod fanout;
mod fanout_check;
mod fanout_doors;
mod fanout_pause;
mod fanout_twice;
mod identity;
mod live;
mod moved;
mod network_between;
pub(crate) mod network_doors;
mod network_reach;
mod protocol;
mod trail;

use futures::future::join_all;
use serde_json::{Value, json};

use self::fake_arm::{Bucket, Estate, FakeArm, account_id, host_id};
use crate::harness::{AzuriteEnv, HandlerProcess, azurite, fixture};

/// The Azurite account: it plays both the recording and the audit-log account.
const ACCOUNT: &str = "devstoreaccount1";

pub(crate) struct Rig {
    pub(crate) arm: FakeArm,
    pub(crate) env: AzuriteEnv,
    pub(crate) handler: HandlerProcess,
    tick: i64,
}

impl Rig {
    /// A handler watching host `b1` (its recording source names it) on a fake estate.
    pub(crate) async fn new(cs: &str, extra: &[(&str, &str)]) -> Self {
        let mut env = AzuriteEnv::new(cs);
        let container = env.recordings().to_owned();
        let mut estate = Estate::default();
        estate.add_healthy("b1", ACCOUNT, &container, ACCOUNT);
        // The subscription sends its Activity log to the workspace the other-doors tests read.
        estate.activity_log_to(fake_arm::SUB, doors::CUSTOMER);
        let arm = FakeArm::start(estate).await;
        let watched = watching(&container, ACCOUNT, &arm.url);
        let watched = watched.iter().map(|(k, v)| (*k, v.as_str()));
        for (k, v) in watched.chain(extra.iter().copied()) {
            env.vars.insert(k.to_owned(), v.to_owned());
        }
        let handler = HandlerProcess::spawn(&env.pairs()).await;
        Self {
            arm,
            env,
            handler,
            tick: 0,
        }
    }

    /// The next timer invocation of `function` (each a minute after the last).
    pub(crate) fn next_timer(&mut self, function: &str) -> Value {
        self.tick += 1;
        let mut inv = fixture("invocations/timer.invocation.json");
        let at = time::macros::datetime!(2026-11-25 12:00 UTC) + time::Duration::minutes(self.tick);
        inv["Metadata"]["sys"]["MethodName"] = json!(function);
        inv["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc_millis(at));
        inv
    }

    /// One `EstateCheck` tick: its notifications.
    pub(crate) async fn check(&mut self) -> Vec<Value> {
        let inv = self.next_timer("EstateCheck");
        let (status, body) = self.handler.invoke("EstateCheck", &inv).await;
        assert_eq!(status, 200, "{body}\n{}", self.handler.log_text());
        notifications(&body)
    }
}

/// Appends `lines` (audit records, a line each) to host `b1`'s hour blob `name` in the audit-log
/// container and announces the blob as Event Grid does (`AuditLogCreated` reads it).
pub(crate) async fn audit_lines_arrive(rig: &Rig, cs: &str, name: &str, lines: String) {
    audit_lines_arrive_at(rig, cs, name, lines, None).await;
}

/// [`audit_lines_arrive`], the event handled at `at` (the host's `UtcNow`; `None`: the fixture's).
pub(crate) async fn audit_lines_arrive_at(
    rig: &Rig,
    cs: &str,
    name: &str,
    lines: String,
    at: Option<&str>,
) {
    use bastion_recordings::storage::BlobStore as _;
    let conn = bastion_recordings::azure::connection::StorageConnection::resolve("T", &|k| {
        (k == "T").then(|| cs.to_owned())
    })
    .expect("parses")
    .expect("set");
    let blobs = bastion_recordings::storage::azure::AzureBlobStore::new(&conn).expect("blobs");
    let container = rig.env.audit_logs().to_owned();
    let blob = bastion_recordings::storage::BlobRef::new(container.clone(), name.to_owned());
    blobs
        .create_append(&blob, "application/json")
        .await
        .expect("create");
    blobs
        .append(&blob, bytes::Bytes::from(lines.into_bytes()))
        .await
        .expect("append");
    let file = "invocations/auditlog-created.invocation.json";
    let mut inv = crate::audit_logs::support::event_invocation(file, &container, name);
    if let Some(at) = at {
        inv["Metadata"]["sys"]["UtcNow"] = serde_json::json!(at);
    }
    let (status, body) = rig.handler.invoke("AuditLogCreated", &inv).await;
    assert_eq!(status, 200, "{body}");
}

/// The settings that make a handler watch host `b1`, recording into `container` of `account`,
/// through the fake Resource Manager at `arm`.
pub(crate) fn watching(container: &str, account: &str, arm: &str) -> [(&'static str, String); 4] {
    [
        (
            "RECORDINGS_SOURCES",
            format!("AzureWebJobsStorage:{container}@{}", host_id("b1")),
        ),
        ("RECORDINGS_ACCOUNT_IDS", account_id(account)),
        ("ARM_ENDPOINT", arm.to_owned()),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".to_owned()),
    ]
}

/// The `notifications` output of an invocation reply, as a list.
pub(crate) fn notifications(body: &Value) -> Vec<Value> {
    match &body["Outputs"]["notifications"] {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    }
}

/// `(type, finding, host)` of each of `ns` (notifications), sorted.
pub(crate) fn said(ns: &[Value]) -> Vec<(String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut out: Vec<_> = ns
        .iter()
        .map(|n| {
            (
                s(&n["type"]),
                s(&n["data"]["finding"]),
                s(&n["data"]["bastionHost"]),
            )
        })
        .collect();
    out.sort();
    out
}

type Flip = fn(&mut Estate, bool);

/// The findings of [`flips`] at level `info`: shown by the API, never announced.
const INFO: [&str; 2] = ["shareable-link-on", "ip-connect-on"];

/// Storage Blob Data Reader's role definition id.
const READER: &str = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1";

/// The recording target host `b1` is given: its recording container in the Azurite account.
fn target_uri(e: &Estate) -> String {
    let key = container_key(e);
    let container = key.rsplit('/').next().unwrap_or_default();
    format!("https://{ACCOUNT}.blob.core.windows.net/{container}")
}

fn container_key(e: &Estate) -> String {
    e.containers.keys().next().cloned().expect("container")
}

/// Each finding: its code and how to flip it on (`true`) and back (`false`).
fn flips() -> Vec<(&'static str, Flip)> {
    vec![
        ("sku-not-premium", |e, on| {
            e.host("b1")["sku"]["name"] = json!(if on { "Standard" } else { "Premium" })
        }),
        ("recording-off", |e, on| {
            e.host("b1")["properties"]["enableSessionRecording"] = json!(!on)
        }),
        ("native-client-on", |e, on| {
            e.host("b1")["properties"]["enableTunneling"] = json!(on)
        }),
        ("shareable-link-on", |e, on| {
            e.host("b1")["properties"]["enableShareableLink"] = json!(on)
        }),
        ("ip-connect-on", |e, on| {
            e.host("b1")["properties"]["enableIpConnect"] = json!(on)
        }),
        ("not-succeeded", |e, on| {
            e.host("b1")["properties"]["provisioningState"] =
                json!(if on { "Failed" } else { "Succeeded" })
        }),
        ("audit-logs-not-sent", |e, on| {
            let host = host_id("b1").to_ascii_lowercase();
            let d = e.diagnostics.get_mut(&host).expect("the host's settings");
            d[0]["properties"]["logs"][0]["enabled"] = json!(!on);
        }),
        ("container-versioning", |e, on| {
            let s = e.blob_services.values_mut().next().expect("svc");
            s["properties"]["isVersioningEnabled"] = json!(on);
        }),
        ("cors-missing", |e, on| {
            let s = e.blob_services.values_mut().next().expect("svc");
            s["properties"]["cors"]["corsRules"][0]["allowedMethods"] =
                json!(if on { vec!["PUT"] } else { vec!["GET"] });
        }),
        ("container-immutability", |e, on| {
            let k = container_key(e);
            e.containers.get_mut(&k).expect("c")["properties"]["hasImmutabilityPolicy"] = json!(on);
        }),
        ("recording-target-unwatched", |e, on| {
            let config = &mut e.host("b1")["properties"]["sessionRecordingConfiguration"];
            let uri = config["blobContainerUri"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            config["blobContainerUri"] = json!(if on {
                uri.replace(ACCOUNT, "stsomewhereelse")
            } else {
                uri.replace("stsomewhereelse", ACCOUNT)
            });
        }),
        ("recording-target-missing", |e, on| {
            let keep = target_uri(e);
            let config = &mut e.host("b1")["properties"]["sessionRecordingConfiguration"];
            config["blobContainerUri"] = if on { Value::Null } else { json!(keep) };
        }),
        ("recording-target-not-writable", |e, on| {
            let key = fake_arm::principal("b1");
            let roles = e.assignments.get_mut(&key).expect("assignments");
            for r in roles.iter_mut() {
                // Storage Blob Data Reader carries no blob write.
                r.1 = if on {
                    READER.to_owned()
                } else {
                    fake_arm::CONTRIBUTOR.to_owned()
                };
            }
            e.definitions.insert(
                READER.to_owned(),
                vec!["Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read".into()],
            );
        }),
        ("cors-missing", |e, on| {
            // Origins compare case-sensitively (the recording documentation says so).
            let s = e.blob_services.values_mut().next().expect("svc");
            let origin = s["properties"]["cors"]["corsRules"][0]["allowedOrigins"][0]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let flipped = if on {
                origin.replace("https://bst-", "https://BST-")
            } else {
                origin.replace("https://BST-", "https://bst-")
            };
            s["properties"]["cors"]["corsRules"][0]["allowedOrigins"] = json!([flipped]);
        }),
        ("check-failed:diagnostics", |e, on| {
            e.forbid = if on {
                vec!["/providers/Microsoft.Insights/diagnosticSettings".into()]
            } else {
                vec![]
            };
        }),
    ]
}

pub(crate) fn only(ns: &[Value], kind: &str, finding: &str) -> Value {
    assert_eq!(ns.len(), 1, "{kind} {finding}: {ns:?}");
    assert_eq!(ns[0]["type"], kind, "{ns:?}");
    assert_eq!(ns[0]["data"]["finding"], finding, "{ns:?}");
    assert_eq!(ns[0]["data"]["bastionHost"], "b1");
    ns[0].clone()
}

#[tokio::test]
async fn each_finding_opens_and_resolves_with_exactly_one_notification_each() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    assert_eq!(
        rig.check().await,
        Vec::<Value>::new(),
        "a healthy estate: nothing to say"
    );
    let (_, estate) = rig.handler.get_json("/api/estate").await;
    assert_eq!(estate["hosts"][0]["status"], "ok", "{estate}");
    assert_eq!(estate["checks"], "on");
    for (code, flip) in flips() {
        rig.arm.with(|e| flip(e, true));
        if INFO.contains(&code) {
            // Shown, never announced: it opens and clears in silence.
            assert!(rig.check().await.is_empty(), "{code}: info notifies nobody");
            let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
            assert_eq!(estate["items"][0]["finding"], code, "{estate}");
            assert_eq!(estate["items"][0]["severity"], "info", "{estate}");
            rig.arm.with(|e| flip(e, false));
            assert!(rig.check().await.is_empty(), "{code}: cleared in silence");
            continue;
        }
        let opened = only(&rig.check().await, "estate.finding", code);
        assert!(
            rig.check().await.is_empty(),
            "{code}: still open, nothing new"
        );
        let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
        assert_eq!(estate["items"][0]["finding"], code, "{estate}");
        let (_, health) = rig.handler.get_json("/api/health").await;
        let high = estate["items"][0]["severity"] == "high";
        assert_eq!(
            health["estate"]["high"].as_array().map(Vec::len),
            Some(usize::from(high)),
            "{health}"
        );
        if high {
            assert_eq!(health["status"], "degraded", "{health}");
        }
        rig.arm.with(|e| flip(e, false));
        let resolved = only(&rig.check().await, "estate.resolved", code);
        assert_eq!(resolved["data"]["firstSeen"], opened["data"]["firstSeen"]);
        assert_ne!(resolved["notificationId"], opened["notificationId"]);
        assert!(rig.check().await.is_empty(), "{code}: cleared, nothing new");
    }
    let (_, estate) = rig.handler.get_json("/api/estate?status=open").await;
    assert_eq!(estate["count"], 0, "{estate}");
}

#[tokio::test]
async fn a_missing_role_is_named_and_throttling_is_ridden_out() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    rig.arm.with(|e| e.forbid = vec!["/bastionHosts/b1".into()]);
    let n = only(&rig.check().await, "estate.finding", "check-failed:host");
    assert!(
        n["data"]["evidence"]
            .as_str()
            .is_some_and(|t| t.contains("missing role Reader")),
        "{n}"
    );
    rig.arm.with(|e| {
        e.forbid.clear();
        e.throttle = 2;
    });
    only(&rig.check().await, "estate.resolved", "check-failed:host");
    let res = reqwest::Client::new()
        .get(rig.handler.url("/api/estate"))
        .header("accept", "text/csv")
        .send()
        .await
        .expect("csv");
    let text = res.text().await.expect("body");
    assert!(
        text.starts_with("host,hostName,finding,severity,status"),
        "{text}"
    );
    assert!(text.contains(",check-failed:host,high,resolved,"), "{text}");
}

/// The fake refuses the subscription's account list (the app holds read on its recording accounts
/// only), so a check that listed would show `check-failed`; it reads the configured ids instead.
#[tokio::test]
async fn the_recording_account_is_read_by_its_configured_id_never_listed() {
    let Some(cs) = azurite() else { return };
    let listed = |rig: &Rig| {
        rig.arm.with(|e| {
            e.requests
                .iter()
                .filter(|r| {
                    r.to_ascii_lowercase()
                        .ends_with("/providers/microsoft.storage/storageaccounts")
                })
                .count()
        })
    };
    let mut rig = Rig::new(&cs, &[]).await;
    assert_eq!(
        rig.check().await,
        Vec::<Value>::new(),
        "healthy, nothing listed"
    );
    assert_eq!(listed(&rig), 0);
    let read = rig.arm.with(|e| {
        let account = fake_arm::account_id(ACCOUNT).to_ascii_lowercase();
        e.requests
            .iter()
            .filter(|r| r.to_ascii_lowercase().contains(&account))
            .count()
    });
    assert_eq!(
        read, 4,
        "the blob service, the container, and who may write the recording target (role assignments and their definition), at the account's own id"
    );

    // Without the id (a deployment that did not set it): one finding naming the setting, no list.
    let mut rig = Rig::new(&cs, &[("RECORDINGS_ACCOUNT_IDS", "")]).await;
    let n = only(
        &rig.check().await,
        "estate.finding",
        "recording-account-unknown",
    );
    let evidence = n["data"]["evidence"].as_str().unwrap_or_default();
    assert!(
        evidence.contains(ACCOUNT) && evidence.contains("RECORDINGS_ACCOUNT_IDS"),
        "{n}"
    );
    assert_eq!(listed(&rig), 0);
}

/// A bucket of 3 requests refilled at 1 a second: read 2 at a time regardless (as before pacing),
/// the blob service and container would find it empty (429); paced by the remaining counts the
/// answers report, the check waits for the refill instead and is never throttled (6 reads: the
/// host, its settings, the blob service, the container, the target's role assignments and role).
#[tokio::test]
async fn a_falling_remaining_count_slows_the_check_before_a_429() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    rig.arm.with(|e| e.bucket = Some(Bucket::new(3, 1)));
    assert_eq!(
        rig.check().await,
        Vec::<Value>::new(),
        "no finding, no check-failed"
    );
    let (requests, throttled) = rig.arm.with(|e| (e.requests.len(), e.throttled));
    assert_eq!((requests, throttled), (6, 0), "6 reads, none answered 429");
}

#[tokio::test]
async fn two_instances_open_each_finding_once() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs, &[]).await;
    let other = HandlerProcess::spawn(&rig.env.pairs()).await;
    rig.check().await;
    rig.arm.with(|e| {
        e.host("b1")["properties"]["enableTunneling"] = json!(true);
        e.host("b1")["properties"]["enableSessionRecording"] = json!(false);
    });
    let tick = rig.next_timer("EstateCheck");
    let replies = join_all([&rig.handler, &other].map(|h| h.invoke("EstateCheck", &tick))).await;
    let mut all: Vec<String> = Vec::new();
    for (status, body) in replies {
        assert_eq!(status, 200, "{body}");
        all.extend(
            notifications(&body)
                .iter()
                .map(|n| n["data"]["finding"].as_str().unwrap_or_default().to_owned()),
        );
    }
    all.sort();
    assert_eq!(all, ["native-client-on", "recording-off"]);
}

#[tokio::test]
async fn without_hosts_the_checks_are_off_and_say_so() {
    let Some(cs) = azurite() else { return };
    let env = AzuriteEnv::new(&cs);
    let h = HandlerProcess::spawn(&env.pairs()).await;
    let mut inv = fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = json!("EstateCheck");
    let (status, body) = h.invoke("EstateCheck", &inv).await;
    assert_eq!(status, 200);
    assert!(notifications(&body).is_empty());
    let (_, health) = h.get_json("/api/health").await;
    assert_eq!(health["estate"]["checks"], "off", "{health}");
    let (_, estate) = h.get_json("/api/estate").await;
    assert_eq!(
        (estate["checks"].as_str(), estate["count"].as_u64()),
        (Some("off"), Some(0))
    );
}
