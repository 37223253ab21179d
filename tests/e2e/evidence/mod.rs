//! The evidence pack end to end on Azurite, through the real `handler`: a month seeded by the real
//! pipeline (the audit-log sample tailed, Alice's recording catalogued, a hostile session, a failed
//! login), one detail read (an access-audit row); then `GET /api/evidence` and `handler evidence`
//! both produce packs that `handler evidence verify` accepts, whose CSV files are byte for byte the
//! API's CSV exports of the month and whose figures equal the API's counts; and flipping one byte
//! of any file of the pack, or of the manifest, makes `verify` fail naming it. The `EvidencePack`
//! timer writes the previous month once into container `evidence` (its commit naming the folder),
//! that pack verifies, a second run is Skipped, and Azurite refuses to replace a pack's blob.

mod approval;
mod doors;
mod duties;
mod figures;
mod limits;
mod reach;
mod report;
mod signer;
mod words;

use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::audit_logs::support::Env;
use crate::catalogue_sessions::{http, seed_in_march_2025 as seed};
use crate::harness::{self, AzuriteEnv, HandlerProcess};
use bastion_recordings::storage::{BlobRef, Upload};

const MONTH: &str = "from=2025-03-01&to=2025-03-31";
/// base64 of the seed [7; 32].
pub(crate) const KEY: &str = "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

async fn start() -> Option<Env> {
    let cs = harness::azurite()?;
    let mut env = AzuriteEnv::new(&cs);
    env.vars
        .insert("EVIDENCE_SIGNING_KEY".to_owned(), KEY.to_owned());
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    Some(Env::with(&cs, env, handler))
}

pub(crate) fn cli(e: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args(args)
        .env_clear()
        .envs(e.env.vars.iter())
        .env("PATH", "/nonexistent")
        .output()
        .expect("run handler");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

async fn get(e: &Env, path: &str) -> String {
    let (s, body, _) = http(&e.handler, reqwest::Method::GET, path, None, &[]).await;
    assert_eq!(s, 200, "{path}: {body}");
    body
}

async fn count(e: &Env, route: &str, filter: &str) -> u64 {
    let body = get(
        e,
        &format!("/api/{route}?{MONTH}&limit=1000&code=k{filter}"),
    )
    .await;
    let v: Value = serde_json::from_str(&body).expect("json");
    assert!(v["continuation"].is_null(), "one page holds the month");
    v["count"].as_u64().expect("count")
}

pub(crate) fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(harness::unique(name))
}

pub(crate) fn unzip(bytes: Vec<u8>, dir: &Path) {
    std::fs::create_dir_all(dir).expect("dir");
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a zip");
    for i in 0..z.len() {
        let mut f = z.by_index(i).expect("entry");
        let mut content = Vec::new();
        f.read_to_end(&mut content).expect("read");
        std::fs::write(dir.join(f.name()), content).expect("write");
    }
}

#[tokio::test]
async fn a_seeded_month_reconciles_with_the_api_and_verifies() {
    let Some(e) = start().await else { return };
    let recording = seed(&e).await;
    get(&e, &format!("/api/recordings/{recording}?code=k")).await;
    let review = serde_json::json!({"recording": recording, "verdict": "follow-up", "comment": "=1+1, <b>x</b>"});
    let (s, text, _) = http(
        &e.handler,
        reqwest::Method::POST,
        "/api/reviews?code=k",
        Some(&review),
        &[],
    )
    .await;
    assert_eq!(s, 201, "{text}");

    // The API's pack.
    let res = reqwest::get(e.handler.url(&format!("/api/evidence?{MONTH}&code=k")))
        .await
        .expect("request");
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let api_dir = temp("evidence-api");
    unzip(res.bytes().await.expect("body").to_vec(), &api_dir);
    let (code, out, err) = cli(
        &e,
        &["evidence", "verify", api_dir.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(0), "{out}{err}");

    // The command's pack (no Chromium on its PATH: the manifest says so).
    let dir = temp("evidence-cli");
    let d = dir.to_str().expect("utf-8");
    let (code, out, err) = cli(
        &e,
        &[
            "evidence",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--out",
            d,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = cli(&e, &["evidence", "verify", d]);
    assert_eq!(code, Some(0), "{out}{err}");
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).expect("manifest"))
            .expect("json");
    assert!(
        manifest["notes"].to_string().contains("report.pdf"),
        "{}",
        manifest["notes"]
    );
    let (_, public, _) = cli(&e, &["evidence", "public-key"]);
    assert_eq!(manifest["publicKey"].as_str(), public.lines().next());

    // The files are the API's CSV exports of the month, in both packs.
    for (file, route) in [
        ("sessions.csv", "sessions"),
        ("recordings.csv", "recordings"),
    ] {
        let api = get(
            &e,
            &format!("/api/{route}?{MONTH}&limit=1000&format=csv&code=k"),
        )
        .await;
        for d in [&dir, &api_dir] {
            let pack = std::fs::read_to_string(d.join(file)).expect(file);
            assert_eq!(pack, api, "{file} differs from GET /api/{route} CSV");
        }
    }
    // Accesses count by when they happened: the detail read of today is in today's pack only.
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let today_dir = temp("evidence-today");
    let t = today_dir.to_str().expect("utf-8");
    let (code, out, err) = cli(
        &e,
        &["evidence", "--from", &today, "--to", &today, "--out", t],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let audit = std::fs::read_to_string(today_dir.join("accessaudit.csv")).expect("audit");
    assert!(
        audit.contains(&recording) && audit.contains("function-key caller"),
        "{audit}"
    );
    let _ = std::fs::remove_dir_all(&today_dir);

    // Every figure equals the API's count for the month, in total and per Bastion host.
    let figures = &manifest["figures"];
    let total = &figures["total"];
    assert!(
        total["sessions"].as_u64().expect("sessions") >= 3,
        "{total}"
    );
    for (key, filter) in [
        ("sessions", ""),
        ("recorded", "&status=recorded"),
        ("unrecorded", "&status=unrecorded"),
        ("failedLogins", "&status=failed-login"),
    ] {
        assert_eq!(
            total[key].as_u64(),
            Some(count(&e, "sessions", filter).await),
            "{key}"
        );
    }
    assert_eq!(
        total["recordings"].as_u64(),
        Some(count(&e, "recordings", "").await)
    );
    let hosts = figures["hosts"].as_object().expect("hosts");
    assert!(!hosts.is_empty());
    for (host, f) in hosts {
        let q = format!("&bastion={}", urlencode(host));
        assert_eq!(
            f["sessions"].as_u64(),
            Some(count(&e, "sessions", &q).await),
            "{host}"
        );
        if f["recordings"].as_u64().unwrap_or(0) > 0 {
            assert_eq!(
                f["recordings"].as_u64(),
                Some(count(&e, "recordings", &q).await),
                "{host}"
            );
        }
    }
    let holds: Value = serde_json::from_str(&get(&e, "/api/holds?code=k").await).expect("json");
    assert_eq!(figures["holdsActive"], holds["count"]);

    // One byte flipped in any file, or in the manifest: verify fails and names it.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    for name in names {
        let path = dir.join(&name);
        let original = std::fs::read(&path).expect("read");
        let mut flipped = original.clone();
        let at = original.len() / 2;
        flipped[at] ^= 0x20;
        std::fs::write(&path, &flipped).expect("write");
        let (code, _, err) = cli(&e, &["evidence", "verify", d]);
        assert_eq!(code, Some(1), "{name} flipped still verifies: {err}");
        let named = if name == "manifest.json" {
            "manifest.sig"
        } else {
            name.as_str()
        };
        assert!(err.contains(&format!("MISMATCH {named}")), "{name}: {err}");
        std::fs::write(&path, &original).expect("restore");
    }
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_dir_all(&api_dir);
}

fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn pack_invocation(now: &str) -> Value {
    let mut inv = harness::fixture("invocations/timer.invocation.json");
    inv["Metadata"]["sys"]["MethodName"] = serde_json::json!("EvidencePack");
    inv["Metadata"]["sys"]["UtcNow"] = serde_json::json!(now);
    inv
}

#[tokio::test]
async fn the_timer_writes_last_month_once_into_the_evidence_container() {
    let Some(e) = start().await else { return };
    // The container is the product's fixed one: clear an earlier run's March on this Azurite.
    let earlier = e
        .blobs
        .list("evidence", Some("2025-03/"), None)
        .await
        .expect("list");
    for b in earlier.items {
        let blob = bastion_recordings::storage::BlobRef::new("evidence", b.name);
        e.blobs
            .delete_guarded(&blob, None, None)
            .await
            .expect("delete");
    }
    seed(&e).await;
    let (s, reply) = e
        .handler
        .invoke("EvidencePack", &pack_invocation("2025-04-01T04:00:00Z"))
        .await;
    assert_eq!(s, 200, "{reply}");
    assert!(
        reply.to_string().contains("evidence pack of 2025-03"),
        "{reply}"
    );
    let page = e
        .blobs
        .list("evidence", Some("2025-03/"), None)
        .await
        .expect("list");
    // The month's commit names the folder of its pack.
    let commit = BlobRef::new("evidence", "2025-03/pack.json");
    let pointer: Value = serde_json::from_slice(
        &e.blobs
            .read_range(&commit, 0, 1 << 20)
            .await
            .expect("the commit"),
    )
    .expect("json");
    let folder = pointer["folder"].as_str().expect("folder").to_owned();
    let dir = temp("evidence-timer");
    std::fs::create_dir_all(&dir).expect("dir");
    for b in page.items.iter().filter(|b| b.name.starts_with(&folder)) {
        let blob = bastion_recordings::storage::BlobRef::new("evidence", b.name.clone());
        let bytes = e.blobs.read_range(&blob, 0, 64 << 20).await.expect("read");
        let name = b.name.rsplit('/').next().expect("name");
        std::fs::write(dir.join(name), &bytes).expect("write");
    }
    assert!(
        page.items.len() >= 10,
        "{:?}",
        page.items.iter().map(|b| &b.name).collect::<Vec<_>>()
    );
    let (code, out, err) = cli(&e, &["evidence", "verify", dir.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{out}{err}");
    let sessions = std::fs::read_to_string(dir.join("sessions.csv")).expect("sessions");
    let rows = csv::Reader::from_reader(sessions.as_bytes())
        .records()
        .count();
    assert_eq!(rows, 4, "the month's four sessions: {sessions}");
    // The same month again: nothing new is written.
    let (s, again) = e
        .handler
        .invoke("EvidencePack", &pack_invocation("2025-04-01T05:00:00Z"))
        .await;
    assert_eq!(s, 200, "{again}");
    let after = e
        .blobs
        .list("evidence", Some("2025-03/"), None)
        .await
        .expect("list");
    assert_eq!(after.items.len(), page.items.len(), "{again}");
    assert!(again.to_string().contains("exists"), "Skipped: {again}");
    // On Azurite too, a pack's blob is never replaced: If-None-Match: * is refused.
    let sig = BlobRef::new("evidence", format!("{folder}manifest.sig"));
    let stored = e.blobs.read_range(&sig, 0, 1 << 20).await.expect("sig");
    let refused = e
        .blobs
        .upload(
            &sig,
            Upload {
                body: bytes::Bytes::from_static(b"forged"),
                content_type: "x",
                metadata: &Default::default(),
                only_new: true,
            },
        )
        .await;
    assert!(
        matches!(
            refused,
            Err(bastion_recordings::azure::AzureError::Conflict)
        ),
        "{refused:?}"
    );
    assert_eq!(
        e.blobs.read_range(&sig, 0, 1 << 20).await.expect("sig"),
        stored
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The report of a seeded month in headless Chromium (`TEST_UI=1`): no console error, no script,
/// nothing fetched; the screenshot is kept in target/ui/evidence.png.
#[tokio::test]
async fn the_report_renders_in_headless_chromium() {
    if std::env::var("TEST_UI").ok().as_deref() != Some("1") {
        eprintln!(
            "skipping: TEST_UI is not 1 (scripts/test.sh runs scripts/browser.sh and sets it)"
        );
        return;
    }
    let Some(e) = start().await else { return };
    seed(&e).await;
    let dir = temp("evidence-ui");
    let d = dir.to_str().expect("utf-8");
    let (code, out, err) = cli(
        &e,
        &[
            "evidence",
            "--from",
            "2025-03-01",
            "--to",
            "2025-03-31",
            "--out",
            d,
        ],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let root = env!("CARGO_MANIFEST_DIR");
    let run = tokio::process::Command::new("node")
        .arg(format!("{root}/tests/ui/evidence.mjs"))
        .arg(dir.join("report.html"))
        .arg(format!("{root}/target/ui/evidence.png"))
        .current_dir(format!("{root}/tests/ui"))
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(120), run)
        .await
        .expect("browser test finished in time")
        .expect("node runs (scripts/browser.sh)");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(
        out.status.success() && stdout.contains("evidence ui: ok"),
        "{stdout}\n{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
