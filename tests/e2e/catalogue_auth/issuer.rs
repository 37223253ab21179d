//! A local stand-in for a Microsoft Entra ID tenant: an axum server publishing the OpenID
//! configuration (`{authority}/.well-known/openid-configuration`) and the key set (`jwks_uri`),
//! counting each fetch; RSA keys generated in the test sign RS256 tokens shaped like Entra's v2
//! access tokens.

use std::sync::{Arc, Mutex};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize, PublicKeyComponents};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

/// The audience the handler is configured with (an application id).
pub(super) const AUDIENCE: &str = "api-client-id-0000";

/// An RSA signing key with its key id.
pub(super) struct SigningKey {
    pub(super) kid: String,
    pair: KeyPair,
}

impl SigningKey {
    pub(super) fn generate(kid: &str) -> Self {
        Self {
            kid: kid.to_owned(),
            pair: KeyPair::generate(KeySize::Rsa2048).expect("generate RSA key"),
        }
    }

    /// The public key as Entra publishes it (no `alg`; `use` = `sig`).
    pub(super) fn jwk(&self) -> Value {
        let c = PublicKeyComponents::<Vec<u8>>::from(self.pair.public_key());
        json!({"kty": "RSA", "use": "sig", "kid": self.kid,
            "n": URL_SAFE_NO_PAD.encode(&c.n), "e": URL_SAFE_NO_PAD.encode(&c.e)})
    }

    /// The public key's DER bytes (what a key-confusion attacker would use as an HMAC secret).
    pub(super) fn public_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// An RS256 token over `claims`, naming `kid` in its header.
    pub(super) fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let head = encode_part(&json!({"alg": "RS256", "typ": "JWT", "kid": kid}));
        let message = format!("{head}.{}", encode_part(claims));
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut sig,
            )
            .expect("sign");
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    /// An RS256 token over `claims` with this key's id.
    pub(super) fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }
}

/// base64url of a JSON value (one part of a compact JWT).
pub(super) fn encode_part(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

/// Seconds since the epoch.
pub(super) fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

#[derive(Default)]
struct Published {
    keys: Vec<Value>,
    metadata_fetches: u32,
    key_fetches: u32,
}

/// The running issuer.
pub(super) struct Issuer {
    /// The authority (also the `iss` of its tokens): `http://127.0.0.1:<port>/<tenant>/v2.0`.
    pub(super) authority: String,
    published: Arc<Mutex<Published>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Issuer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[derive(Clone)]
struct Served {
    published: Arc<Mutex<Published>>,
    authority: String,
    jwks_uri: String,
}

async fn metadata(State(s): State<Served>) -> Json<Value> {
    s.published.lock().expect("lock").metadata_fetches += 1;
    Json(json!({"issuer": s.authority, "jwks_uri": s.jwks_uri,
        "id_token_signing_alg_values_supported": ["RS256"]}))
}

async fn key_set(State(s): State<Served>) -> Json<Value> {
    let mut p = s.published.lock().expect("lock");
    p.key_fetches += 1;
    Json(json!({"keys": p.keys}))
}

impl Issuer {
    /// Starts serving `keys` on a free loopback port.
    pub(super) async fn start(keys: &[&SigningKey]) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let tenant = "72f988bf-0000-0000-0000-2d7cd011db47";
        let authority = format!("{base}/{tenant}/v2.0");
        let published = Arc::new(Mutex::new(Published {
            keys: keys.iter().map(|k| k.jwk()).collect(),
            ..Published::default()
        }));
        let served = Served {
            published: published.clone(),
            authority: authority.clone(),
            jwks_uri: format!("{base}/{tenant}/discovery/v2.0/keys"),
        };
        let app = Router::new()
            .route(
                &format!("/{tenant}/v2.0/.well-known/openid-configuration"),
                get(metadata),
            )
            .route(&format!("/{tenant}/discovery/v2.0/keys"), get(key_set))
            .with_state(served);
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.expect("serve issuer");
        });
        Self {
            authority,
            published,
            task,
        }
    }

    /// Publishes `keys` instead of the current set (a key rotation).
    pub(super) fn publish(&self, keys: &[&SigningKey]) {
        self.published.lock().expect("lock").keys = keys.iter().map(|k| k.jwk()).collect();
    }

    /// (discovery document fetches, key-set fetches) so far.
    pub(super) fn fetches(&self) -> (u32, u32) {
        let p = self.published.lock().expect("lock");
        (p.metadata_fetches, p.key_fetches)
    }

    /// Access-token claims as Entra v2 issues them, valid for ten minutes, with `roles`.
    pub(super) fn claims(&self, roles: &[&str]) -> Value {
        let now = now();
        json!({"aud": AUDIENCE, "iss": self.authority, "iat": now, "nbf": now, "exp": now + 600,
            "ver": "2.0", "oid": "00000000-0000-0000-0000-0000000000a1",
            "preferred_username": "auditor@contoso.com", "roles": roles})
    }

    /// The handler settings for `CATALOGUE_AUTH=jwt` against this issuer.
    pub(super) fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("CATALOGUE_AUTH", "jwt".to_owned()),
            ("CATALOGUE_JWT_AUTHORITY", self.authority.clone()),
            ("CATALOGUE_JWT_AUDIENCE", AUDIENCE.to_owned()),
            ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true".to_owned()),
        ]
    }
}
