//! Cross-site requests, raw, against the real `handler` in every `CATALOGUE_AUTH` mode: what a page
//! elsewhere can make a browser send to a state-changing route (a form whose `text/plain` fields
//! spell JSON; JSON from another origin, `null` or another site) is refused — 403 for another
//! origin or site, 415 for a body that is not JSON — before authentication, and changes nothing;
//! the app's own JSON still holds. Storage-backed for `none` and `platform` (the rows are checked),
//! in memory for `jwt` and unset (statuses only).

use serde_json::{Value, json};

use super::audit::principal;
use super::call;
use super::issuer::{Issuer, SigningKey};
use crate::harness::{HandlerProcess, azurite};
use crate::pipeline::PipelineRig as Rig;

/// Every state-changing request (and methods the routes do not have) with `headers`, `body` as sent.
async fn attempts(h: &HandlerProcess, recording: &str, who: &str) -> Vec<(String, u16)> {
    let hold = json!({"recording": recording, "reason": "prize="}).to_string();
    let review = json!({"recording": recording, "verdict": "ok", "comment": "="}).to_string();
    let reason = json!({"reason": "prize="}).to_string();
    let requests = [
        ("POST", "/api/holds", &hold),
        ("DELETE", "/api/holds", &hold),
        ("PUT", "/api/holds", &hold),
        ("POST", "/api/reviews", &review),
        ("PATCH", "/api/reviews", &review),
        ("POST", "/api/sessions/live/s-1/disconnect", &reason),
        ("POST", "/api/recordings", &hold),
    ];
    let own = format!("http://{}", h.addr);
    let cases: [(&[(&str, &str)], u16); 7] = [
        (
            &[
                ("content-type", "text/plain"),
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "cross-site"),
            ],
            403,
        ),
        (&[("content-type", "text/plain;charset=UTF-8")], 415),
        (
            &[("content-type", "application/x-www-form-urlencoded")],
            415,
        ),
        (
            &[
                ("content-type", "application/json"),
                ("origin", "https://evil.example"),
            ],
            403,
        ),
        (
            &[("content-type", "application/json"), ("origin", "null")],
            403,
        ),
        (
            &[
                ("content-type", "application/json"),
                ("sec-fetch-site", "same-site"),
            ],
            403,
        ),
        (
            &[
                ("content-type", "application/json"),
                ("sec-fetch-site", "cross-site"),
            ],
            403,
        ),
    ];
    let mut wrong = Vec::new();
    for (method, path, body) in requests {
        for (headers, want) in cases {
            let mut rb = reqwest::Client::new()
                .request(
                    reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                    h.url(path),
                )
                .header("x-ms-client-principal", who)
                .body(body.clone());
            for (k, v) in headers {
                rb = rb.header(*k, *v);
            }
            let res = rb.send().await.expect("request");
            let status = res.status().as_u16();
            let ct = res
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            if status != want || ct != "application/problem+json" {
                wrong.push((format!("{method} {path} {headers:?} ({ct})"), status));
            }
        }
    }
    // The page's own origin passes the layer (what happens next is the route's business).
    let res = reqwest::Client::new()
        .post(h.url("/api/reviews"))
        .header("content-type", "application/json")
        .header("origin", own)
        .header("sec-fetch-site", "same-origin")
        .header("x-ms-client-principal", who)
        .body("{}")
        .send()
        .await
        .expect("request");
    if ![400, 401].contains(&res.status().as_u16()) {
        wrong.push(("own origin reaches the route".into(), res.status().as_u16()));
    }
    wrong
}

#[tokio::test]
async fn cross_site_and_non_json_requests_are_refused_in_every_mode() {
    let Some(cs) = azurite() else { return };
    let rig = Rig::new(&cs, &[]).await;
    let id = rig.record("vm-a/csrf.rec", b"forged").await;
    let who = principal(
        "reviewer@contoso.com",
        &[
            "Catalogue.Read",
            "Catalogue.Hold",
            "Catalogue.Review",
            "Catalogue.Disconnect",
        ],
    );
    let mut platform_env = rig.env.pairs();
    platform_env.push(("CATALOGUE_AUTH", "platform"));
    let platform = HandlerProcess::spawn(&platform_env).await;
    let key = SigningKey::generate("k1");
    let issuer = Issuer::start(&[&key]).await;
    let settings = issuer.settings();
    let jwt_env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let jwt = HandlerProcess::spawn_in_memory(&jwt_env).await;
    let unset = HandlerProcess::spawn_in_memory(&[]).await;
    for (mode, h) in [
        ("none", &rig.handler),
        ("platform", &platform),
        ("jwt", &jwt),
        ("unset", &unset),
    ] {
        let wrong = attempts(h, &id, &who).await;
        assert!(wrong.is_empty(), "{mode}: {wrong:#?}");
    }
    // Nothing happened: no hold, no review.
    let holds = call(&rig.handler, "GET", "/api/holds", &[]).await;
    assert_eq!(holds.problem()["count"], json!(0), "{}", holds.body);
    let detail = call(&rig.handler, "GET", &format!("/api/recordings/{id}"), &[]).await;
    let v: Value = detail.problem();
    assert_eq!(v["review"], Value::Null, "{v}");
    assert_eq!(v["holds"], json!([]), "{v}");
    // The same hold, as JSON from a client that is no browser, or from the app's own page: taken.
    for (h, extra) in [
        (&rig.handler, vec![]),
        (
            &platform,
            vec![
                ("origin", format!("http://{}", platform.addr)),
                ("sec-fetch-site", "same-origin".to_owned()),
            ],
        ),
    ] {
        let mut rb = reqwest::Client::new()
            .post(h.url("/api/holds"))
            .header("content-type", "application/json; charset=utf-8")
            .header("x-ms-client-principal", &who)
            .body(json!({"recording": id, "reason": "case 7"}).to_string());
        for (k, v) in extra {
            rb = rb.header(k, v);
        }
        let res = rb.send().await.expect("request");
        assert_eq!(
            res.status().as_u16(),
            200,
            "{}",
            res.text().await.unwrap_or_default()
        );
    }
}
