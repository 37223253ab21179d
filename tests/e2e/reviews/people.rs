//! People compared by object id, end to end on Azurite through the real `handler` (platform
//! authentication, `GRAPH_ENDPOINT` on a loopback Graph fake, [`super::graph`]): the join names
//! Alice's and Bob's sessions, `ReviewQueue` resolves each `UserEmail` once (through a 429 and its
//! `Retry-After`) and binds it to the session: Alice's to her object id, Bob's as `not-found`.
//! Alice, renamed since her session (another UPN, the same `oid`), is refused her own session's
//! review; Carol's review of it is `verified`, of Bob's `unverified-identity`; the evidence pack
//! counts both as reviewed and only the first as independent. And the Graph client alone: a 429
//! waited out, a 404 as no one, a 403 naming the permission, a guest's UPN encoded.

use reqwest::Method;
use serde_json::{Value, json};

use super::graph::FakeGraph;
use crate::audit_logs::support::{ALICE, Env};
use crate::catalogue_sessions::http;
use crate::harness::{
    self, AzuriteEnv, HandlerProcess, fixture, fixture_on_sample_day, sample_date,
};

const BOB: &str = "a1b2c3d4-0000-4000-8000-000000000002";
const ALICE_OID: &str = "6f1d2c3b-0000-4000-8000-0000000000a1";
const CAROL_OID: &str = "6f1d2c3b-0000-4000-8000-0000000000c3";

/// An App Service principal with the review role, a UPN and an object id.
fn principal(upn: &str, oid: &str) -> String {
    use base64::Engine as _;
    let claims = json!({"claims": [{"typ": "roles", "val": "Catalogue.Review"},
        {"typ": "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn", "val": upn},
        {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": oid}]});
    base64::engine::general_purpose::STANDARD.encode(claims.to_string())
}

/// `POST /api/reviews` of session `tunnel` as `who`.
async fn review(h: &HandlerProcess, who: &str, tunnel: &str) -> (u16, Value) {
    let body = json!({"session": tunnel, "verdict": "ok"});
    let hdr = [("x-ms-client-principal", who)];
    let (s, text, _) = http(h, Method::POST, "/api/reviews", Some(&body), &hdr).await;
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_renamed_user_is_still_the_sessions_user_by_object_id() {
    let Some(cs) = harness::azurite() else { return };
    let graph = FakeGraph::start(&[("Alice@Contoso.com", ALICE_OID)], 1, &[]).await;
    let mut env = AzuriteEnv::new(&cs);
    for (k, v) in [
        ("GRAPH_ENDPOINT", graph.base.as_str()),
        ("CATALOGUE_AUTH_ALLOW_INSECURE_LOOPBACK", "true"),
        ("EVIDENCE_SIGNING_KEY", crate::evidence::KEY),
    ] {
        env.vars.insert(k.into(), v.into());
    }
    let handler = HandlerProcess::spawn(&env.pairs()).await;
    let e = Env::with(&cs, env, handler);
    let mut pairs = e.env.pairs();
    pairs.push(("CATALOGUE_AUTH", "platform"));
    let api = HandlerProcess::spawn(&pairs).await;

    // The audit records of Alice's session and Bob's failed login; the queue's run.
    e.create(9).await;
    e.append(9, &fixture_on_sample_day("auditlogs/PT1H.sample.jsonl"))
        .await;
    e.tick().await;
    let mut timer = fixture("invocations/timer.invocation.json");
    timer["Metadata"]["sys"]["MethodName"] = json!("ReviewQueue");
    timer["Metadata"]["sys"]["UtcNow"] = json!(format!("{}T12:00:00.0000000Z", sample_date(0)));
    for _ in 0..2 {
        let (s, reply) = e.handler.invoke("ReviewQueue", &timer).await;
        assert_eq!(s, 200, "{reply} {}", e.handler.log_text());
        assert!(
            reply["Logs"][0]
                .as_str()
                .is_some_and(|l| l.contains("0 people not resolved")),
            "{reply}"
        );
    }
    let row = |t: &'static str| {
        let tables = e.tables.clone();
        async move {
            let row = tables.get("sessions", t, "session").await.expect("get");
            row.expect("session row").entity
        }
    };
    let alice = row(ALICE).await;
    assert_eq!(
        (&alice["UserObjectId"], &alice["UserIdentity"]),
        (&json!(ALICE_OID), &json!("resolved")),
        "{alice:?}"
    );
    assert_eq!(row(BOB).await["UserIdentity"], "not-found");
    // Resolved once each (Alice's first read throttled, then retried), never per run.
    assert_eq!(graph.hits("alice@contoso.com"), 2);
    assert_eq!(graph.hits("bob@contoso.com"), 1);
    assert!(
        graph
            .queries()
            .iter()
            .all(|q| q == "$select=id,userPrincipalName"),
        "{:?}",
        graph.queries()
    );

    // Alice, renamed since: her object id is still the session's user.
    let renamed = principal("alice.renamed@contoso.com", ALICE_OID);
    let (s, v) = review(&api, &renamed, ALICE).await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("object id")),
        "{v}"
    );
    let carol = principal("carol@contoso.com", CAROL_OID);
    let (s, v) = review(&api, &carol, ALICE).await;
    assert_eq!(
        (s, v["identityCheck"].as_str()),
        (201, Some("verified")),
        "{v}"
    );
    // Bob is no one Graph knows: his session's review cannot be shown independent.
    let (s, v) = review(&api, &carol, BOB).await;
    assert_eq!(
        (s, v["identityCheck"].as_str()),
        (201, Some("unverified-identity")),
        "{v}"
    );

    // The pack: both reviewed, one independently.
    let dir = crate::evidence::temp("evidence-people");
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let d = dir.to_str().expect("utf-8");
    let args = [
        "evidence",
        "--from",
        "2025-01-01",
        "--to",
        &today,
        "--no-pdf",
        "--out",
        d,
    ];
    let (code, _, err) = crate::evidence::cli(&e, &args);
    assert_eq!(code, Some(0), "{err}");
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("manifest.json")).expect("manifest"),
    )
    .expect("json");
    let t = &manifest["figures"]["total"];
    assert_eq!(
        (t["reviewed"].as_u64(), t["reviewedIndependently"].as_u64()),
        (Some(2), Some(1)),
        "{t}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The Graph client alone against the fake: a 429 waited out (`Retry-After`), a 404 as no one, a
/// 403 naming the permission to grant, a guest's `#EXT#` UPN as one encoded segment.
#[tokio::test]
async fn the_graph_client_waits_out_429_reads_404_as_no_one_and_names_the_permission_on_403() {
    use bastion_recordings::azure::http::{Auth, Client};
    use bastion_recordings::azure::{AzureError, Policy, Timeouts};
    use bastion_recordings::graph::{Directory, GraphClient};
    let guest = "dave_fabrikam.com#EXT#@contoso.onmicrosoft.com";
    let graph = FakeGraph::start(
        &[(guest, "6f1d2c3b-0000-4000-8000-0000000000d4")],
        1,
        &["erin@contoso.com"],
    )
    .await;
    let base = url::Url::parse(&graph.base).expect("url");
    let http = Client::new(
        "Graph",
        Some(&base),
        Auth::None,
        Timeouts::CONTROL,
        Policy::CONTROL,
    );
    let client = GraphClient::new(http.expect("client"), &base);
    let found = client.object_id(guest).await.expect("read");
    assert_eq!(
        found.as_deref(),
        Some("6f1d2c3b-0000-4000-8000-0000000000d4")
    );
    assert_eq!(graph.hits(guest), 2, "throttled once, then answered");
    assert!(
        graph
            .requests()
            .iter()
            .all(|(_, p)| p == "/v1.0/users/dave_fabrikam.com%23EXT%23@contoso.onmicrosoft.com"),
        "{:?}",
        graph.requests()
    );
    assert_eq!(
        client.object_id("nobody@contoso.com").await.expect("404"),
        None
    );
    match client.object_id("erin@contoso.com").await {
        Err(AzureError::Forbidden { role }) => {
            assert!(role.contains("User.ReadBasic.All"), "{role}")
        }
        other => panic!("a 403 naming the permission, not {other:?}"),
    }
}
