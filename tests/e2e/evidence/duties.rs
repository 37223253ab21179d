//! Segregation of duties and custody in the pack, end to end on Azurite through the real
//! `handler` (platform authentication, `HOLD_RELEASE_TWO_PERSON=true`): the session's user is
//! refused (403, recorded once) when reviewing their own recording; a legal-hold release by one
//! principal waits (202, still held), the same principal again is refused (403), a second one
//! naming the request releases it (without the setting, one release releases); a hold released
//! and placed again within the same second needs a new request and a second person again, whose
//! release naming no request approves nothing, and an application token is no person; a recording deleted outside retention and one replaced reach the catalogue through
//! their events. `handler evidence` then lists all four in `refusedreviews.csv`,
//! `holdreleases.csv` and `custody.csv`, and the report shows them as text.

use bastion_recordings::storage::{BlobRef, BlobStore, Metadata};
use bastion_recordings::tables::{TableStore, WriteMode};
use bytes::Bytes;
use reqwest::Method;
use serde_json::{Value, json};

use super::{KEY, temp};
use crate::catalogue_sessions::http;
use crate::harness::{HandlerProcess, azurite, first_log, fixture};
use crate::recordings::{Rig, SEQ1};

const SEQ3: &str = "0000000000000000000000000001A2B30000000000e00000";
const DEL_SEQ: &str = "0000000000000000000000000001A2B30000000000f00000";

pub(super) fn principal(name: &str, roles: &[&str]) -> String {
    use base64::Engine as _;
    let mut claims: Vec<Value> = roles
        .iter()
        .map(|r| json!({"typ": "roles", "val": r}))
        .collect();
    claims.push(json!({"typ": "preferred_username", "val": name}));
    base64::engine::general_purpose::STANDARD.encode(json!({"claims": claims}).to_string())
}

pub(super) async fn call(
    h: &HandlerProcess,
    method: Method,
    path: &str,
    body: &Value,
    who: &str,
) -> (u16, Value) {
    let hdr = [("x-ms-client-principal", who)];
    let (s, text, _) = http(h, method, path, Some(body), &hdr).await;
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Uploads and catalogues `name`; its recording id.
pub(super) async fn catalogued(rig: &Rig, name: &str) -> String {
    rig.upload(name, &[]).await;
    let (s, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation(name, SEQ1))
        .await;
    assert!(s == 200 && first_log(&v).starts_with("catalogued"), "{v}");
    v["Outputs"]["notifications"]["data"]["recordingId"]
        .as_str()
        .expect("id")
        .to_owned()
}

fn deleted_event(rig: &Rig, name: &str) -> Value {
    let mut ev = fixture("events/blob-deleted.eventgrid.json");
    ev["topic"] = json!(
        "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/devstoreaccount1"
    );
    ev["subject"] = json!(format!(
        "/blobServices/default/containers/{}/blobs/{name}",
        rig.container()
    ));
    ev["data"]["url"] = json!(format!(
        "http://127.0.0.1:10000/devstoreaccount1/{}/{name}",
        rig.container()
    ));
    ev["data"]["sequencer"] = json!(DEL_SEQ);
    json!({"Data": {"eventGridEvent": ev}, "Metadata": {}})
}

#[tokio::test]
async fn self_reviews_two_person_releases_and_custody_events_are_in_the_pack() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs).await;
    rig.env
        .vars
        .insert("EVIDENCE_SIGNING_KEY".into(), KEY.into());
    rig.env
        .vars
        .insert("CATALOGUE_AUTH".into(), "platform".into());
    rig.env
        .vars
        .insert("HOLD_RELEASE_TWO_PERSON".into(), "true".into());
    let api = HandlerProcess::spawn(&rig.env.pairs()).await;
    let tables = rig.tables();

    // Alice's own session: its catalogue row names her as the portal user.
    let own = catalogued(&rig, "own-session.rec").await;
    let (pk, rk) = own.split_once('~').expect("id");
    let mut row = tables
        .get("recordings", pk, rk)
        .await
        .expect("get")
        .expect("row");
    row.entity
        .insert("UserEmail".into(), json!("Alice@Contoso.com"));
    tables
        .write("recordings", &row.entity, WriteMode::IfMatch(row.etag))
        .await
        .expect("user");
    let alice = principal("alice@contoso.com", &["Catalogue.Review", "Catalogue.Hold"]);
    let bob = principal("bob@contoso.com", &["Catalogue.Hold"]);
    let review = json!({"recording": own, "verdict": "ok"});
    for _ in 0..2 {
        let (s, v) = call(&api, Method::POST, "/api/reviews", &review, &alice).await;
        assert_eq!(s, 403, "{v}");
        assert!(
            v["detail"]
                .as_str()
                .is_some_and(|d| d.contains("self-review")),
            "{v}"
        );
    }
    let refusals = tables
        .query("reviewrefusals", None, None, None)
        .await
        .expect("refusals");
    assert_eq!(refusals.items.len(), 1, "recorded once");
    assert!(
        tables
            .query("reviews", None, None, None)
            .await
            .map_or(true, |p| p.items.is_empty())
    );

    // A two-person release of a hold on it.
    let hold = json!({"recording": own, "reason": "case 47", "holdId": "case-47"});
    assert_eq!(
        call(&api, Method::POST, "/api/holds", &hold, &alice)
            .await
            .0,
        200
    );
    let blob = BlobRef::new(rig.container(), "own-session.rec");
    let class = async || rig.blobs().get_tags(&blob).await.expect("tags")["retentionClass"].clone();
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &hold, &alice).await;
    assert_eq!((s, v["status"].as_str()), (202, Some("pending")), "{v}");
    assert_eq!(class().await, "legal-hold");
    let request = v["requestId"].as_str().expect("request id").to_owned();
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &hold, &alice).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(class().await, "legal-hold");
    let mut approve = hold.clone();
    approve["request"] = json!(request);
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &approve, &bob).await;
    assert_eq!(s, 200, "{v}");
    assert_ne!(class().await, "legal-hold");

    // The first instance runs without the setting: one release releases.
    let single = catalogued(&rig, "single.rec").await;
    let one = json!({"recording": single, "reason": "case 48"});
    for method in [Method::POST, Method::DELETE] {
        let (s, text, _) = http(&rig.handler, method, "/api/holds?code=k", Some(&one), &[]).await;
        assert_eq!(s, 200, "{text}");
    }
    let single_blob = BlobRef::new(rig.container(), "single.rec");
    let tags = rig.blobs().get_tags(&single_blob).await.expect("tags");
    assert_ne!(tags["retentionClass"], "legal-hold");

    // Deleted by someone else; replaced by someone else.
    catalogued(&rig, "gone-outside.rec").await;
    let gone = BlobRef::new(rig.container(), "gone-outside.rec");
    rig.blobs()
        .delete_guarded(&gone, None, None)
        .await
        .expect("delete");
    let (s, v) = rig
        .handler
        .invoke("RecordingCreated", &deleted_event(&rig, "gone-outside.rec"))
        .await;
    assert_eq!(s, 200, "{v}");
    catalogued(&rig, "swapped.rec").await;
    rig.blobs()
        .put(
            &BlobRef::new(rig.container(), "swapped.rec"),
            Bytes::from_static(b"forged bytes, other length"),
            "application/octet-stream",
            &Metadata::new(),
        )
        .await
        .expect("overwrite");
    let (s, v) = rig
        .handler
        .invoke("RecordingCreated", &rig.invocation("swapped.rec", SEQ3))
        .await;
    assert_eq!(s, 200, "{v}");

    // The pack of the period (the fixtures' events are of 2025; the rest is of today).
    let dir = temp("evidence-duties");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args([
            "evidence",
            "--from",
            "2025-01-01",
            "--to",
            &today,
            "--no-pdf",
            "--out",
        ])
        .arg(&dir)
        .env_clear()
        .envs(rig.env.vars.iter())
        .env("PATH", "/nonexistent")
        .output()
        .expect("run handler");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).expect(f);
    let refused = read("refusedreviews.csv");
    assert!(
        refused.contains(&own) && refused.contains("alice@contoso.com"),
        "{refused}"
    );
    let releases = read("holdreleases.csv");
    assert!(
        releases.contains("case-47")
            && releases.contains("alice@contoso.com")
            && releases.contains("bob@contoso.com")
            && releases.contains("released"),
        "{releases}"
    );
    let custody = read("custody.csv");
    let lines: Vec<&str> = custody.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("deleted-outside-retention") && l.contains("gone-outside.rec")),
        "{custody}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("replaced") && l.contains("swapped.rec")),
        "{custody}"
    );
    let manifest: Value = serde_json::from_str(&read("manifest.json")).expect("manifest");
    let f = &manifest["figures"];
    assert_eq!(
        (
            f["refusedReviews"].as_u64(),
            f["twoPersonReleases"].as_u64()
        ),
        (Some(1), Some(1)),
        "{f}"
    );
    assert_eq!(
        (
            f["deletedOutsideRetention"].as_u64(),
            f["replaced"].as_u64()
        ),
        (Some(1), Some(1)),
        "{f}"
    );
    // The report's text (a long value may wrap after `/` or `-`: `<wbr>`).
    let html = read("report.html").replace("<wbr>", "");
    assert!(
        html.contains("gone-outside.rec</bdi>") && html.contains("swapped.rec</bdi>"),
        "report lists the deletion and the replacement"
    );
    // The custody list names each recording by its container and blob; its catalogue id (long
    // base64) stays in custody.csv.
    let mut ids = csv::Reader::from_reader(custody.as_bytes());
    let at = ids
        .headers()
        .expect("header")
        .iter()
        .position(|h| h == "recordingId")
        .expect("recordingId");
    for row in ids.records() {
        let id = row.expect("row")[at].to_owned();
        assert!(id.len() > 40, "a catalogue id: {id}");
        assert!(!html.contains(&id), "the id {id} in the report");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sets `property` of holds row `(pk, rk)` to `value` (the placement's time, to the second).
async fn stamp(tables: &dyn TableStore, (pk, rk): (&str, &str), property: &str, value: &Value) {
    let mut row = tables
        .get("holds", pk, rk)
        .await
        .expect("get")
        .expect("row");
    row.entity.insert(property.into(), value.clone());
    tables
        .write("holds", &row.entity, WriteMode::IfMatch(row.etag))
        .await
        .expect("stamp");
}

#[tokio::test]
async fn a_hold_placed_again_within_the_same_second_needs_a_second_person_again() {
    let Some(cs) = azurite() else { return };
    let mut rig = Rig::new(&cs).await;
    rig.env
        .vars
        .insert("CATALOGUE_AUTH".into(), "platform".into());
    rig.env
        .vars
        .insert("HOLD_RELEASE_TWO_PERSON".into(), "true".into());
    let api = HandlerProcess::spawn(&rig.env.pairs()).await;
    let tables = rig.tables();
    let id = catalogued(&rig, "re-placed.rec").await;
    let alice = principal("alice@contoso.com", &["Catalogue.Hold"]);
    let bob = principal("bob@contoso.com", &["Catalogue.Hold"]);
    // An application's token: the role and its object id, no user.
    let app = {
        use base64::Engine as _;
        let claims = json!({"claims": [{"typ": "roles", "val": "Catalogue.Hold"},
            {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier",
             "val": "0b7c1a3e-0000-4000-8000-0000000000ff"}]});
        base64::engine::general_purpose::STANDARD.encode(claims.to_string())
    };
    let hold = json!({"recording": id, "reason": "case 56", "holdId": "case-56"});
    let naming = |request: &str| {
        let mut b = hold.clone();
        b["request"] = json!(request);
        b
    };
    let blob = BlobRef::new(rig.container(), "re-placed.rec");
    let class = async || rig.blobs().get_tags(&blob).await.expect("tags")["retentionClass"].clone();
    let (pk, rk) = id.split_once('~').expect("id");
    let member_rk = bastion_recordings::catalogue::recording::RecordingKey {
        pk: pk.to_owned(),
        rk: rk.to_owned(),
    }
    .id_key(bastion_recordings::tables::keys::MAX_KEY_BYTES);
    let member = ("m~case-56", member_rk.as_str());

    assert_eq!(
        call(&api, Method::POST, "/api/holds", &hold, &alice)
            .await
            .0,
        200
    );
    let placed = tables
        .get("holds", "hold", "case-56")
        .await
        .expect("get")
        .expect("header")
        .entity;
    let held = tables
        .get("holds", member.0, member.1)
        .await
        .expect("get")
        .expect("member")
        .entity;
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &hold, &alice).await;
    assert_eq!((s, v["status"].as_str()), (202, Some("pending")), "{v}");
    let first = v["requestId"].as_str().expect("request id").to_owned();
    // Bob's release naming no request approves nothing: it names the pending one.
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &hold, &bob).await;
    assert_eq!(s, 409, "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains(&first)),
        "{v}"
    );
    assert_eq!(class().await, "legal-hold");
    // An application token is no person, even naming the request.
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &naming(&first), &app).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(class().await, "legal-hold");
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &naming(&first), &bob).await;
    assert_eq!(s, 200, "{v}");
    assert_ne!(class().await, "legal-hold");

    // Placed again within the same second as the first placement (its times to the second).
    assert_eq!(
        call(&api, Method::POST, "/api/holds", &hold, &alice)
            .await
            .0,
        200
    );
    stamp(&tables, ("hold", "case-56"), "SetAt", &placed["SetAt"]).await;
    stamp(&tables, member, "HeldAt", &held["HeldAt"]).await;
    assert_eq!(class().await, "legal-hold");
    // Alice alone does not release it: a new request, still held.
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &hold, &alice).await;
    assert_eq!((s, v["status"].as_str()), (202, Some("pending")), "{v}");
    let second = v["requestId"].as_str().expect("request id").to_owned();
    assert_ne!(second, first);
    assert_eq!(class().await, "legal-hold");
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &naming(&first), &alice).await;
    assert_eq!(s, 409, "the released request approves nothing: {v}");
    assert_eq!(class().await, "legal-hold");
    let (s, v) = call(&api, Method::DELETE, "/api/holds", &naming(&second), &bob).await;
    assert_eq!(s, 200, "{v}");
    assert_ne!(class().await, "legal-hold");
    let requests = tables
        .query(
            "holds",
            Some(&bastion_recordings::tables::Filter::partition("release")),
            None,
            None,
        )
        .await
        .expect("requests")
        .items;
    let done: Vec<_> = requests
        .iter()
        .map(|r| {
            (
                r.entity["RowKey"].as_str().unwrap_or_default(),
                r.entity["Status"].clone(),
            )
        })
        .collect();
    assert_eq!(done.len(), 2, "{done:?}");
    assert!(done.iter().all(|(_, s)| s == "released"), "{done:?}");
}
