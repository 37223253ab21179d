//! Catalogue API, RecordingHash and the CLI end to end on Azurite: rows produced by real
//! `RecordingCreated` invocations, digests by real `RecordingHash` invocations fed with the
//! `hashRequests` output, then the API (paging across tokens, CSV escaping of a hostile blob name,
//! detail + access-audit row, authorization failures) and `handler catalogue export` / `verify`.

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::TableStore;
use bytes::Bytes;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::harness::azurite;
use crate::pipeline::PipelineRig as Rig;

const HOSTILE: &str = "=HYPERLINK(\"http://evil\",\"x\"),+1@-.rec";

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
    let seen = crate::harness::collect_pages(10, "id", |token| {
        let path = token.map_or(base.clone(), |t| format!("{base}&continuation={t}"));
        let rig = &rig;
        async move { rig.get(&path, &[]).await }
    })
    .await;
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
        csv.contains("\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\"),'+1@-.rec\""),
        "a formula after the comma is defused too: {csv}"
    );

    // Detail read → one access-audit row, with the address the platform saw: App Service's front
    // end appends it to the caller's X-Forwarded-For and sets `client-ip`; the caller's own
    // entries are never stored as its address.
    let (s, body) = rig
        .get(
            &format!("/api/recordings/{}", ids[1]),
            &[
                ("x-forwarded-for", "6.6.6.6, 203.0.113.5"),
                ("client-ip", "203.0.113.5:51234"),
            ],
        )
        .await;
    assert_eq!(s, 200, "{body}");
    // Without a front end, whatever the caller claims is no address.
    for claimed in ["6.6.6.6", "x;=1+1"] {
        let (s, body) = rig
            .get(
                &format!("/api/recordings/{}", ids[2]),
                &[("x-forwarded-for", claimed)],
            )
            .await;
        assert_eq!(s, 200, "{body}");
    }
    let audit = rig
        .tables()
        .query("accessaudit", None, None, None)
        .await
        .expect("audit")
        .items;
    let reads: Vec<_> = audit
        .iter()
        .filter(|r| r.entity["Action"] == "recording.read")
        .collect();
    assert_eq!(reads.len(), 3, "{audit:?}");
    let first = reads
        .iter()
        .find(|r| r.entity["Target"] == ids[1].as_str())
        .expect("the read of the second recording");
    assert_eq!(first.entity["ClientIp"], "203.0.113.5");
    for r in &reads {
        let ip = r.entity["ClientIp"].as_str().unwrap_or_default();
        assert!(ip == "203.0.113.5" || ip.is_empty(), "{ip}");
    }
    // The list pages and the CSV export above are in the access audit too.
    let lists = audit
        .iter()
        .filter(|r| r.entity["Action"] == "recordings.list")
        .count();
    assert!(lists >= 2, "{audit:?}");
    assert!(
        audit
            .iter()
            .all(|r| !r.entity["Target"].to_string().contains("fnkey")),
        "the function key is never recorded"
    );
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
    blobs
        .delete_guarded(&b1, Some(&etag), None)
        .await
        .expect("delete");
    let out = rig.cli(&["verify", "--from", &today(), "--to", &today()]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("recording.tampered") && text.contains("recording.missing"),
        "{text}"
    );
}

#[tokio::test]
async fn principal_is_required_behind_platform_authentication() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[("CATALOGUE_AUTH", "platform")]).await;
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
