//! `CATALOGUE_AUTH=jwt` with the real handler against a local issuer: every kind of bad token,
//! key rotation, a flood of unknown key ids, an unreachable issuer, an http authority.

use base64::Engine as _;
use serde_json::{Value, json};

use super::issuer::{AUDIENCE, Issuer, SigningKey, encode_part, now};
use super::{assert_invalid, audit, call, jwt_handler, list_path, with_principal, with_token};
use crate::harness::HandlerProcess;

#[tokio::test]
async fn bearer_tokens_are_checked_against_the_issuer_and_never_logged() {
    let key = SigningKey::generate("key-a");
    let other = SigningKey::generate("key-a");
    let issuer = Issuer::start(&[&key]).await;
    let h = jwt_handler(&issuer).await;
    let mut tokens = Vec::new();

    let none = call(&h, "GET", &list_path(), &[]).await;
    assert_eq!(none.status, 401, "{}", none.body);
    assert_eq!(none.challenge.as_deref(), Some("Bearer"));

    let valid = key.sign(&issuer.claims(&["Catalogue.Read"]));
    let a = with_token(&h, &valid).await;
    assert_eq!(a.status, 200, "{}", a.body);
    tokens.push(valid.clone());

    // Clock skew within the leeway is tolerated.
    let mut skewed = issuer.claims(&["Catalogue.Read"]);
    skewed["exp"] = json!(now() - 20);
    let skewed = key.sign(&skewed);
    assert_eq!(with_token(&h, &skewed).await.status, 200);
    tokens.push(skewed);

    let mut bad: Vec<(&str, String)> = Vec::new();
    let variant = |field: &str, value: Value| {
        let mut c = issuer.claims(&["Catalogue.Read"]);
        c[field] = value;
        key.sign(&c)
    };
    bad.push(("expired", variant("exp", json!(now() - 3600))));
    bad.push(("not yet valid", variant("nbf", json!(now() + 3600))));
    bad.push((
        "wrong issuer",
        variant("iss", json!("https://login.microsoftonline.com/other/v2.0")),
    ));
    bad.push((
        "wrong audience",
        variant("aud", json!("api://someone-else")),
    ));
    let mut no_iss = issuer.claims(&["Catalogue.Read"]);
    no_iss.as_object_mut().expect("claims").remove("iss");
    bad.push(("no issuer", key.sign(&no_iss)));
    bad.push((
        "bad signature",
        other.sign(&issuer.claims(&["Catalogue.Read"])),
    ));
    let body = encode_part(&issuer.claims(&["Catalogue.Read"]));
    let alg_none = format!(
        "{}.{body}.",
        encode_part(&json!({"alg": "none", "kid": "key-a"}))
    );
    bad.push(("alg none", alg_none));
    let hs_head = encode_part(&json!({"alg": "HS256", "typ": "JWT", "kid": "key-a"}));
    let hs_msg = format!("{hs_head}.{body}");
    let mac = aws_lc_rs::hmac::sign(
        &aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key.public_der()),
        hs_msg.as_bytes(),
    );
    let hs = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.as_ref());
    bad.push(("HS256 keyed with the public key", format!("{hs_msg}.{hs}")));
    bad.push(("garbage", "not-a-jwt".to_owned()));
    for (case, token) in &bad {
        assert_invalid(&with_token(&h, token).await, case);
        tokens.push(token.clone());
    }
    let expired = with_token(&h, &bad[0].1).await;
    assert!(
        expired
            .challenge
            .as_deref()
            .unwrap_or_default()
            .contains("expired"),
        "{:?}",
        expired.challenge
    );
    assert_eq!(expired.problem()["status"], 401);

    // Authenticated but without the role: 403, reads and holds alike.
    let no_roles = key.sign(&issuer.claims(&[]));
    let a = with_token(&h, &no_roles).await;
    assert_eq!(a.status, 403, "{}", a.body);
    let hold = call(
        &h,
        "POST",
        "/api/holds",
        &[
            ("authorization", &format!("Bearer {valid}")),
            ("content-type", "application/json"),
        ],
    )
    .await;
    assert_eq!(
        hold.status, 403,
        "Catalogue.Read cannot set holds: {}",
        hold.body
    );
    tokens.push(no_roles);

    // A principal header is not a credential in jwt mode, with or without a token.
    let forged = audit::principal("mallory@contoso.com", &["Catalogue.Read", "Catalogue.Hold"]);
    let a = with_principal(&h, &forged).await;
    assert_eq!(a.status, 401, "{}", a.body);
    // `/api/health`: the status word to anyone (a forged principal included), the details only to
    // a token holding Catalogue.Read.
    for headers in [vec![], vec![("x-ms-client-principal", forged.as_str())]] {
        let anon = call(&h, "GET", "/api/health", &headers).await;
        assert_eq!(anon.status, 200, "{}", anon.body);
        let keys: Vec<String> = anon
            .problem()
            .as_object()
            .expect("object")
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["status"], "{}", anon.body);
    }
    let without_role = format!("Bearer {}", tokens.last().expect("token"));
    let a = call(
        &h,
        "GET",
        "/api/health",
        &[("authorization", &without_role)],
    )
    .await;
    assert!(a.problem().get("functions").is_none(), "{}", a.body);
    let reader = format!("Bearer {valid}");
    let a = call(&h, "GET", "/api/health", &[("authorization", &reader)]).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.problem().get("functions").is_some(), "{}", a.body);

    assert_eq!(issuer.fetches(), (1, 1), "keys are fetched once and cached");
    let logs = h.log_text();
    assert!(logs.contains("catalogue API: request refused"), "{logs}");
    for t in &tokens {
        let signature = t.rsplit('.').next().unwrap_or(t);
        assert!(!logs.contains(t.as_str()), "a token was logged");
        assert!(
            signature.len() < 8 || !logs.contains(signature),
            "a token signature was logged"
        );
    }
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_unknown_key_ids_cannot_flood_the_issuer() {
    let old = SigningKey::generate("2025-old");
    let new = SigningKey::generate("2025-new");
    let issuer = Issuer::start(&[&old]).await;
    let h = jwt_handler(&issuer).await;
    let claims = issuer.claims(&["Catalogue.Read"]);
    assert_eq!(with_token(&h, &old.sign(&claims)).await.status, 200);
    issuer.publish(&[&old, &new]);
    let a = with_token(&h, &new.sign(&claims)).await;
    assert_eq!(
        a.status, 200,
        "the unknown kid refreshed the keys: {}",
        a.body
    );
    assert_eq!(issuer.fetches().1, 2);
    let flood = (0..25).map(|i| new.sign_as(&format!("random-{i}"), &claims));
    let answers = futures::future::join_all(flood.map(|t| {
        let h = &h;
        async move { with_token(h, &t).await }
    }))
    .await;
    for a in &answers {
        assert_invalid(a, "unknown kid");
    }
    assert_eq!(
        issuer.fetches().1,
        2,
        "refreshes on unknown key ids are rate-limited"
    );
    // Known keys keep working.
    assert_eq!(with_token(&h, &old.sign(&claims)).await.status, 200);
}

#[tokio::test]
async fn an_unreachable_issuer_is_a_503_not_the_callers_fault() {
    let key = SigningKey::generate("k");
    let issuer = Issuer::start(&[&key]).await;
    let token = key.sign(&issuer.claims(&["Catalogue.Read"]));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let authority = format!("http://127.0.0.1:{port}/tenant/v2.0");
    let h = HandlerProcess::spawn_in_memory(&[
        ("CATALOGUE_AUTH", "jwt"),
        ("CATALOGUE_JWT_AUTHORITY", &authority),
        ("CATALOGUE_JWT_AUDIENCE", AUDIENCE),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true"),
    ])
    .await;
    for _ in 0..3 {
        let a = with_token(&h, &token).await;
        assert_eq!(a.status, 503, "{}", a.body);
        assert_eq!(a.retry_after.as_deref(), Some("30"));
        assert_eq!(a.problem()["title"], "Identity provider unavailable");
    }
    let logs = h.log_text();
    assert_eq!(
        logs.matches("cannot be fetched").count(),
        1,
        "one fetch attempt while backing off: {logs}"
    );
    assert!(logs.contains("CATALOGUE_JWT_AUTHORITY"), "{logs}");
    assert_eq!(call(&h, "GET", "/api/health", &[]).await.status, 200);
}

#[tokio::test]
async fn plain_http_authority_needs_the_loopback_flag() {
    let h = HandlerProcess::spawn_in_memory(&[
        ("CATALOGUE_AUTH", "jwt"),
        ("CATALOGUE_JWT_AUTHORITY", "http://127.0.0.1:9/tenant/v2.0"),
        ("CATALOGUE_JWT_AUDIENCE", AUDIENCE),
    ])
    .await;
    let detail = call(&h, "GET", &list_path(), &[]).await.refusal_detail();
    assert!(detail.contains("CATALOGUE_JWT_AUTHORITY"), "{detail}");
    assert!(
        !detail.contains("127.0.0.1:9"),
        "the value is not repeated: {detail}"
    );
}
