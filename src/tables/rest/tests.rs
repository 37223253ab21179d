//! The REST client against a scripted local HTTP server: retries, `Retry-After`, error mapping,
//! redaction. (Behaviour against the real protocol is covered by the Azurite contract suite.)

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::TableRestClient;
use crate::azure::AzureError;
use crate::tables::TableStore;
use crate::testkit::{closed_service, loopback_connection, scripted_service as server};

fn ok_entity() -> String {
    let body = r#"{"odata.metadata":"x","PartitionKey":"p","RowKey":"r","Timestamp":"t","N":1}"#;
    let head = "HTTP/1.1 200 OK\r\nETag: W/\"datetime'1'\"\r\nContent-Type: application/json";
    format!(
        "{head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn status(code: u16, extra: &str) -> String {
    format!(
        "HTTP/1.1 {code} X\r\n{extra}x-ms-error-code: Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
}

fn client(table: &str) -> TableRestClient {
    client_with(table, Default::default())
}

fn client_with(table: &str, timeouts: crate::azure::Timeouts) -> TableRestClient {
    TableRestClient::new(&loopback_connection(table, timeouts), "pre").expect("client")
}

#[tokio::test]
async fn transient_statuses_are_retried_then_succeed() {
    let (url, hits) = server(vec![status(503, ""), status(500, ""), ok_entity()]).await;
    let got = client(&url)
        .get("tbl", "p", "r")
        .await
        .expect("third attempt succeeds")
        .expect("entity");
    assert_eq!(hits.lock().expect("log").len(), 3);
    assert_eq!(got.etag, "W/\"datetime'1'\"");
    let keys: Vec<&str> = got.entity.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["N", "PartitionKey", "RowKey"],
        "annotations and Timestamp removed"
    );
}

#[tokio::test]
async fn retries_are_bounded_and_end_transient() {
    let (url, hits) = server(vec![status(503, ""); 5]).await;
    let start = Instant::now();
    let r = client(&url).get("tbl", "p", "r").await;
    assert!(
        matches!(&r, Err(AzureError::Transient(m)) if m.contains("503") && m.contains("Busy")),
        "{r:?}"
    );
    assert_eq!(hits.lock().expect("log").len(), 3);
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (url, hits) = server(vec![status(429, "Retry-After: 1\r\n"), ok_entity()]).await;
    let start = Instant::now();
    client(&url)
        .get("tbl", "p", "r")
        .await
        .expect("ok")
        .expect("entity");
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(hits.lock().expect("log").len(), 2);
}

#[tokio::test]
async fn final_statuses_are_not_retried() {
    let (url, hits) = server(vec![status(412, ""), status(403, "")]).await;
    let c = client(&url);
    let r = c.delete("tbl", "p", "r", Some("W/\"x\"")).await;
    assert!(matches!(r, Err(AzureError::PreconditionFailed)), "{r:?}");
    let r = c.delete("tbl", "p", "r", None).await;
    assert!(
        matches!(&r, Err(AzureError::Forbidden { role }) if role.contains("entities/delete")),
        "{r:?}"
    );
    assert_eq!(hits.lock().expect("log").len(), 2);
}

#[tokio::test]
async fn unreachable_service_is_transient_and_never_shows_the_sas() {
    let r = client(&closed_service()).get("tbl", "p", "r").await;
    let (e, text) = crate::testkit::failure_without_sas(r);
    assert!(e.is_retryable(), "{e}");
    assert!(!text.contains("se="), "no SAS fields at all: {text}");
}

#[tokio::test]
async fn a_frozen_service_fails_the_call_at_its_total_timeout_retryably() {
    let (url, accepted) = crate::testkit::frozen_service().await;
    let d = crate::testkit::short_timeouts();
    let start = Instant::now();
    let r = client_with(&url, d).query("tbl", None, None, None).await;
    let took = start.elapsed();
    assert!(matches!(&r, Err(e) if e.is_retryable()), "{r:?}");
    assert!(took < d.total + Duration::from_millis(500), "{took:?}");
    assert!(accepted.load(Ordering::SeqCst) >= 2, "tries were retried");
}

/// A 403 names what the call needs: a transaction that removes a row needs Delete Entity's
/// permission besides the one that authorizes every write, and a delete written as a write mode
/// needs Delete Entity's.
#[tokio::test]
async fn a_403_on_a_transaction_that_deletes_names_both_permissions() {
    use crate::tables::{Entity, WriteMode};
    let (url, hits) = server(vec![status(403, ""); 3]).await;
    let c = client(&url);
    let row = |rk: &str| {
        let mut e = Entity::new();
        e.insert("PartitionKey".into(), "p".into());
        e.insert("RowKey".into(), rk.into());
        e
    };
    let role = |r: Result<_, AzureError>| match r {
        Err(AzureError::Forbidden { role }) => role,
        other => panic!("{other:?}"),
    };
    let moving = [
        (row("new"), WriteMode::Upsert),
        (row("old"), WriteMode::Delete("*".into())),
    ];
    let both = role(c.batch("tbl", &moving).await.map(drop));
    assert!(
        both.contains("entities/write") && both.contains("entities/delete"),
        "{both}"
    );
    let writes = [(row("a"), WriteMode::Upsert), (row("b"), WriteMode::Upsert)];
    let one = role(c.batch("tbl", &writes).await.map(drop));
    assert!(
        one.contains("entities/write") && !one.contains("delete"),
        "{one}"
    );
    let gone = WriteMode::Delete("*".into());
    let delete = role(c.write("tbl", &row("old"), gone).await.map(drop));
    assert!(delete.contains("entities/delete"), "{delete}");
    assert_eq!(hits.lock().expect("log").len(), 3);
}
