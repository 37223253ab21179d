//! Reviews end to end on Azurite through the real `handler`: behind platform authentication a
//! reader is refused (403), a reviewer's review is stored under the principal's name, a forged
//! `reviewer` field is ignored, and the log lists it.

mod bursts;
mod duties;
pub(crate) mod graph;
mod people;
mod queue;

use reqwest::Method;
use serde_json::{Value, json};

use crate::audit_logs::support::start;
use crate::catalogue_sessions::{http, principal};
use crate::harness::HandlerProcess;

#[tokio::test]
async fn review_as_reader_is_refused_as_reviewer_is_stored_with_the_principal() {
    let Some(e) = start().await else { return };
    let id = e.catalogue("vm-r/reviewed.rec").await;
    let mut pairs = e.env.pairs();
    pairs.push(("CATALOGUE_AUTH", "platform"));
    let strict = HandlerProcess::spawn(&pairs).await;
    let body = json!({"recording": id, "verdict": "follow-up", "comment": "ask the owner",
        "ticket": "INC-1", "reviewer": "mallory@evil.example"});
    let reader = principal(&["Catalogue.Read"]);
    let reviewer = principal(&["Catalogue.Review"]);
    let as_of = |p: &str| [("x-ms-client-principal", p.to_owned())];
    let h = as_of(&reader);
    let hdr: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, text, _) = http(&strict, Method::POST, "/api/reviews", Some(&body), &hdr).await;
    assert_eq!(s, 403, "{text}");
    let (s, text, _) = http(&strict, Method::POST, "/api/reviews", Some(&body), &[]).await;
    assert_eq!(s, 401, "{text}");

    let h = as_of(&reviewer);
    let hdr: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, text, _) = http(&strict, Method::POST, "/api/reviews", Some(&body), &hdr).await;
    assert_eq!(s, 201, "{text}");
    let v: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(v["reviewer"], "auditor@contoso.com", "forged field ignored");
    let review_id = v["reviewId"].as_str().expect("id").to_owned();
    // A retry is the same review.
    let (s, again, _) = http(&strict, Method::POST, "/api/reviews", Some(&body), &hdr).await;
    assert_eq!(s, 200, "{again}");
    assert_eq!(
        serde_json::from_str::<Value>(&again).expect("json")["reviewId"],
        review_id
    );

    // Stored once in the log, under the principal.
    let day = &v["reviewedAt"].as_str().expect("time")[..10];
    let rows = e
        .tables
        .query(
            "reviews",
            Some(&bastion_recordings::tables::Filter::partition(day)),
            None,
            None,
        )
        .await
        .expect("log");
    let mine: Vec<_> = rows
        .items
        .iter()
        .filter(|r| r.entity["ReviewId"] == json!(review_id))
        .collect();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].entity["Reviewer"], "auditor@contoso.com");

    // The log through the API, as a reader.
    let h = as_of(&reader);
    let hdr: Vec<(&str, &str)> = h.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let next = time::Date::parse(day, &time::format_description::well_known::Iso8601::DATE)
        .expect("day")
        .next_day()
        .expect("next");
    let path = format!("/api/reviews?from={day}&to={next}&reviewer=auditor@contoso.com");
    let (s, text, _) = http(&strict, Method::GET, &path, None, &hdr).await;
    assert_eq!(s, 200, "{text}");
    let list: Value = serde_json::from_str(&text).expect("json");
    let ids: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["reviewId"].as_str())
        .collect();
    assert!(ids.contains(&review_id.as_str()), "{list}");
}
