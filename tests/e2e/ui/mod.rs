//! The timeline page in headless Chromium against the real handler on Azurite (`TEST_UI=1`, set by
//! scripts/test.sh after scripts/browser.sh): sessions of two Bastion hosts from audit-log lines
//! through `AuditLogCreated` + `AuditLogTail`, recordings through `RecordingCreated` from two
//! recording sources (one per host), then `node tests/ui/timeline.mjs` drives the page (filters
//! including `bastion`, paging, timeline kinds, VM lanes grouped per host, hostile values as text,
//! no script execution, CSP) and writes screenshots to target/ui/; [`reviewer`] walks the
//! reviewer's path by keyboard on the same data, [`demo`] on the demo's data, [`authorization`]
//! the sessions' verdicts, their filter and a session's authorization record.

mod authorization;
mod csrf;
mod demo;
mod estate;
mod reviewer;
mod seed;

use std::collections::BTreeSet;
use std::time::Duration;

use bastion_recordings::config::Config;
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::tables::rest::TableRestClient;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::harness::{AzuriteEnv, HandlerProcess, azurite, fixture};
use seed::{FORMULA_USER, HOSTILE_USER, Hub, Kind, NEU, SEEDS, WEU, at};

const KEY: &str = "test-function-key";

/// `datetime-local` text (UTC) of `t`.
fn local(t: OffsetDateTime) -> String {
    at(t, 0)[..16].to_owned()
}

/// The seeds of `hub` (all of them for `None`).
fn on(hub: Option<&Hub>) -> impl Iterator<Item = &'static seed::Seed> + '_ {
    SEEDS
        .iter()
        .filter(move |s| hub.is_none_or(|h| h.name == s.7.name))
}

/// What the page shows for the seeds of `hub`: host groups, `host/vm` lanes (hosts by name, VMs by
/// name within a host), timeline entries, recordings and the table's Bastion column (sorted).
fn view(hub: Option<&Hub>) -> Value {
    let hosts: BTreeSet<&str> = on(hub).map(|s| s.7.name).collect();
    let lanes: BTreeSet<(&str, String)> = on(hub)
        .map(|s| (s.7.name, s.2.to_ascii_lowercase()))
        .collect();
    let lanes: Vec<String> = lanes.iter().map(|(h, vm)| format!("{h}/{vm}")).collect();
    let recorded = || on(hub).filter(|s| s.6 == Kind::Recorded);
    let mut table_hosts: Vec<&str> = recorded().map(|s| s.7.name).collect();
    table_hosts.sort_unstable();
    json!({
        "hosts": hosts, "lanes": lanes, "entries": on(hub).count(),
        "recordings": recorded().count(), "tableHosts": table_hosts,
    })
}

/// What the page must show for the seeds.
fn expectations(now: OffsetDateTime) -> Value {
    let kinds = |k: Kind| SEEDS.iter().filter(|s| s.6 == k).count();
    let on_db = || SEEDS.iter().filter(|s| s.2 == "VM-DB-02");
    let mut db_kinds: Vec<&str> = on_db().map(|s| s.6.name()).collect();
    db_kinds.sort_unstable();
    json!({
        "key": KEY, "pageSize": 2,
        "from": local(now - time::Duration::hours(4)), "to": local(now + time::Duration::hours(1)),
        "tooWideFrom": local(now - time::Duration::days(60)),
        "recordings": kinds(Kind::Recorded),
        "kinds": {"recorded": kinds(Kind::Recorded), "unrecorded": kinds(Kind::Unrecorded), "failed": kinds(Kind::Failed)},
        "all": view(None),
        "hostileTable": [HOSTILE_USER], "hostileTimeline": [HOSTILE_USER, FORMULA_USER],
        "filter": {"user": "alice", "recordings": 1, "entries": 1},
        // Mixed case: VM names match case-insensitively.
        "vmFilter": {
            "vm": "Vm-Db-02", "protocol": "rdp", "kinds": db_kinds,
            "recordings": on_db().filter(|s| s.6 == Kind::Recorded).count(),
        },
        // By name in upper case, and by resource id (the page sends its name).
        "bastionFilters": [
            {"value": NEU.name.to_ascii_uppercase(), "sent": NEU.name, "view": view(Some(&NEU))},
            {"value": WEU.id, "sent": WEU.name, "view": view(Some(&WEU))},
        ],
        // Hosts the pipeline cannot produce (none, other spellings), served by the test itself.
        "hostless": fixture("ui/hostless.json"),
        // The unrecorded sessions are queued for review at least.
        "review": {"atLeast": kinds(Kind::Unrecorded)},
    })
}

/// The page's data seeded through the real pipeline on Azurite, the review queue ranked (an hour
/// on: unrecorded sessions are ended); `None` (test skipped) without `TEST_UI=1`. `extra` settings
/// are added to the handler's.
pub(crate) struct Seeded {
    pub(crate) handler: HandlerProcess,
    pub(crate) _env: AzuriteEnv,
    pub(crate) blobs: AzureBlobStore,
    pub(crate) tables: TableRestClient,
    pub(crate) containers: [String; 2],
    pub(crate) now: OffsetDateTime,
}

pub(crate) async fn seeded(extra: &[(&str, &str)]) -> Option<Seeded> {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!(
            "skipping: TEST_UI is not 1 (scripts/test.sh runs scripts/browser.sh and sets it)"
        );
        return None;
    }
    let cs = azurite().expect("TEST_UI=1 needs Azurite (TEST_AZURITE=1, as scripts/test.sh sets)");
    let mut env = AzuriteEnv::new(&cs);
    let containers = seed::recording_sources(&mut env);
    for (k, v) in extra {
        env.vars.insert((*k).to_owned(), (*v).to_owned());
    }
    let config = Config::from_lookup(&|k| env.vars.get(k).cloned()).expect("config");
    let app = &config.storage.app;
    let blobs = AzureBlobStore::new(app).expect("blobs");
    let tables = TableRestClient::new(app, &config.table_prefix).expect("tables");
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let now = OffsetDateTime::now_utc();
    seed::seed(&handler, &env, &blobs, &containers, now).await;
    Some(Seeded {
        handler,
        _env: env,
        blobs,
        tables,
        containers,
        now,
    })
}

impl Seeded {
    /// The access-audit rows of `action` (e.g. `recording.read`).
    pub(crate) async fn audited(&self, action: &str) -> Vec<bastion_recordings::tables::Entity> {
        use bastion_recordings::tables::TableStore as _;
        let rows = self.tables.query("accessaudit", None, None, None).await;
        let rows = rows.expect("audit").items.into_iter().map(|r| r.entity);
        rows.filter(|e| e["Action"] == action).collect()
    }
}

/// `ReviewQueue` at `at`.
pub(crate) async fn rank_queue(handler: &HandlerProcess, at: OffsetDateTime) {
    let mut tick = fixture("invocations/timer.invocation.json");
    tick["Metadata"]["sys"]["MethodName"] = json!("ReviewQueue");
    tick["Metadata"]["sys"]["UtcNow"] = json!(bastion_recordings::dates::format_utc(at));
    let (status, reply) = handler.invoke("ReviewQueue", &tick).await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn timeline_page_in_headless_chromium() {
    let Some(s) = seeded(&[]).await else { return };
    rank_queue(&s.handler, s.now + time::Duration::hours(1)).await;
    browser_check(&s.handler, "timeline", &expectations(s.now), "ui: ok", 180).await;
}

/// Runs `node tests/ui/<script>.mjs <handler> <expect.json> target/ui/<script>.png` and asserts
/// it exits 0 printing `ok_line` (the handler's log shown otherwise).
pub(crate) async fn browser_check(
    handler: &HandlerProcess,
    script: &str,
    expect: &Value,
    ok_line: &str,
    seconds: u64,
) {
    browser_check_as(handler, script, script, expect, ok_line, seconds).await;
}

/// [`browser_check`] of the app at `base` (a front end before `handler`).
pub(crate) async fn browser_check_at(
    base: &str,
    handler: &HandlerProcess,
    script: &str,
    expect: &Value,
    ok_line: &str,
    seconds: u64,
) {
    run_script(base, handler, script, script, expect, ok_line, seconds).await;
}

/// [`browser_check`] writing its files as `target/ui/<name>…` (a script run on other data).
pub(crate) async fn browser_check_as(
    handler: &HandlerProcess,
    script: &str,
    name: &str,
    expect: &Value,
    ok_line: &str,
    seconds: u64,
) {
    let base = format!("http://{}", handler.addr);
    run_script(&base, handler, script, name, expect, ok_line, seconds).await;
}

async fn run_script(
    base: &str,
    handler: &HandlerProcess,
    script: &str,
    name: &str,
    expect: &Value,
    ok_line: &str,
    seconds: u64,
) {
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = format!("{root}/target/ui");
    std::fs::create_dir_all(&dir).expect("target/ui");
    let expect_path = format!("{dir}/{name}-expect.json");
    std::fs::write(&expect_path, expect.to_string()).expect("expect.json");
    let run = tokio::process::Command::new("node")
        .arg(format!("{root}/tests/ui/{script}.mjs"))
        .arg(base)
        .arg(&expect_path)
        .arg(format!("{dir}/{name}.png"))
        .current_dir(format!("{root}/tests/ui"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(seconds), run)
        .await
        .expect("browser test finished in time")
        .expect("node runs (scripts/browser.sh)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains(ok_line),
        "browser test failed:\n{stdout}\n{stderr}\nhandler log:\n{}",
        handler.log_text()
    );
    println!("{stdout}");
}
