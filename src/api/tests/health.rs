//! Who sees what of `/api/health`: the status word for everyone, the details (function endings,
//! queues, quarantine, hosts and accounts) only for a caller with `Catalogue.Read` in the mode's
//! terms (the function key under `none`).

use axum::http::StatusCode;
use serde_json::Value;

use super::outage::down_fakes;
use super::{get, platform, principal};
use crate::api::ApiSettings;
use crate::api::auth::AuthMode;
use crate::config::auth::JwtSettings;
use crate::testkit::fakes;

fn jwt() -> ApiSettings {
    ApiSettings {
        auth: AuthMode::Jwt(JwtSettings {
            authority: "https://login.microsoftonline.com/t/v2.0".into(),
            audience: "api".into(),
            allow_insecure_loopback: false,
        }),
        ..ApiSettings::key_only()
    }
}

async fn health(settings: ApiSettings, headers: &[(&str, &str)]) -> (StatusCode, Value) {
    let (s, _, body) = get(&fakes(), settings, "/api/health", headers).await;
    (s, serde_json::from_str(&body).expect("json"))
}

#[tokio::test]
async fn anonymous_callers_get_the_status_word_only() {
    let reader = principal("ops@contoso.com", &["Catalogue.Read"]);
    let holder = principal("ops@contoso.com", &["Catalogue.Hold"]);
    let forged_reader = [("x-ms-client-principal", reader.as_str())];
    for (mode, settings, headers) in [
        ("platform, no principal", platform(), vec![]),
        (
            "platform, without the role",
            platform(),
            vec![("x-ms-client-principal", holder.as_str())],
        ),
        (
            "platform, a bad header",
            platform(),
            vec![("x-ms-client-principal", "%%")],
        ),
        ("jwt, no token", jwt(), forged_reader.to_vec()),
        (
            "jwt, a bad token",
            jwt(),
            vec![("authorization", "Bearer not-a-token")],
        ),
        ("unset", ApiSettings::default(), forged_reader.to_vec()),
    ] {
        let (s, v) = health(settings, &headers).await;
        assert_eq!(s, StatusCode::OK, "{mode}: never refused: {v}");
        let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["status"], "{mode}: {v}");
        assert!(["ok", "degraded", "stalled"].contains(&v["status"].as_str().unwrap_or("")));
    }
}

#[tokio::test]
async fn readers_and_function_key_callers_get_the_details() {
    let reader = principal("ops@contoso.com", &["Catalogue.Read"]);
    for (mode, settings, headers) in [
        ("none", ApiSettings::key_only(), vec![]),
        (
            "platform, Catalogue.Read",
            platform(),
            vec![("x-ms-client-principal", reader.as_str())],
        ),
    ] {
        let (s, v) = health(settings, &headers).await;
        assert_eq!(s, StatusCode::OK, "{mode}: {v}");
        for member in [
            "status",
            "functions",
            "auditLogTail",
            "quarantine",
            "estate",
        ] {
            assert!(v.get(member).is_some(), "{mode}: {member} in {v}");
        }
    }
}

#[tokio::test]
async fn an_outage_says_which_store_only_to_readers() {
    let f = down_fakes();
    let (s, _, body) = get(&f, platform(), "/api/health", &[]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body, r#"{"status":"unavailable"}"#);
    let (s, _, body) = get(&f, ApiSettings::key_only(), "/api/health", &[]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    let v: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["tables"], false, "{v}");
}
