//! The proxy itself, against a local axum upstream (no Azurite): keep-alive framing (lengths,
//! chunked bodies both ways, `HEAD`), and each fault doing exactly what it says.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::routing::{get, post};

use super::proxy::{Fault, Proxy, Rule, Service};

/// An upstream counting the requests it answered; returns the proxy in front of it.
async fn upstream() -> (Proxy, Arc<AtomicUsize>) {
    let hits = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route(
            "/acct/echo",
            post(
                |State(h): State<Arc<AtomicUsize>>, body: Bytes| async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    format!("got {} bytes", body.len())
                },
            ),
        )
        .route(
            "/acct/stream",
            get(|State(h): State<Arc<AtomicUsize>>| async move {
                h.fetch_add(1, Ordering::SeqCst);
                let parts = ["chunk one, ", "chunk two, ", "the end"];
                let stream = futures::stream::iter(
                    parts.map(|p| Ok::<_, std::io::Error>(Bytes::from_static(p.as_bytes()))),
                );
                Body::from_stream(stream)
            }),
        )
        .with_state(hits.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") });
    let cs = format!(
        "AccountName=acct;BlobEndpoint=http://{addr}/acct;TableEndpoint=http://{addr}/acct"
    );
    (Proxy::start(&cs).await, hits)
}

fn endpoint(proxy: &Proxy, key: &str) -> String {
    proxy
        .connection
        .split(';')
        .find_map(|p| p.strip_prefix(key))
        .expect("endpoint")
        .to_owned()
}

#[tokio::test]
async fn keep_alive_requests_are_counted_one_by_one() {
    let (proxy, hits) = upstream().await;
    let blob = endpoint(&proxy, "BlobEndpoint=");
    let client = reqwest::Client::new();
    // A fixed-length body, a chunked request body, a chunked answer and a HEAD, on one connection.
    let r = client
        .post(format!("{blob}/echo"))
        .body("hello")
        .send()
        .await
        .expect("post");
    assert_eq!(r.text().await.expect("body"), "got 5 bytes");
    let chunked = futures::stream::iter(vec![
        Ok::<_, std::io::Error>(b"abc".to_vec()),
        Ok(b"defg".to_vec()),
    ]);
    let r = client
        .post(format!("{blob}/echo?sig=secret"))
        .body(reqwest::Body::wrap_stream(chunked))
        .send()
        .await
        .expect("chunked post");
    assert_eq!(r.text().await.expect("body"), "got 7 bytes");
    let r = client
        .get(format!("{blob}/stream"))
        .send()
        .await
        .expect("get");
    assert_eq!(
        r.text().await.expect("body"),
        "chunk one, chunk two, the end"
    );
    let r = client
        .head(format!("{blob}/stream"))
        .send()
        .await
        .expect("head");
    assert_eq!(r.status(), 200);
    let r = client
        .post(format!("{blob}/echo"))
        .body("after the head")
        .send()
        .await
        .expect("post after head");
    assert_eq!(r.text().await.expect("body"), "got 14 bytes");
    assert_eq!(hits.load(Ordering::SeqCst), 5);
    assert_eq!(
        proxy.connections(),
        1,
        "all five on one kept-alive connection"
    );
    let seen = proxy.seen();
    assert_eq!(seen.len(), 5);
    assert_eq!(
        seen[1].path, "/acct/echo",
        "the query is not part of the path"
    );
    assert!(
        seen.iter()
            .all(|s| s.service == Service::Blob && s.fault.is_none())
    );
    assert!(seen.iter().all(|s| s.status == Some(200)));
}

#[tokio::test]
async fn each_fault_hits_only_the_matches_it_names() {
    let (proxy, hits) = upstream().await;
    let blob = endpoint(&proxy, "BlobEndpoint=");
    let table = endpoint(&proxy, "TableEndpoint=");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()
        .expect("client");
    let post = |base: &str| client.post(format!("{base}/echo")).body("x").send();

    // The second POST on the blob listener is forwarded, answered upstream, and its answer dropped.
    proxy.add(
        Rule::new(Fault::DropAnswer)
            .service(Service::Blob)
            .method("POST")
            .path("/echo")
            .nth(2),
    );
    post(&table).await.expect("another service is not matched");
    post(&blob).await.expect("first match passes");
    assert!(post(&blob).await.is_err(), "second match loses its answer");
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "the dropped one reached upstream"
    );
    post(&blob).await.expect("the rule hit once");
    proxy.clear();

    proxy.add(Rule::new(Fault::Status(503, 2)).path("/echo").times(2));
    for _ in 0..2 {
        let r = post(&blob).await.expect("answered");
        assert_eq!(r.status(), 503);
        assert_eq!(r.headers()["retry-after"], "2");
    }
    assert_eq!(post(&blob).await.expect("passes").status(), 200);
    assert_eq!(
        hits.load(Ordering::SeqCst),
        5,
        "throttled ones never forwarded"
    );
    proxy.clear();

    proxy.add(Rule::new(Fault::Reset).method("POST"));
    let reset = post(&blob).await.expect_err("reset");
    assert!(!reset.is_timeout(), "{reset:?}");
    proxy.add(Rule::new(Fault::Freeze).method("POST"));
    // The reset rule is spent; the freeze rule counts from its own first match.
    let frozen = post(&blob).await.expect_err("frozen");
    assert!(frozen.is_timeout(), "{frozen:?}");
    assert_eq!(hits.load(Ordering::SeqCst), 5, "neither was forwarded");
    assert_eq!(
        (
            proxy.fired(Fault::DropAnswer),
            proxy.fired(Fault::Status(503, 2)),
            proxy.fired(Fault::Reset),
            proxy.fired(Fault::Freeze)
        ),
        (1, 2, 1, 1)
    );
}
