//! Who gets into the catalogue API, end to end with the real `handler`: `CATALOGUE_AUTH=jwt` against
//! a local OpenID issuer ([`issuer`]) with every kind of bad token, key rotation and a flood of
//! unknown key ids, an issuer outage; `platform` believing only the principal header; `none`
//! believing no one's claimed name ([`audit`]); unset or invalid settings refusing the API while
//! the pipeline runs ([`audit`]). The token matrix runs on the in-memory stores (no storage needed
//! to be refused), so it runs with or without Azurite.

mod apps;
mod audit;
mod csrf;
mod issuer;
mod tokens;

use serde_json::Value;

use self::issuer::{Issuer, SigningKey};
use crate::harness::HandlerProcess;

/// One answer: status, `WWW-Authenticate`, `Retry-After`, body.
struct Answer {
    status: u16,
    challenge: Option<String>,
    retry_after: Option<String>,
    body: String,
}

impl Answer {
    fn problem(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// A refusal's problem detail, after checking it is a 401.
    fn refusal_detail(&self) -> String {
        assert_eq!(self.status, 401, "{}", self.body);
        self.problem()["detail"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }
}

/// `method path` on `h` with `headers`.
async fn call(h: &HandlerProcess, method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut rb = reqwest::Client::new().request(method, h.url(path));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let res = rb.send().await.expect("request");
    let header = |n: &str| {
        res.headers()
            .get(n)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (challenge, retry_after) = (header("www-authenticate"), header("retry-after"));
    Answer {
        status: res.status().as_u16(),
        challenge,
        retry_after,
        body: res.text().await.expect("body"),
    }
}

fn today() -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn list_path() -> String {
    format!("/api/recordings?from={0}&to={0}", today())
}

async fn jwt_handler(issuer: &Issuer) -> HandlerProcess {
    let settings = issuer.settings();
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    HandlerProcess::spawn_in_memory(&env).await
}

async fn with_token(h: &HandlerProcess, token: &str) -> Answer {
    call(
        h,
        "GET",
        &list_path(),
        &[("authorization", &format!("Bearer {token}"))],
    )
    .await
}

/// `GET` the recordings list with an `x-ms-client-principal` header.
async fn with_principal(h: &HandlerProcess, principal: &str) -> Answer {
    call(
        h,
        "GET",
        &list_path(),
        &[("x-ms-client-principal", principal)],
    )
    .await
}

fn assert_invalid(a: &Answer, case: &str) {
    assert_eq!(a.status, 401, "{case}: {}", a.body);
    let challenge = a.challenge.as_deref().unwrap_or_default();
    assert!(
        challenge.starts_with("Bearer error=\"invalid_token\""),
        "{case}: {challenge}"
    );
}

#[tokio::test]
async fn platform_mode_believes_the_principal_header_and_nothing_else() {
    let key = SigningKey::generate("k");
    let issuer = Issuer::start(&[&key]).await;
    let h = HandlerProcess::spawn_in_memory(&[("CATALOGUE_AUTH", "platform")]).await;
    let a = call(&h, "GET", &list_path(), &[]).await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert_eq!(a.challenge.as_deref(), Some("Bearer"));
    let reader = audit::principal("auditor@contoso.com", &["Catalogue.Read"]);
    let a = with_principal(&h, &reader).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let nobody = audit::principal("guest@contoso.com", &[]);
    let a = with_principal(&h, &nobody).await;
    assert_eq!(a.status, 403, "{}", a.body);
    // A token is not validated in this mode: the platform would have turned it into the header.
    let token = key.sign(&issuer.claims(&["Catalogue.Read"]));
    assert_eq!(with_token(&h, &token).await.status, 401);
    assert_eq!(issuer.fetches(), (0, 0));
}
