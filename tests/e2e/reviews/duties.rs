//! Segregation of duties in reviews, end to end on Azurite through the real `handler` behind
//! platform authentication: a guest whose audit record names them by their `#EXT#` UPN is refused
//! on their own recording (and the other way round: the `#EXT#` UPN in the token, the address in
//! the row); a review by someone else by name, without the session user's object id, and one of a
//! recording no join named yet are accepted as `unverified-identity` in the answer and the log
//! (JSON and CSV); and a recording its own user signed off before the join named its
//! session is found by `ReviewQueue` once the join ran: marked `self-review`, recorded as refused,
//! no longer the recording's review, and its session's queue entry not reviewed.

use bastion_recordings::tables::WriteMode;
use reqwest::Method;
use serde_json::{Value, json};

use crate::audit_logs::support::{ALICE, Env, start};
use crate::catalogue_sessions::http;
use crate::harness::{HandlerProcess, fixture, fixture_on_sample_day, sample_date};

/// An App Service principal with `roles` and the `claims` given (`[typ, val]`).
fn principal(roles: &[&str], claims: &[(&str, &str)]) -> String {
    use base64::Engine as _;
    let roles = roles.iter().map(|r| json!({"typ": "roles", "val": r}));
    let named = claims.iter().map(|(t, v)| json!({"typ": t, "val": v}));
    let all: Vec<Value> = roles.chain(named).collect();
    base64::engine::general_purpose::STANDARD.encode(json!({ "claims": all }).to_string())
}

/// `POST /api/reviews` of `recording` as `who`.
async fn review(h: &HandlerProcess, who: &str, recording: &str) -> (u16, Value) {
    let body = json!({"recording": recording, "verdict": "ok"});
    let hdr = [("x-ms-client-principal", who)];
    let (s, text, _) = http(h, Method::POST, "/api/reviews", Some(&body), &hdr).await;
    (s, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `GET` of `path` as a reader.
async fn read(h: &HandlerProcess, path: &str) -> (u16, String) {
    let reader = principal(
        &["Catalogue.Read"],
        &[("preferred_username", "reader@contoso.com")],
    );
    let hdr = [("x-ms-client-principal", reader.as_str())];
    let (s, text, _) = http(h, Method::GET, path, None, &hdr).await;
    (s, text)
}

/// Sets the catalogue row's portal user, as the join copies it from the audit record.
async fn user_of(e: &Env, id: &str, email: &str) {
    let (pk, rk) = id.split_once('~').expect("id");
    let mut row = e
        .tables
        .get("recordings", pk, rk)
        .await
        .expect("get")
        .expect("row");
    row.entity.insert("UserEmail".into(), json!(email));
    e.tables
        .write("recordings", &row.entity, WriteMode::IfMatch(row.etag))
        .await
        .expect("user");
}

async fn platform(e: &Env) -> HandlerProcess {
    let mut pairs = e.env.pairs();
    pairs.push(("CATALOGUE_AUTH", "platform"));
    HandlerProcess::spawn(&pairs).await
}

/// The review log of today (the API's clock is the real one), as a reader.
async fn log_of_today(h: &HandlerProcess, format: &str) -> String {
    let today = time::OffsetDateTime::now_utc().date();
    let next = today.next_day().expect("next");
    let (s, text) = read(h, &format!("/api/reviews?from={today}&to={next}{format}")).await;
    assert_eq!(s, 200, "{text}");
    text
}

#[tokio::test]
async fn a_guest_is_refused_in_either_form_and_an_undecidable_review_is_marked() {
    let Some(e) = start().await else { return };
    let api = platform(&e).await;
    let as_review = |claims: &[(&str, &str)]| principal(&["Catalogue.Review"], claims);

    // The audit record names the guest by the UPN the inviting tenant gave them.
    let own = e.catalogue("guest-own.rec").await;
    user_of(&e, &own, "alice_fabrikam.com#EXT#@contoso.onmicrosoft.com").await;
    let alice = as_review(&[("preferred_username", "alice@fabrikam.com")]);
    let (s, v) = review(&api, &alice, &own).await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["detail"].as_str().is_some_and(|d| d.contains("guest")),
        "{v}"
    );
    // The other way round: the token's UPN is the `#EXT#` form, the row the address.
    let other = e.catalogue("guest-other-way.rec").await;
    user_of(&e, &other, "Bob@Fabrikam.com").await;
    let upn = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn";
    let bob = as_review(&[(upn, "bob_fabrikam.com#EXT#@contoso.onmicrosoft.com")]);
    let (s, v) = review(&api, &bob, &other).await;
    assert_eq!(s, 403, "{v}");
    let refusals = e
        .tables
        .query("reviewrefusals", None, None, None)
        .await
        .expect("refusals");
    assert_eq!(refusals.items.len(), 2, "both recorded");

    // Someone else by name, but no object id for the session's user (no GRAPH_ENDPOINT): names
    // cannot show two people (a user renamed since is one), so not independent.
    let (s, v) = review(&api, &bob, &own).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["identityCheck"], "unverified-identity", "{v}");
    // A recording no join named yet has no user to compare: accepted, marked.
    let unjoined = e.catalogue("not-joined-yet.rec").await;
    let carol = as_review(&[("preferred_username", "carol@contoso.com")]);
    let (s, v) = review(&api, &carol, &unjoined).await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(v["identityCheck"], "unverified-identity", "{v}");
    let unverified = v["reviewId"].as_str().expect("id").to_owned();

    // The log says so, in JSON and in CSV.
    let list: Value = serde_json::from_str(&log_of_today(&api, "").await).expect("json");
    let item = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["reviewId"] == unverified.as_str())
        .cloned()
        .expect("listed");
    assert_eq!(item["identityCheck"], "unverified-identity", "{list}");
    let csv = log_of_today(&api, "&format=csv").await;
    let header = csv.lines().next().expect("header");
    // Columns added later go at the end: identityCheck, then the person.
    assert!(header.ends_with(",identityCheck,userEmail"), "{header}");
    let line = csv
        .lines()
        .find(|l| l.starts_with(&unverified))
        .expect("csv row");
    let last: Vec<&str> = line.rsplitn(3, ',').collect();
    assert_eq!(last.get(1), Some(&"unverified-identity"), "{line}");
    assert_eq!(last.first().copied(), item["userEmail"].as_str(), "{line}");
}

#[tokio::test]
async fn a_self_review_before_the_join_is_found_once_the_join_names_the_session() {
    let Some(e) = start().await else { return };
    let api = platform(&e).await;
    // Alice's recording, catalogued before any audit record of her session arrived.
    let id = e.catalogue(&format!("PLACEHOLDER-{ALICE}")).await;
    let alice = principal(
        &["Catalogue.Review"],
        &[("preferred_username", "alice@contoso.com")],
    );
    let (s, v) = review(&api, &alice, &id).await;
    assert_eq!(s, 201, "no user to compare yet: {v}");
    assert_eq!(v["identityCheck"], "unverified-identity", "{v}");
    let review_id = v["reviewId"].as_str().expect("id").to_owned();
    let (_, text) = read(&api, &format!("/api/recordings/{id}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(detail["review"]["reviewId"], review_id.as_str(), "{detail}");

    // Her session's audit records arrive; the join names the session (her as its user).
    e.create(9).await;
    e.append(9, &fixture_on_sample_day("auditlogs/PT1H.sample.jsonl"))
        .await;
    e.tick().await;
    let (pk, rk) = id.split_once('~').expect("id");
    let row = e
        .tables
        .get("recordings", pk, rk)
        .await
        .expect("get")
        .expect("row");
    assert_eq!(row.entity["TunnelId"], ALICE, "joined: {:?}", row.entity);

    // The queue's run checks the review again.
    let mut timer = fixture("invocations/timer.invocation.json");
    timer["Metadata"]["sys"]["MethodName"] = json!("ReviewQueue");
    timer["Metadata"]["sys"]["UtcNow"] = json!(format!("{}T12:00:00.0000000Z", sample_date(0)));
    let (s, reply) = e.handler.invoke("ReviewQueue", &timer).await;
    assert_eq!(s, 200, "{reply} {}", e.handler.log_text());
    assert!(
        reply["Logs"][0]
            .as_str()
            .is_some_and(|l| l.contains("1 self-reviews found after the join")),
        "{reply}"
    );

    // Kept in the log, marked; no longer the recording's review; refused on the record.
    let list: Value = serde_json::from_str(&log_of_today(&api, "").await).expect("json");
    let item = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["reviewId"] == review_id.as_str())
        .cloned()
        .expect("kept in the log");
    assert_eq!(item["identityCheck"], "self-review", "{list}");
    let (_, text) = read(&api, &format!("/api/recordings/{id}")).await;
    let detail: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(detail["review"], Value::Null, "not counted: {detail}");
    let refusals = e
        .tables
        .query("reviewrefusals", None, None, None)
        .await
        .expect("refusals")
        .items;
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    let r = &refusals[0].entity;
    assert_eq!(r["AttemptId"], review_id.as_str());
    assert_eq!(r["Reviewer"], "alice@contoso.com");
    assert_eq!(r["TunnelId"], ALICE);
    assert!(
        r["Reason"]
            .as_str()
            .is_some_and(|w| w.contains("after the join")),
        "{r:?}"
    );
    // Her session is not counted as reviewed: its queue entry says why (it is ranked when a
    // reason calls for a review: this one has none).
    let entry = e
        .tables
        .get("reviewqueue", "queue", &format!("s~{ALICE}"))
        .await
        .expect("get")
        .expect("entry");
    assert_eq!(entry.entity["Reviewed"], false, "{:?}", entry.entity);
    assert_eq!(entry.entity["ReviewIdentity"], "self-review");
    let day = e
        .tables
        .get("sessionwindows", &sample_date(0), ALICE)
        .await
        .expect("get")
        .expect("day row");
    assert!(day.entity.get("ReviewId").is_none(), "{:?}", day.entity);
    // Checked once: the watch is gone, a second run finds nothing more.
    let (_, again) = e.handler.invoke("ReviewQueue", &timer).await;
    assert!(
        again["Logs"][0]
            .as_str()
            .is_some_and(|l| l.contains("0 self-reviews")),
        "{again}"
    );
}
