//! The pure parts of authentication: settings, the key cache's refresh policy (over a counting fake
//! issuer, with explicit instants), key filtering, token headers. Signed tokens are checked end to
//! end against a local issuer (tests/e2e/catalogue_auth).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::json;

use super::bearer::{self, Reason};
use super::keys::{Fetch, KeyCache, KeySet, MAX_AGE, MISS_REFRESH, RETRY_AFTER_FAILURE, rs256_key};
use super::settings::{AuthMode, JwtSettings, check_endpoint};
use crate::api::problem::{ApiError, Challenge};
use crate::setting::read_pairs;

fn mode(pairs: &[(&str, &str)]) -> AuthMode {
    let (m, errors) = read_pairs(pairs, |r| AuthMode::from_reader(r));
    assert!(errors.is_empty(), "never a start-up problem: {errors:?}");
    m
}

#[test]
fn modes_and_their_problems_name_settings_not_values() {
    assert_eq!(mode(&[("CATALOGUE_AUTH", "none")]), AuthMode::FunctionKey);
    assert_eq!(mode(&[("CATALOGUE_AUTH", "PLATFORM")]), AuthMode::Platform);
    let jwt = mode(&[
        ("CATALOGUE_AUTH", "jwt"),
        (
            "CATALOGUE_JWT_AUTHORITY",
            "https://login.microsoftonline.com/t/v2.0",
        ),
        ("CATALOGUE_JWT_AUDIENCE", "app-id"),
    ]);
    let AuthMode::Jwt(s) = &jwt else {
        panic!("{jwt:?}")
    };
    assert_eq!(
        s.metadata_url(),
        "https://login.microsoftonline.com/t/v2.0/.well-known/openid-configuration"
    );
    for (pairs, named) in [
        (vec![], vec!["CATALOGUE_AUTH"]),
        (vec![("CATALOGUE_AUTH", "basic")], vec!["CATALOGUE_AUTH"]),
        (
            vec![("CATALOGUE_AUTH", "jwt")],
            vec!["CATALOGUE_JWT_AUTHORITY", "CATALOGUE_JWT_AUDIENCE"],
        ),
        (
            vec![
                ("CATALOGUE_AUTH", "jwt"),
                ("CATALOGUE_JWT_AUTHORITY", "http://idp.example/t"),
                ("CATALOGUE_JWT_AUDIENCE", "a"),
                ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true"),
            ],
            vec!["CATALOGUE_JWT_AUTHORITY"],
        ),
        (
            vec![
                ("CATALOGUE_AUTH", "jwt"),
                ("CATALOGUE_JWT_AUTHORITY", "http://127.0.0.1:1/t"),
                ("CATALOGUE_JWT_AUDIENCE", "a"),
                ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "maybe"),
            ],
            vec![
                "CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK",
                "CATALOGUE_JWT_AUTHORITY",
            ],
        ),
    ] {
        let m = mode(&pairs);
        let problems = m.problems().join("\n");
        for n in &named {
            assert!(problems.contains(n), "{pairs:?}: {problems}");
        }
        assert_eq!(m.problems().len(), named.len(), "{problems}");
        for (_, v) in &pairs {
            assert!(
                v.len() < 4 || !problems.contains(v),
                "value shown: {problems}"
            );
        }
    }
}

#[test]
fn endpoints_are_https_or_an_allowed_loopback() {
    assert!(check_endpoint("https://login.microsoftonline.com/t/v2.0", false).is_ok());
    assert!(check_endpoint("http://127.0.0.1:8080/t", true).is_ok());
    assert!(check_endpoint("http://[::1]:8080/t", true).is_ok());
    for (url, allow) in [
        ("http://127.0.0.1:8080/t", false),
        ("http://login.microsoftonline.com/t", true),
        ("https://user:pw@login.microsoftonline.com/t", false),
        ("https://login.microsoftonline.com/t?x=1", false),
        ("file:///etc/passwd", true),
        ("not a url", true),
    ] {
        assert!(check_endpoint(url, allow).is_err(), "{url}");
    }
}

#[derive(Default)]
struct Fake {
    kids: Vec<&'static str>,
    down: bool,
    fetches: u32,
}

struct FakeIssuer(Arc<Mutex<Fake>>);

#[async_trait::async_trait]
impl Fetch for FakeIssuer {
    async fn fetch(&self) -> Result<KeySet, String> {
        let mut f = self.0.lock().map_err(|e| e.to_string())?;
        f.fetches += 1;
        if f.down {
            return Err("issuer down".into());
        }
        Ok(f.kids
            .iter()
            .map(|k| {
                (
                    (*k).to_owned(),
                    DecodingKey::from_rsa_raw_components(&[1; 256], &[1, 0, 1]),
                )
            })
            .collect())
    }
}

fn cache(kids: &[&'static str]) -> (KeyCache, Arc<Mutex<Fake>>) {
    let fake = Arc::new(Mutex::new(Fake {
        kids: kids.to_vec(),
        ..Fake::default()
    }));
    (KeyCache::new(Box::new(FakeIssuer(fake.clone()))), fake)
}

fn fetches(f: &Arc<Mutex<Fake>>) -> u32 {
    f.lock().expect("fake").fetches
}

#[tokio::test]
async fn keys_are_cached_and_unknown_ids_refresh_at_most_once_per_interval() {
    let t0 = Instant::now();
    let (c, f) = cache(&["a"]);
    assert!(c.key("a", t0).await.is_ok());
    assert!(c.key("a", t0 + Duration::from_secs(60)).await.is_ok());
    assert_eq!(fetches(&f), 1, "cached");
    f.lock().expect("fake").kids = vec!["a", "b"];
    assert!(
        c.key("b", t0 + Duration::from_secs(61)).await.is_ok(),
        "rotation found"
    );
    assert_eq!(fetches(&f), 2);
    for i in 0..50 {
        let at = t0 + Duration::from_secs(62 + i);
        assert_eq!(c.key("made-up", at).await.err(), Some(unknown_key()));
    }
    assert_eq!(fetches(&f), 2, "a flood of unknown ids fetches nothing");
    let later = t0 + Duration::from_secs(61) + MISS_REFRESH;
    assert_eq!(c.key("made-up", later).await.err(), Some(unknown_key()));
    assert_eq!(fetches(&f), 3, "one refresh per interval");
    assert!(c.key("a", later + MAX_AGE).await.is_ok());
    assert_eq!(fetches(&f), 4, "old keys are fetched again");
}

#[tokio::test]
async fn an_issuer_outage_is_unavailable_backs_off_and_keeps_known_keys() {
    let t0 = Instant::now();
    let (c, f) = cache(&["a"]);
    f.lock().expect("fake").down = true;
    assert_eq!(
        c.key("a", t0).await.err(),
        Some(ApiError::IdentityUnavailable)
    );
    assert_eq!(
        c.key("a", t0 + Duration::from_secs(1)).await.err(),
        Some(ApiError::IdentityUnavailable)
    );
    assert_eq!(fetches(&f), 1, "no fetch while backing off");
    f.lock().expect("fake").down = false;
    let t1 = t0 + RETRY_AFTER_FAILURE;
    assert!(c.key("a", t1).await.is_ok());
    f.lock().expect("fake").down = true;
    // Stale keys still verify while the issuer is down; an id they lack is the outage's fault.
    let stale = t1 + MAX_AGE;
    assert!(c.key("a", stale).await.is_ok());
    assert_eq!(
        c.key("b", stale + RETRY_AFTER_FAILURE).await.err(),
        Some(ApiError::IdentityUnavailable)
    );
}

#[test]
fn only_rsa_signature_keys_with_an_id_are_kept() {
    let n = URL_SAFE_NO_PAD.encode([7u8; 256]);
    let rsa = |extra: serde_json::Value| {
        let mut k = json!({"kty": "RSA", "kid": "k", "n": n, "e": "AQAB"});
        k.as_object_mut()
            .expect("obj")
            .extend(extra.as_object().cloned().unwrap_or_default());
        k
    };
    assert!(rs256_key(&rsa(json!({}))).is_some());
    assert!(rs256_key(&rsa(json!({"use": "sig", "x5t": "t", "issuer": "i"}))).is_some());
    assert!(rs256_key(&rsa(json!({"alg": "RS256"}))).is_some());
    assert!(rs256_key(&rsa(json!({"use": "enc"}))).is_none());
    assert!(rs256_key(&rsa(json!({"alg": "PS256"}))).is_none());
    assert!(rs256_key(&json!({"kty": "RSA", "n": n, "e": "AQAB"})).is_none());
    assert!(rs256_key(&json!({"kty": "oct", "kid": "k", "k": "c2VjcmV0"})).is_none());
}

#[test]
fn bearer_headers_and_token_headers() {
    let headers = |v: &str| {
        let mut h = HeaderMap::new();
        h.insert("authorization", v.parse().expect("value"));
        h
    };
    assert_eq!(
        bearer::token_of(&headers("Bearer abc.def.ghi")),
        Some("abc.def.ghi")
    );
    assert_eq!(bearer::token_of(&headers("bearer  t ")), Some("t"));
    assert_eq!(bearer::token_of(&headers("Basic dXNlcg==")), None);
    assert_eq!(bearer::token_of(&headers("Bearer ")), None);
    assert_eq!(bearer::token_of(&HeaderMap::new()), None);
    let token =
        |h: serde_json::Value| format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(h.to_string()));
    assert_eq!(
        bearer::key_id(&token(json!({"alg": "RS256", "kid": "k"}))),
        Ok("k".into())
    );
    assert_eq!(
        bearer::key_id(&token(json!({"alg": "RS256"}))),
        Err(Reason::NoKeyId)
    );
    assert_eq!(
        bearer::key_id(&token(json!({"alg": "HS256", "kid": "k"}))),
        Err(Reason::Algorithm)
    );
    assert_eq!(
        bearer::key_id(&token(json!({"alg": "none", "kid": "k"}))),
        Err(Reason::Malformed)
    );
    assert_eq!(bearer::key_id("a.b"), Err(Reason::Malformed));
}

#[test]
fn validation_requires_issuer_audience_and_expiry() {
    let v = bearer::validation(&JwtSettings {
        authority: "https://login.microsoftonline.com/t/v2.0".into(),
        audience: "app".into(),
        allow_insecure_loopback: false,
    });
    assert_eq!(v.algorithms, [jsonwebtoken::Algorithm::RS256]);
    assert!(v.validate_exp && v.validate_nbf && v.validate_aud);
    assert_eq!(v.leeway, bearer::LEEWAY_SECONDS);
    for claim in ["exp", "iss", "aud"] {
        assert!(v.required_spec_claims.contains(claim), "{claim}");
    }
}

#[tokio::test]
async fn the_platform_principal_carries_its_object_id_and_names() {
    use super::{Authenticator, PRINCIPAL_HEADER, PRINCIPAL_ID_HEADER};
    use crate::catalogue::person::{Match, Person};
    let encode =
        |v: serde_json::Value| base64::engine::general_purpose::STANDARD.encode(v.to_string());
    let alice = encode(json!({"claims": [
        {"typ": "name", "val": "Alice Example"},
        {"typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "val": "alice@contoso.com"},
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": "oid-a"},
        {"typ": "roles", "val": "Catalogue.Review"}]}));
    let bob = encode(
        json!({"claims": [{"typ": "preferred_username", "val": "bob@contoso.com"},
        {"typ": "roles", "val": "Catalogue.Review"}]}),
    );
    let auth = Authenticator::new(&AuthMode::Platform);
    let identity = async |principal: &str, id: &str| {
        let mut h = HeaderMap::new();
        h.insert(PRINCIPAL_HEADER, principal.parse().expect("header"));
        h.insert(PRINCIPAL_ID_HEADER, id.parse().expect("header"));
        auth.authenticate(&h)
            .await
            .expect("caller")
            .require_identity("Catalogue.Review")
            .expect("has the role")
            .expect("an identity")
    };
    let a = identity(&alice, "header-id").await;
    assert_eq!(a.object_id.as_deref(), Some("oid-a"), "the claim wins");
    assert_eq!(
        a.person()
            .same_as(&Person::new(["ALICE@contoso.com"], None)),
        Some(Match::Name)
    );
    // Without the claim, the platform's principal-id header names the object.
    let b = identity(&bob, "oid-b").await;
    assert_eq!(b.object_id.as_deref(), Some("oid-b"));
    assert_eq!(
        b.person()
            .same_as(&Person::new(["someone@else"], Some("OID-B"))),
        Some(Match::ObjectId)
    );
    assert!(a.user().is_some() && b.user().is_some());
    // An app-only token (`idtyp: app`) names no user, even with a name claim beside it.
    let app = encode(json!({"claims": [{"typ": "idtyp", "val": "app"},
        {"typ": "email", "val": "robot@contoso.com"}, {"typ": "roles", "val": "Catalogue.Review"}]}));
    assert_eq!(identity(&app, "oid-app").await.user(), None);
}

/// The 401 of a token whose key id the issuer does not publish.
fn unknown_key() -> ApiError {
    ApiError::Unauthenticated(Challenge::InvalidToken(Reason::UnknownKey.as_str()))
}
