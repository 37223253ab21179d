//! Holds end to end: `POST`/`GET`/`DELETE /api/holds` and `handler hold set|list|release` against
//! Azurite, on recordings catalogued by `RecordingCreated`; tags and rows checked after each step.

use bastion_recordings::storage::BlobRef;
use bastion_recordings::tables::get_str;
use reqwest::Method;
use serde_json::{Value, json};

use super::http;
use crate::audit_logs::support::{Env, start};

async fn class_of(e: &Env, name: &str) -> (String, String) {
    let blob = BlobRef::new(e.env.recordings().to_owned(), name.to_owned());
    let tags = e.blobs.get_tags(&blob).await.expect("tags");
    (tags["retentionClass"].clone(), tags["retainUntil"].clone())
}

async fn row(e: &Env, id: &str) -> bastion_recordings::tables::Entity {
    let (pk, rk) = id.split_once('~').expect("id");
    e.tables
        .get("recordings", pk, rk)
        .await
        .expect("get")
        .expect("row")
        .entity
}

fn cli(e: &Env, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_handler"))
        .args(args)
        .env_clear()
        .envs(e.env.vars.iter())
        .output()
        .expect("run handler");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

#[tokio::test]
async fn api_hold_set_is_idempotent_shows_in_tags_and_release_restores() {
    let Some(e) = start().await else { return };
    let id = e.catalogue("vm-h/held.rec").await;
    let before = class_of(&e, "vm-h/held.rec").await;
    assert_ne!(before.0, "legal-hold");
    let body = json!({"recording": id, "reason": "case 4711"});
    let mut hold_id = String::new();
    for _ in 0..2 {
        let (s, text, _) = http(&e.handler, Method::POST, "/api/holds", Some(&body), &[]).await;
        assert_eq!(s, 200, "{text}");
        let v: Value = serde_json::from_str(&text).expect("json");
        hold_id = v["holdId"].as_str().expect("hold id").to_owned();
    }
    assert_eq!(
        class_of(&e, "vm-h/held.rec").await,
        ("legal-hold".into(), "9999-12-31".into())
    );
    let r = row(&e, &id).await;
    assert_eq!(
        (r["LegalHold"].clone(), get_str(&r, "HoldIds")),
        (json!(true), Some(hold_id.as_str()))
    );
    let (s, text, _) = http(
        &e.handler,
        Method::GET,
        &format!("/api/holds?recording={id}"),
        None,
        &[],
    )
    .await;
    assert_eq!(s, 200, "{text}");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(
        (v["count"].clone(), v["items"][0]["setBy"].clone()),
        (json!(1), json!("anonymous/function-key"))
    );

    // Bad bodies are 400 problems; the blob URL form addresses the same recording.
    for bad in [
        json!({"recording": id}),
        json!({"recording": id, "reason": " "}),
        json!({"reason": "r"}),
        json!({"reason": "r", "recording": id, "blobUrl": "https://a/c/b"}),
        json!({"reason": "r", "recording": "nope"}),
    ] {
        let (s, text, h) = http(&e.handler, Method::POST, "/api/holds", Some(&bad), &[]).await;
        assert_eq!(s, 400, "{bad}: {text}");
        assert_eq!(h["content-type"], "application/problem+json");
    }
    let url = format!(
        "http://127.0.0.1:10000/devstoreaccount1/{}/vm-h/held.rec",
        e.env.recordings()
    );
    let release = json!({"blobUrl": url, "reason": "case closed"});
    let (s, text, _) = http(
        &e.handler,
        Method::DELETE,
        "/api/holds",
        Some(&release),
        &[],
    )
    .await;
    assert_eq!(s, 200, "{text}");
    assert_eq!(class_of(&e, "vm-h/held.rec").await, before);
    assert_eq!(row(&e, &id).await["LegalHold"], json!(false));
    let (s, _, _) = http(
        &e.handler,
        Method::DELETE,
        "/api/holds",
        Some(&release),
        &[],
    )
    .await;
    assert_eq!(s, 409, "already released");
    let unknown = json!({"recording": "2025-01-01~eA", "reason": "r"});
    let (s, _, _) = http(&e.handler, Method::POST, "/api/holds", Some(&unknown), &[]).await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn cli_hold_set_list_release() {
    let Some(e) = start().await else { return };
    let id = e.catalogue("vm-c/cli.rec").await;
    let before = class_of(&e, "vm-c/cli.rec").await;
    let (code, out, err) = cli(
        &e,
        &[
            "hold",
            "set",
            "--recording",
            &id,
            "--reason",
            "case 9",
            "--by",
            "carol",
            "--id",
            "case-9",
        ],
    );
    assert_eq!(code, Some(0), "{out} {err}");
    assert_eq!(class_of(&e, "vm-c/cli.rec").await.0, "legal-hold");
    let (code, out, err) = cli(&e, &["hold", "list"]);
    assert_eq!(code, Some(0), "{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    let mine = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|h| h["holdId"] == "case-9")
        .expect("listed")
        .clone();
    assert_eq!(
        (mine["setBy"].as_str(), mine["reason"].as_str()),
        (Some("carol"), Some("case 9"))
    );
    let (code, _, err) = cli(
        &e,
        &["hold", "release", "--recording", &id, "--reason", "done"],
    );
    assert_eq!(code, Some(2), "--by is required: {err}");
    let (code, out, err) = cli(
        &e,
        &[
            "hold",
            "release",
            "--recording",
            &id,
            "--reason",
            "done",
            "--by",
            "carol",
            "--id",
            "case-9",
        ],
    );
    assert_eq!(code, Some(0), "{out} {err}");
    assert_eq!(class_of(&e, "vm-c/cli.rec").await, before);
    let (code, out, _) = cli(&e, &["hold", "list", "--recording", &id]);
    assert_eq!(code, Some(0));
    assert_eq!(
        serde_json::from_str::<Value>(&out).expect("json")["legalHold"],
        false
    );
    let (code, _, _) = cli(
        &e,
        &[
            "hold",
            "set",
            "--recording",
            "2025-01-01~eA",
            "--reason",
            "r",
            "--by",
            "c",
        ],
    );
    assert_eq!(code, Some(1), "unknown recording");
}
