//! Catalogue API, RecordingHash and the CLI end to end on Azurite: rows produced by real
//! `RecordingCreated` invocations, digests by real `RecordingHash` invocations fed with the
//! `hashRequests` output, then the API (paging across tokens, CSV escaping of a hostile blob name,
//! detail + access-audit row, authorization failures) and `handler catalogue export` / `verify`.

use bastion_recordings::config::{Config, Storage};
use bastion_recordings::storage::azure::AzureBlobStore;
use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bastion_recordings::tables::rest::TableRestClient;
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::{AzuriteEnv, HandlerProcess, azurite, fixture};

const HOSTILE: &str = "=HYPERLINK(\"http://evil\",\"x\"),+1@-.rec";

struct Rig {
    env: AzuriteEnv,
    config: Config,
    handler: HandlerProcess,
}

impl Rig {
    async fn new(cs: &str, extra: &[(&str, &str)]) -> Self {
        let env = AzuriteEnv::new(cs);
        let config = Config::from_lookup(&|k| env.vars.get(k).cloned()).expect("config");
        let mut pairs = env.pairs();
        pairs.extend_from_slice(extra);
        let handler = HandlerProcess::spawn(&pairs).await;
        Self {
            env,
            config,
            handler,
        }
    }

    fn conn(&self) -> &bastion_recordings::storage::connection::StorageConnection {
        let Storage::Connected { app, .. } = &self.config.storage else {
            panic!("connected")
        };
        app
    }

    fn blobs(&self) -> AzureBlobStore {
        AzureBlobStore::new(self.conn()).expect("blobs")
    }

    fn tables(&self) -> TableRestClient {
        TableRestClient::new(self.conn(), &self.config.table_prefix).expect("tables")
    }

    fn container(&self) -> String {
        self.env.get("RECORDINGS_CONTAINER").to_owned()
    }

    /// Uploads, catalogues through RecordingCreated, hashes through RecordingHash; returns the id.
    async fn record(&self, name: &str, body: &[u8]) -> String {
        let blob = BlobRef::new(self.container(), name);
        self.blobs()
            .put(
                &blob,
                Bytes::copy_from_slice(body),
                "application/octet-stream",
                &Metadata::new(),
            )
            .await
            .expect("upload");
        let mut inv = fixture("invocations/recording-created.invocation.json");
        let ev = &mut inv["Data"]["eventGridEvent"];
        // As Event Grid would send it: the event time is the upload time.
        let now = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .expect("now");
        ev["eventTime"] = json!(now);
        ev["topic"] = json!(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
        );
        ev["subject"] = json!(format!(
            "/blobServices/default/containers/{}/blobs/{name}",
            self.container()
        ));
        ev["data"]["url"] = json!(format!(
            "http://127.0.0.1:10000/devstoreaccount1/{}/{name}",
            self.container()
        ));
        let (s, out) = self.handler.invoke("RecordingCreated", &inv).await;
        assert_eq!(s, 200, "{out}");
        let req = out["Outputs"]["hashRequests"].clone();
        assert!(req.is_object(), "hash request emitted: {out}");
        let message = json!({"Data": {"message": serde_json::to_string(&req.to_string()).expect("json")},
            "Metadata": {"DequeueCount": 1, "sys": {"MethodName": "RecordingHash"}}});
        let (s, out) = self.handler.invoke("RecordingHash", &message).await;
        assert_eq!(s, 200, "{out}");
        assert!(
            out["Logs"][0]
                .as_str()
                .unwrap_or_default()
                .starts_with("hashed"),
            "{out}"
        );
        req["recordingId"].as_str().expect("id").to_owned()
    }

    async fn get(&self, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let mut rb = reqwest::Client::new().get(self.handler.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        let res = rb.send().await.expect("get");
        (res.status().as_u16(), res.text().await.expect("body"))
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
            .args(args)
            .env_clear()
            .envs(self.env.vars.iter())
            .output()
            .expect("run handler cli")
    }
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

#[tokio::test]
async fn api_pages_exports_audits_and_verifies_real_pipeline_rows() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[]).await;
    let mut ids = Vec::new();
    for (name, body) in [
        ("vm-a/1.rec", &b"first"[..]),
        ("vm-b/2.rec", b"second"),
        (HOSTILE, b"third"),
    ] {
        ids.push(rig.record(name, body).await);
    }
    // The digest landed in the row, next to the catalogue properties.
    let (pk, rk) = ids[0].split_once('~').expect("id");
    let row = rig
        .tables()
        .get("recordings", pk, rk)
        .await
        .expect("get")
        .expect("row")
        .entity;
    assert_eq!(row["Sha256"], hex::encode(Sha256::digest(b"first")));
    assert_eq!(row["HashedLength"], "5");
    assert_eq!(row["Status"], "catalogued");

    // Paging across continuation tokens, one row per page.
    let base = format!(
        "/api/recordings?from={0}&to={0}&limit=1&code=fnkey",
        today()
    );
    let (mut seen, mut token) = (Vec::new(), None::<String>);
    for _ in 0..10 {
        let path = token
            .as_ref()
            .map_or(base.clone(), |t| format!("{base}&continuation={t}"));
        let (s, body) = rig.get(&path, &[]).await;
        assert_eq!(s, 200, "{body}");
        let v: Value = serde_json::from_str(&body).expect("json");
        seen.extend(
            v["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|i| i["id"].as_str().expect("id").to_owned()),
        );
        match v["continuation"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(sorted, want, "every row exactly once across pages");

    // CSV: the hostile blob name is defused and quoted.
    let (s, csv) = rig
        .get(
            &format!("/api/recordings?from={0}&to={0}", today()),
            &[("accept", "text/csv")],
        )
        .await;
    assert_eq!(s, 200);
    assert!(
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\"),+1@-.rec\""),
        "{csv}"
    );

    // Detail read → one access-audit row.
    let (s, body) = rig
        .get(
            &format!("/api/recordings/{}", ids[1]),
            &[("x-forwarded-for", "203.0.113.5")],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    let audit = rig
        .tables()
        .query("accessaudit", None, None, None)
        .await
        .expect("audit")
        .items;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].entity["Target"], ids[1].as_str());
    assert_eq!(audit[0].entity["ClientIp"], "203.0.113.5");
    let (s, _) = rig
        .get("/api/recordings?from=2025-01-01&to=2025-12-31", &[])
        .await;
    assert_eq!(s, 400, "range too wide");
    let (s, body) = rig.get("/api/health", &[]).await;
    assert_eq!(s, 200, "{body}");

    // CLI export over the same code path.
    let out = rig.cli(&[
        "catalogue",
        "export",
        "--from",
        &today(),
        "--to",
        &today(),
        "--format",
        "csv",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.matches("\r\n").count(), 4, "header + 3 rows: {text}");

    // verify: clean, then tampered and missing.
    let out = rig.cli(&["verify", "--from", &today(), "--to", &today()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let blobs = rig.blobs();
    let b0 = BlobRef::new(rig.container(), "vm-a/1.rec");
    blobs
        .put(
            &b0,
            Bytes::from_static(b"FIRST"),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("tamper");
    let b1 = BlobRef::new(rig.container(), "vm-b/2.rec");
    let etag = blobs.properties(&b1).await.expect("props").etag;
    blobs.delete_if_match(&b1, &etag).await.expect("delete");
    let out = rig.cli(&["verify", "--from", &today(), "--to", &today()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("recording.tampered") && text.contains("recording.missing"),
        "{text}"
    );
}

#[tokio::test]
async fn principal_is_required_when_configured() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[("CATALOGUE_REQUIRE_PRINCIPAL", "true")]).await;
    let path = format!("/api/recordings?from={0}&to={0}", today());
    let (s, body) = rig.get(&path, &[]).await;
    assert_eq!(s, 401, "{body}");
    let enc = |roles: &[&str]| {
        use base64::Engine as _;
        let claims: Vec<Value> = roles
            .iter()
            .map(|r| json!({"typ": "roles", "val": r}))
            .collect();
        base64::engine::general_purpose::STANDARD.encode(json!({"claims": claims}).to_string())
    };
    let (s, _) = rig
        .get(&path, &[("x-ms-client-principal", &enc(&["Other"]))])
        .await;
    assert_eq!(s, 403);
    let (s, body) = rig
        .get(
            &path,
            &[("x-ms-client-principal", &enc(&["Catalogue.Read"]))],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert!(!body.contains("Exception") && !body.contains("windows.net"));
}
